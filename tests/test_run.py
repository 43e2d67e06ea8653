"""allocfail run: environment, exit status, errors."""
from aftest import *

sh = need("sh")
r = tool("run", "--", sh, "-c", "exit 7")
eq(r.returncode, 7, "the command's exit status is returned")
r = tool("run", "--", sh, "-c", "kill -TERM $$")
eq(r.returncode, 128 + 15, "128 + signal when the command is killed")
r = tool("run", "--", sh, "-c", 'echo "$LD_PRELOAD"')
eq(r.stdout.decode().strip(), os.path.realpath(SHIM), "LD_PRELOAD names the shim")
r = tool("run", "--", sh, "-c", 'echo "$LD_PRELOAD"', LD_PRELOAD="/lib/x86_64-linux-gnu/libm.so.6")
eq(r.stdout.decode().strip(), os.path.realpath(SHIM) + ":/lib/x86_64-linux-gnu/libm.so.6",
   "an existing LD_PRELOAD is kept, after the shim")
r = tool("run", "--rule", "fail fn=pvalloc nth=1", "--set", "limit=1G", "--", sh, "-c",
         'printf "%s" "$ALLOCFAIL_RULE"')
eq(r.stdout.decode(), "fail fn=pvalloc nth=1\nset limit=1G\n", "--rule and --set reach the shim in order")
r = tool("run", "--", "/nonexistent/cmd")
eq(r.returncode, 127, "a missing command: 127")
check(b"cannot run '/nonexistent/cmd'" in r.stderr, "and a message", r.stderr)
r = tool("run", "--rule", "fial nth=1", "--", sh, "-c", "echo ran")
eq(r.returncode, 2, "a bad rule: status 2")
eq(r.stdout, b"", "and the command does not run")
eq(stderr_lines(r), ["allocfail: --rule:1:1: unknown action 'fial' (did you mean 'fail'?)"],
   "one line naming the error")
# --timeout: the command's whole process group is killed, status 124
import tempfile
with tempfile.TemporaryDirectory() as d:
    pidfile = os.path.join(d, "bg")
    r = tool("run", "--timeout", "0.5", "--", sh, "-c", f'sleep 60 >/dev/null 2>&1 & echo $! > {pidfile}; wait')
    eq((r.returncode, stderr_lines(r)),
       (124, ["allocfail: run: no exit after 0.5 s; the process group was killed"]),
       "--timeout: 124 and one line")
    bg = int(open(pidfile).read())
    try:
        os.kill(bg, 0)
        alive = open(f"/proc/{bg}/stat").read().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        alive = False
    eq(alive, False, "--timeout: what the command started in the background is killed too")
r = tool("run", "--timeout", "30", "--", sh, "-c", "exit 3")
eq((r.returncode, r.stderr), (3, b""), "--timeout: a command that ends in time keeps its status")
r = tool("run", "--timeout", "30", "--", sh, "-c", "kill -TERM $$")
eq(r.returncode, 128 + 15, "--timeout: 128 + signal when the command is killed")
r = tool("run", "--timeout", "0", "--", sh)
eq((r.returncode, stderr_lines(r)),
   (2, ["allocfail: run: --timeout '0': expected a duration in seconds (e.g. 10, 2.5, 500ms)"]),
   "--timeout 0: status 2, one line")
r = tool("run", "--bogus", "--", sh)
eq(r.returncode, 2, "an unknown option: status 2")
r = tool("run")
eq(r.returncode, 2, "no command: status 2")
r = tool("--version")
check(r.returncode == 0 and r.stdout.startswith(b"allocfail "), "--version")
for sub in ("run", "check"):
    r = tool(sub, "--help")
    check(r.returncode == 0 and b"usage: allocfail " + sub.encode() in r.stdout, f"{sub} --help")
r = tool("rnu")
eq(stderr_lines(r), ["allocfail: unknown command 'rnu' (did you mean 'run'?)"], "a misspelt command")
static = prog("static-hello")
if os.path.exists(static):
    r = tool("run", "--", static)
    eq(r.returncode, 2, "a static binary is refused")
    check(b"statically linked" in r.stderr, "with a message saying why", r.stderr)
done()
