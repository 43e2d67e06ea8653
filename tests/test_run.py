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
