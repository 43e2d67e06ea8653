"""Paths and files: where the log goes, rule files that are pipes, FIFOs or
/proc files, report on a directory, a log on a full disk, and the limits
that check and the shim share (1,024 rules, 15-byte thread names)."""
import re
import shlex
import tempfile
import threading
import time
from aftest import *

crashy = prog("crashy")
RULE = "fail caller=parse_record\n"


# run --log with a relative path: a child that changes directory still
# writes into the one log, where report finds its events
@case
def relative_log():
    with tempfile.TemporaryDirectory() as d:
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        r = tool("run", "--log", "rel.log", "--rule", RULE.strip(), "--",
                 "sh", "-c", f"cd sub && exec {shlex.quote(crashy)} deref", cwd=d)
        eq(r.returncode, 139, "run --log rel.log: the child dies of SIGSEGV")
        check(os.path.exists(os.path.join(d, "rel.log")), "the log is where run was started")
        check(not os.path.exists(os.path.join(sub, "rel.log")), "and not where the child went")
        if os.path.exists(os.path.join(d, "rel.log")):
            eq([e["ev"] for e in json_lines(os.path.join(d, "rel.log"))], ["inject", "crash"],
               "it holds the child's injection and crash")


# --rules <(...): the command reads the pipe once; the program gets the
# rules (a private copy, gone when run exits)
@case
def piped_rules():
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env(TMPDIR=tmp)
        script = f"{shlex.quote(TOOL)} run --rules <(printf {shlex.quote(RULE)}) -- {shlex.quote(crashy)} deref"
        r = run(["bash", "-c", script], env=env)
        eq(r.returncode, 139, "run --rules <(...): the rule is applied")
        check("injected #1: malloc(44) fails at crashy+" in r.stderr.decode(), "the injection is reported",
              r.stderr)
        eq(os.listdir(tmp), [], "the private copy is removed when run exits")


# a ';' in a comment of the file stays in the comment (as in a file)
@case
def piped_comment():
    with tempfile.TemporaryDirectory() as tmp:
        script = (f"{shlex.quote(TOOL)} run --rules <(printf 'fail caller=nothing_here # a; fail nth=1\\n') "
                  f"-- {shlex.quote(crashy)} deref")
        r = run(["bash", "-c", script], env=clean_env(TMPDIR=tmp))
        eq((r.returncode, r.stdout), (0, b"first record 1\n"), "a ';' in a piped file's comment is a comment")


# errors name the file as given
@case
def piped_errors():
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["bash", "-c", f"{shlex.quote(TOOL)} run --rules <(echo 'fail calller=x') -- true"],
                env=clean_env(TMPDIR=tmp))
        eq(r.returncode, 2, "a bad piped rule file: status 2")
        lines = stderr_lines(r)
        check(len(lines) == 1 and re.match(r"allocfail: /dev/fd/\d+:1:6: unknown key 'calller' \(did you mean "
                                           r"'caller'\?\)$", lines[0]), "its error names /dev/fd/N:line:col", lines)


# check reads a piped rule file too
@case
def check_reads_pipe():
    r = run(["bash", "-c", f"{shlex.quote(TOOL)} check <(printf {shlex.quote(RULE)})"])
    eq(r.returncode, 0, "check <(...): status 0")
    check(r.stdout.decode().startswith("fail caller=parse_record "), "check <(...) reads the rule", r.stdout)


# a FIFO named in ALLOCFAIL_RULES: the shim reads it to its end
@case
def fifo_rules():
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)

        def feed():
            # without blocking for good should no reader come
            for _ in range(3000):
                try:
                    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    time.sleep(0.01)
                    continue
                os.write(fd, RULE.encode())
                os.close(fd)
                return
        t = threading.Thread(target=feed)
        t.start()
        r = run([crashy, "deref"], preload=True, ALLOCFAIL_RULES=fifo, timeout=30)
        t.join()
        eq(r.returncode, -11, "ALLOCFAIL_RULES=FIFO: the rule is applied")
        check("injected #1" in r.stderr.decode(), "and reported", r.stderr)


