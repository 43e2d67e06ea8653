"""What reaches the terminal: names from a crafted binary's symbol table and
DWARF, and a thread's name, printed by the shim (injection line, crash
block), report, sites and explore's table, with their control characters
and bytes that are not UTF-8 written as \\xHH; the JSON escapes as JSON."""
import functools
import json
import stat
import tempfile
from aftest import *

PLACEHOLDER = b"evil_placeholder_function_name"
# a title (OSC), a screen clear (CSI), a C1 CSI and a byte that is no UTF-8
EVIL = b"evil\x1b]0;TITLE\x07\x1b[2J\xc2\x9b\xff"
PAD = "_" * (len(PLACEHOLDER) - len(EVIL))
EVIL += PAD.encode()
SHOWN = "evil\\x1b]0;TITLE\\x07\\x1b[2J\\xc2\\x9b\\xff" + PAD
THREAD_SHOWN = "t\\x1b]0;pwn\\x07"


def terminal_safe(b):
    """Nothing a terminal would act on: valid UTF-8 and no control
    character but the newline."""
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8: {e}"
    bad = [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0)]
    return f"control characters: {bad!r}" if bad else None


def safe(b, what):
    why = terminal_safe(b)
    check(why is None, what + ": nothing a terminal obeys", f"{why}\n{b[:600]!r}")


def original():
    with open(prog("evilname"), "rb") as f:
        return f.read()


_dirs = []  # kept until the interpreter exits, which removes them


@functools.lru_cache(None)
def crafted():
    """evilname with its function's name (symbol table and DWARF) made
    EVIL, in a directory of its own."""
    d = tempfile.TemporaryDirectory()
    _dirs.append(d)
    exe = os.path.join(d.name, "evilname")
    with open(exe, "wb") as f:
        f.write(original().replace(PLACEHOLDER, EVIL))
    os.chmod(exe, stat.S_IRWXU)
    return exe


@case
def name_in_binary():
    check(original().count(PLACEHOLDER) >= 2, "the name is in the symbol table and DWARF")


# the shim's lines on stderr: the injection and the crash block
@case
def shim_stderr():
    r = tool("run", "--rule", "fail caller=evil*", "--", crafted())
    eq(r.returncode, 139, "the crafted program crashes after the injection")
    safe(r.stderr, "run: the shim's stderr")
    err = r.stderr.decode(errors="replace")
    check(f"fails at evilname+0x" in err and f"({SHOWN})" in err, "the injection line shows the name escaped",
          err)
    check(f"SIGSEGV (address 0x0) in {SHOWN} (evilname+0x" in err, "the crash block shows it escaped", err)


# report: the log's fields, the thread's name included
@case
def report():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log")
        r = tool("run", "--log", log, "--rule", "fail caller=evil*", "--", crafted())
        eq(r.returncode, 139, "with a log: the same crash")
        # the log is JSON with the name's bytes as they are (a module's path
        # must come back exactly), so not always UTF-8
        with open(log, "rb") as f:
            entries = [json.loads(l.decode("utf-8", "surrogateescape")) for l in f.read().splitlines()]
        eq([e["ev"] for e in entries], ["inject", "crash"], "the log holds both")
        eq(entries[0]["thread"], "t\x1b]0;pwn\x07", "the log keeps the thread's name, escaped as JSON")
        r = tool("report", log)
        eq(r.returncode, 0, "report: status 0")
        safe(r.stdout, "report")
        out = r.stdout.decode(errors="replace")
        check(f"thread {THREAD_SHOWN}, rule ALLOCFAIL_RULE:1]" in out, "report shows the thread's name escaped",
              out)
        check(f"at {SHOWN} (progs/evilname.c:" in out, "report shows the function escaped", out)


# sites: the table escapes; the JSON keeps the name, as JSON
@case
def sites():
    exe = crafted()
    r = tool("sites", "--", exe)
    eq(r.returncode, 0, "sites: status 0")
    safe(r.stdout, "sites")
    check(f"  {SHOWN} (progs/evilname.c:" in r.stdout.decode(errors="replace"), "sites shows the name escaped",
          r.stdout)
    r = tool("sites", "--json", "--", exe)
    doc = json.loads(r.stdout.decode("utf-8", "surrogateescape"))
    got = [s["function"] for s in doc["sites"] if (s["function"] or "").startswith("evil")]
    eq(got, [EVIL.decode("utf-8", "surrogateescape")], "sites --json: the name itself, control characters "
       "as JSON escapes")


# explore's table
@case
def explore_table():
    r = tool("explore", "-q", "--", crafted())
    safe(r.stdout, "explore's table")
    check(f"called from {SHOWN} (progs/evilname.c:" in r.stdout.decode(errors="replace"),
          "explore's table shows the name escaped", r.stdout)


# a message of the command that quotes outside text
@case
def error_line():
    r = tool("run", "--seed", "\x1b[2J", "--", crafted())
    eq((r.returncode, stderr_lines(r)),
       (2, ["allocfail: --seed '\\x1b[2J': expected an unsigned 64-bit integer"]),
       "the command's error line quotes the value escaped")


main()
