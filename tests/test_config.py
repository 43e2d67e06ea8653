"""Bad configuration: one line naming what is wrong, exit 125 before main."""
from aftest import *

bad_env = [
    ({"ALLOCFAIL_BACKEND": "glibc"}, "ALLOCFAIL_BACKEND='glibc': expected jemalloc or next"),
    ({"ALLOCFAIL_RULE": "fail calller=x"},
     "ALLOCFAIL_RULE:1:6: unknown key 'calller' (did you mean 'caller'?)"),
    ({"ALLOCFAIL_RULE": "set limit=lots"}, "ALLOCFAIL_RULE:1:11: invalid limit 'lots'"),
    ({"ALLOCFAIL_RULES": "/nonexistent/rules"},
     "ALLOCFAIL_RULES: cannot read rules file '/nonexistent/rules': No such file or directory"),
    ({"ALLOCFAIL_RULES": ""}, "ALLOCFAIL_RULES is empty"),
    ({"ALLOCFAIL_SEED": "x"}, "ALLOCFAIL_SEED='x': expected an unsigned 64-bit integer"),
    ({"ALLOCFAIL_SUMMARY": "yes"}, "ALLOCFAIL_SUMMARY='yes': expected 1 or 0"),
    ({"ALLOCFAIL_LOG_NAMES": "no"}, "ALLOCFAIL_LOG_NAMES='no': expected 1 or 0"),
    ({"ALLOCFAIL_RULZ": "x"}, "unknown environment variable ALLOCFAIL_RULZ (did you mean ALLOCFAIL_RULE?)"),
    ({"ALLOCFAIL_LOG": "/nonexistent/dir/log"}, "ALLOCFAIL_LOG: cannot open log '/nonexistent/dir/log'"),
    ({"ALLOCFAIL_RULE": " ; "}, "ALLOCFAIL_RULE is empty: expected rules"),
    ({"ALLOCFAIL_RULE": "set log=/nonexistent/dir/log"}, "set log=: cannot open log"),
]


# the shim: each bad setting of the environment, one line and 125
@case
def shim_refuses_before_main():
    for env, msg in bad_env:
        r = run([prog("family")], preload=True, **env)
        eq(r.returncode, 125, f"{env}: exit status 125")
        eq(r.stdout, b"", f"{env}: main never ran")
        lines = stderr_lines(r)
        eq(len(lines), 1, f"{env}: exactly one line")
        check(lines and lines[0].startswith("allocfail: " + msg), f"{env}: the line says what is wrong", lines)


# allocfail run: bad --rule/--set values, before anything runs
@case
def run_refuses_before_running():
    for args, msg in [
        (["--rule", ""], "--rule '': expected a rule, such as 'fail caller=parse nth=1'"),
        (["--set", "limit=1M; fail nth=1"],
         "--set 'limit=1M; fail nth=1': expected KEY=VALUE ... (settings only)"),
        (["--set", "limt=1M"], "--set:1:1: unknown setting 'limt' (did you mean 'limit'?)"),
        (["--rules", "/nonexistent/rules"], "--rules: cannot read rules file '/nonexistent/rules'"),
    ]:
        r = tool("run", *args, "--", prog("family"))
        eq((r.returncode, r.stdout), (2, b""), f"run {args}: status 2, nothing ran")
        lines = stderr_lines(r)
        check(len(lines) == 1 and lines[0].startswith("allocfail: " + msg), f"run {args}: one line saying what",
              lines)


main()
