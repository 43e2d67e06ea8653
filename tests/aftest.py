"""aftest.py - the small harness of allocfail's process-level tests.

Each test script is one meson test made of cases: functions marked
@case, each a group of checks that belong together and can run alone:

    python3 tests/test_fork.py                  # every case
    python3 tests/test_fork.py nth_outcomes     # one (or several)
    meson test -C build fork --test-args nth_outcomes
    python3 tests/test_fork.py --list           # the case names

A check prints one line that names its case; a case that raises is a
failed check of that case and the others still run. The script ends with
main(): exit 0 when all passed, 1 when one failed, 77 when every case it
ran was skipped (need() or skip(why) inside a case skips that case), 2 for an unknown
case name.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("AF_BUILD", os.path.join(os.path.dirname(__file__), "..", "build"))
SRC = os.environ.get("AF_SRC", os.path.join(os.path.dirname(__file__), ".."))
SHIM = os.path.join(BUILD, "shim", "liballocfail.so")
TOOL = os.path.join(BUILD, "tools", "allocfail")
PROGS = os.path.join(BUILD, "tests")

_checks = 0
_failures = 0
_case = None          # the running case's name
_cases = {}           # name -> function, in the order of the file
_failed_cases = []


class Skip(Exception):
    """need() or skip() inside a case: this case cannot run here."""


def skip(why):
    """Ends the running case as skipped, saying why."""
    raise Skip(why)


def prog(name):
    return os.path.join(PROGS, name)


def system_program(name):
    """A program of the distribution, never a pyenv or venv shim."""
    for d in ("/usr/bin", "/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def need(*names):
    paths = []
    for n in names:
        p = system_program(n)
        if not p:
            if _case is not None:
                raise Skip(f"{n} is not installed")
            print(f"SKIP: {n} is not installed")
            sys.exit(77)
        paths.append(p)
    return paths if len(paths) > 1 else paths[0]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ALLOCFAIL_") and k not in ("LD_PRELOAD",)}
    env["LC_ALL"] = "C"
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(argv, preload=False, env=None, input=None, timeout=120, cwd=None, **extra):
    """Run argv; with preload=True the shim is preloaded. extra: env vars."""
    e = clean_env(**extra) if env is None else env
    if preload:
        e["LD_PRELOAD"] = SHIM
    if isinstance(input, str):
        input = input.encode()
    # a group of its own, killed whole on timeout: nothing a hung program
    # started outlives the test
    import signal
    p = subprocess.Popen(argv, env=e, stdin=subprocess.PIPE if input is not None else None,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                         start_new_session=True)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def shell_group(cmd, timeout, env=None):
    """sh -c cmd in a process group of its own; on timeout the whole group
    is killed (a plain subprocess timeout kills sh and leaves what it
    started running). Returns a CompletedProcess, returncode 'hang' when it
    timed out."""
    import signal
    p = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env if env is not None else clean_env(), start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return subprocess.CompletedProcess(cmd, p.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return subprocess.CompletedProcess(cmd, "hang", out, err)


def tool(*args, **kw):
    return run([TOOL] + list(args), **kw)


def check(cond, what, detail=None):
    global _checks, _failures
    _checks += 1
    if _case is not None:
        what = f"{_case}: {what}"
    if cond:
        print(f"ok {_checks} - {what}")
    else:
        _failures += 1
        if _case is not None and _case not in _failed_cases:
            _failed_cases.append(_case)
        print(f"not ok {_checks} - {what}")
        if detail is not None:
            for line in str(detail).splitlines()[:40]:
                print(f"    {line}")
    return cond


def eq(actual, expected, what):
    return check(actual == expected, what,
                 f"expected: {expected!r}\nactual:   {actual!r}")


def same_run(a, b, what):
    """Byte-identical stdout and the same exit status."""
    eq(a.returncode, b.returncode, what + ": exit status")
    check(a.stdout == b.stdout, what + ": stdout byte-identical",
          f"{len(a.stdout)} vs {len(b.stdout)} bytes\n{a.stdout[:300]!r}\n{b.stdout[:300]!r}")


def stderr_lines(r):
    return r.stderr.decode(errors="replace").splitlines()


def json_lines(path, torn_tail=False):
    """The events of a log, one JSON object a line. torn_tail: a last line
    without its newline is dropped: a process killed by a signal while
    another of its threads was writing (the kernel cuts a write short when
    a fatal signal is pending) leaves the tail of that line unwritten."""
    out = []
    with open(path, "rb") as f:
        data = f.read().decode(errors="replace")
    lines = data.split("\n")
    if lines and lines[-1] and torn_tail:
        lines.pop()
    for line in lines:
        if line:
            out.append(json.loads(line))
    return out


def run_logged(argv, torn_tail=False, **extra):
    """Run argv with the shim preloaded and ALLOCFAIL_LOG in a directory of
    its own: the result and the log's events (see json_lines)."""
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log")
        r = run(argv, preload=True, ALLOCFAIL_LOG=log, **extra)
        return r, json_lines(log, torn_tail)


def injections(path):
    """The inject events of a log (a process that took one also says how it
    exited, in an exit event)."""
    return [e for e in json_lines(path) if e.get("ev") == "inject"]


def done():
    print(f"# {_checks} checks, {_failures} failed")
    if _failed_cases:
        print(f"# failed cases: {' '.join(_failed_cases)}")
    sys.exit(1 if _failures else 0)


def case(fn):
    """Marks a test case (see the top of this file)."""
    if fn.__name__ in _cases:
        raise ValueError(f"two cases named {fn.__name__}")
    _cases[fn.__name__] = fn
    return fn


def main():
    """Runs the cases named on the command line, or all of them."""
    global _case
    import traceback
    names = sys.argv[1:]
    if names == ["--list"]:
        print("\n".join(_cases))
        sys.exit(0)
    unknown = [n for n in names if n not in _cases]
    if unknown:
        print(f"{sys.argv[0]}: no case named {', '.join(unknown)}; the cases: {' '.join(_cases)}",
              file=sys.stderr)
        sys.exit(2)
    skipped = 0
    for name in names or list(_cases):
        _case = name
        try:
            _cases[name]()
        except Skip as e:
            skipped += 1
            print(f"# SKIP {name}: {e}")
        except Exception:
            check(False, "raised an exception", traceback.format_exc())
        _case = None
    if skipped and skipped == len(names or _cases):
        sys.exit(77)
    done()