# a file that says it is empty and is not (/proc): read to its end, so it
# is refused for what it holds, never taken as "no rules"
@case
def proc_file_rules():
    want = "allocfail: /proc/version:1:1: unknown action 'Linux': a line starts with fail, nofail, noretry, set or include"
    r = tool("check", "/proc/version")
    eq((r.returncode, stderr_lines(r)), (2, [want]), "check /proc/version: read, and refused")
    r = run([crashy, "deref"], preload=True, ALLOCFAIL_RULES="/proc/version")
    eq((r.returncode, stderr_lines(r)), (125, [want]), "ALLOCFAIL_RULES=/proc/version: the same line, 125")
    r = tool("run", "--rules", "/proc/version", "--", crashy)
    eq((r.returncode, stderr_lines(r)), (2, [want]), "run --rules /proc/version: the same line, 2")


# report on a directory
@case
def report_on_directory():
    with tempfile.TemporaryDirectory() as d:
        r = tool("report", d)
        eq((r.returncode, r.stdout, stderr_lines(r)),
           (2, b"", [f"allocfail: report: cannot read '{d}': Is a directory"]), "report DIR: one line, status 2")


# a log that cannot be written (a full disk): said once on stderr
@case
def log_on_full_disk():
    r = run([crashy, "deref"], preload=True, ALLOCFAIL_LOG="/dev/full", ALLOCFAIL_RULE=RULE)
    eq(r.returncode, -11, "log on /dev/full: the program runs as ever")
    lost = [l for l in stderr_lines(r) if "cannot write" in l]
    eq(lost, ["allocfail: cannot write the log '/dev/full': No space left on device; its events are lost"],
       "one line says the log is lost (two events were not written)")


# 1,024 rules at most: one limit, one message, from check and the shim
@case
def rule_limit():
    with tempfile.TemporaryDirectory() as d:
        many = os.path.join(d, "many.rules")
        with open(many, "w") as f:
            f.write("fail caller=nothing_here\n" * 1024)
        r = tool("check", "-q", many)
        eq(r.returncode, 0, "1024 rules: check accepts them")
        r = run([crashy, "deref"], preload=True, ALLOCFAIL_RULES=many)
        eq(r.returncode, 0, "1024 rules: the shim accepts them")
        with open(many, "a") as f:
            f.write("fail caller=nothing_here\n")
        want = f"allocfail: {many}:1025:1: too many rules: at most 1024 are supported"
        r = tool("check", "-q", many)
        eq((r.returncode, stderr_lines(r)), (2, [want]), "1025 rules: check refuses them")
        r = run([crashy, "deref"], preload=True, ALLOCFAIL_RULES=many)
        eq((r.returncode, stderr_lines(r)), (125, [want]), "1025 rules: the shim refuses them, the same line")
        with open(many, "w") as f:
            f.write("fail caller=nothing_here\n" * 1024)
        r = tool("run", "--rules", many, "--rule", "fail nth=1", "--", crashy)
        eq((r.returncode, stderr_lines(r)), (2, ["allocfail: --rule:1:1: too many rules: at most 1024 are supported"]),
           "the limit counts a file's rules and --rule's together")


# a thread= pattern that needs more than 15 bytes can never match a Linux
# thread name: refused, by check and the shim alike
@case
def thread_name_limit():
    for pat, ok in [("abcdefghijklmno", True), ("abcdefghijklmno*", True), ("*worker*", True),
                    ("abcdefghijklmnop", False), ("????????????????", False), ("abc,abcdefghijklmnopq", False)]:
        with tempfile.NamedTemporaryFile("w", suffix=".rules") as f:
            f.write(f"fail thread={pat}\n")
            f.flush()
            r = tool("check", "-q", f.name)
            if ok:
                eq((r.returncode, r.stderr), (0, b""), f"thread={pat}: accepted")
                continue
            long = [p for p in pat.split(",") if len(p) > 15][0]
            want = (f"{f.name}:1:13: thread name '{long}' can never match: Linux thread names have "
                    "at most 15 bytes")
            eq((r.returncode, stderr_lines(r)), (2, ["allocfail: " + want]), f"thread={pat}: refused")
    r = run([crashy, "deref"], preload=True, ALLOCFAIL_RULE="fail thread=abcdefghijklmnop")
    eq((r.returncode, stderr_lines(r)),
       (125, ["allocfail: ALLOCFAIL_RULE:1:13: thread name 'abcdefghijklmnop' can never match: Linux thread "
              "names have at most 15 bytes"]), "the shim refuses it at start, the same message")


main()
