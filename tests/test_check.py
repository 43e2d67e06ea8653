"""allocfail check: normalized output, file:line:column errors, status."""
import contextlib
import tempfile
from aftest import *


@contextlib.contextmanager
def rules_files():
    """A directory with a valid rules file and one with an error on line 3."""
    with tempfile.TemporaryDirectory() as d:
        good = os.path.join(d, "good.rules")
        with open(good, "w") as f:
            f.write("# comment\nset limit=1M\n\nfail   caller=foo,bar nth=3\n"
                    "nofail size=<32K module=libc.so*\n")
        bad = os.path.join(d, "bad.rules")
        with open(bad, "w") as f:
            f.write("fail caller=x\n\nfail   calller=foo\n")
        yield d, good, bad


@case
def valid_file_normalized():
    with rules_files() as (d, good, bad):
        r = tool("check", good)
        eq(r.returncode, 0, "a valid file: status 0")
        lines = r.stdout.decode().splitlines()
        eq(lines[0], "set limit=1048576", "settings, normalized")
        check(lines[1].startswith("fail caller=foo,bar nth=3 ") and lines[1].endswith(f"# {good}:4"),
              "a rule, normalized, with its file:line", lines[1])
        check(lines[2].startswith("nofail size=<=32767 module=libc.so* ") and lines[2].endswith(":5"),
              "size=<32K normalizes to <=32767", lines[2])
        eq(lines[3], "# 2 rules; small requests are those of at most 32768 bytes", "a closing count")


@case
def invalid_file_located():
    with rules_files() as (d, good, bad):
        r = tool("check", bad)
        eq(r.returncode, 2, "an invalid file: status 2")
        eq(stderr_lines(r), [f"allocfail: {bad}:3:8: unknown key 'calller' (did you mean 'caller'?)"],
           "the error names file:line:column and suggests the near miss")


@case
def one_bad_among_several():
    with rules_files() as (d, good, bad):
        r = tool("check", good, bad)
        eq(r.returncode, 2, "one bad file among several: status 2")
        check(f"# {good}" in r.stdout.decode(), "the good file is still printed", r.stdout)


@case
def quiet():
    with rules_files() as (d, good, bad):
        r = tool("check", "--quiet", good)
        eq((r.returncode, r.stdout), (0, b""), "--quiet prints nothing when valid")


@case
def missing_file():
    with rules_files() as (d, good, bad):
        r = tool("check", os.path.join(d, "missing.rules"))
        eq(r.returncode, 2, "a missing file: status 2")
        check(b"No such file or directory" in r.stderr, "and says so", r.stderr)


# the preloaded shim rejects the same file the same way, before main
@case
def shim_refuses_the_same():
    with rules_files() as (d, good, bad):
        r = run([prog("sites"), "-", "static"], preload=True, ALLOCFAIL_RULES=bad)
        eq(r.returncode, 125, "the shim refuses the file: status 125")
        eq(stderr_lines(r), [f"allocfail: {bad}:3:8: unknown key 'calller' (did you mean 'caller'?)"],
           "with the same message")
        eq(r.stdout, b"", "and main never ran")


@case
def no_file():
    r = tool("check")
    eq(r.returncode, 2, "no file: status 2")


main()
