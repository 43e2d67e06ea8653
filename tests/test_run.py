"""allocfail run: environment, exit status, errors."""
import shutil
import tempfile
from aftest import *

sh = need("sh")


@case
def exit_status():
    r = tool("run", "--", sh, "-c", "exit 7")
    eq(r.returncode, 7, "the command's exit status is returned")
    r = tool("run", "--", sh, "-c", "kill -TERM $$")
    eq(r.returncode, 128 + 15, "128 + signal when the command is killed")


@case
def ld_preload():
    r = tool("run", "--", sh, "-c", 'echo "$LD_PRELOAD"')
    eq(r.stdout.decode().strip(), os.path.realpath(SHIM), "LD_PRELOAD names the shim")
    r = tool("run", "--", sh, "-c", 'echo "$LD_PRELOAD"', LD_PRELOAD="/lib/x86_64-linux-gnu/libm.so.6")
    eq(r.stdout.decode().strip(), os.path.realpath(SHIM) + ":/lib/x86_64-linux-gnu/libm.so.6",
       "an existing LD_PRELOAD is kept, after the shim")


@case
def rules_reach_the_shim():
    r = tool("run", "--rule", "fail fn=pvalloc nth=1", "--set", "limit=1G", "--", sh, "-c",
             'printf "%s" "$ALLOCFAIL_RULE"')
    eq(r.stdout.decode(), "fail fn=pvalloc nth=1\nset limit=1G\n", "--rule and --set reach the shim in order")


@case
def missing_command():
    r = tool("run", "--", "/nonexistent/cmd")
    eq(r.returncode, 127, "a missing command: 127")
    check(b"cannot run '/nonexistent/cmd'" in r.stderr, "and a message", r.stderr)


@case
def bad_rule():
    r = tool("run", "--rule", "fial nth=1", "--", sh, "-c", "echo ran")
    eq(r.returncode, 2, "a bad rule: status 2")
    eq(r.stdout, b"", "and the command does not run")
    eq(stderr_lines(r), ["allocfail: --rule:1:1: unknown action 'fial' (did you mean 'fail'?)"],
       "one line naming the error")


# --timeout: the command's whole process group is killed, status 124
@case
def timeout_kills_the_group():
    with tempfile.TemporaryDirectory() as d:
        pidfile = os.path.join(d, "bg")
        r = tool("run", "--timeout", "0.5", "--", sh, "-c",
                 f'sleep 60 >/dev/null 2>&1 & echo $! > {pidfile}; wait')
        eq((r.returncode, stderr_lines(r)),
           (124, ["allocfail: run: no exit after 0.5 s; the process group was killed"]),
           "--timeout: 124 and one line")
        bg = int(open(pidfile).read())

        def alive():
            try:
                os.kill(bg, 0)
                return open(f"/proc/{bg}/stat").read().split()[2] != "Z"
            except (ProcessLookupError, FileNotFoundError):
                return False
        # SIGKILL is sent to the group before run returns, but its delivery
        # and the exit are the kernel's to finish: on a loaded machine the
        # sleep was seen alive a moment later. Killed means gone within 5 s
        # (it would otherwise sleep 60).
        import time
        deadline = time.monotonic() + 5
        while alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        eq(alive(), False, "--timeout: what the command started in the background is killed too")


@case
def timeout_keeps_the_status():
    r = tool("run", "--timeout", "30", "--", sh, "-c", "exit 3")
    eq((r.returncode, r.stderr), (3, b""), "--timeout: a command that ends in time keeps its status")
    r = tool("run", "--timeout", "30", "--", sh, "-c", "kill -TERM $$")
    eq(r.returncode, 128 + 15, "--timeout: 128 + signal when the command is killed")


@case
def timeout_zero_refused():
    r = tool("run", "--timeout", "0", "--", sh)
    eq((r.returncode, stderr_lines(r)),
       (2, ["allocfail: run: --timeout '0': expected a duration in seconds (e.g. 10, 2.5, 500ms)"]),
       "--timeout 0: status 2, one line")


# set-user-ID and set-group-ID programs run in secure-execution mode, where
# the loader ignores LD_PRELOAD: refused with a reason, not run without
# the rules (as root: chown to another user needs it)
@case
def set_id_programs_refused():
    if os.geteuid() != 0:
        skip("only root can chown a program to another user")
    with tempfile.TemporaryDirectory() as d:
        nosuid = bool(os.statvfs(d).f_flag & os.ST_NOSUID)
        exe = os.path.join(d, "census")
        shutil.copy(prog("census"), exe)
        for mode, owner, what in [(0o4755, (65534, -1), "set-user-ID"),
                                  (0o2755, (-1, 65534), "set-group-ID")]:
            os.chown(exe, *owner)
            os.chmod(exe, mode)
            for sub in (["run"], ["sites"], ["explore", "-q"]):
                r = tool(*sub, "--", exe)
                pre = "explore: " if sub[0] == "explore" else ""
                if nosuid:  # the bits mean nothing there
                    check(r.returncode != 2, f"{what} on a nosuid file system: {sub[0]} runs it",
                          r.stderr)
                else:
                    eq((r.returncode, stderr_lines(r)),
                       (2, [f"allocfail: {pre}'{exe}' is {what}: the dynamic loader ignores "
                            "LD_PRELOAD for it (secure-execution mode)"]),
                       f"a {what} program: {sub[0]} refuses it, saying why")
            os.chown(exe, 0, 0)
        os.chmod(exe, 0o4755)  # our own set-user-ID file changes nothing
        r = tool("run", "--rule", "fail nth=1", "--", exe)
        check(r.returncode == 0 and b"injected #1: malloc(24)" in r.stderr,
              "set-user-ID, owned by the user running it: runs under the shim", r.stderr)


@case
def bad_usage():
    r = tool("run", "--bogus", "--", sh)
    eq(r.returncode, 2, "an unknown option: status 2")
    r = tool("run")
    eq(r.returncode, 2, "no command: status 2")
    r = tool("rnu")
    eq(stderr_lines(r), ["allocfail: unknown command 'rnu' (did you mean 'run'?)"], "a misspelt command")


@case
def version_and_help():
    r = tool("--version")
    check(r.returncode == 0 and r.stdout.startswith(b"allocfail "), "--version")
    for sub in ("run", "check"):
        r = tool(sub, "--help")
        check(r.returncode == 0 and b"usage: allocfail " + sub.encode() in r.stdout, f"{sub} --help")


@case
def static_binary_refused():
    static = prog("static-hello")
    if not os.path.exists(static):
        skip("no static-hello was built")
    r = tool("run", "--", static)
    eq(r.returncode, 2, "a static binary is refused")
    check(b"statically linked" in r.stderr, "with a message saying why", r.stderr)


main()
