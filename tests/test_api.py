"""include/allocfail.h: each call with and without the shim; reservations
under a limit with four threads; a non-PIE program."""
import re
from aftest import *

without = {
    "active": "0", "plain": "0", "nofail": "0", "nofail-nested": "0", "after-nofail": "0",
    "suspended": "0", "resumed": "0", "fail_nth": "-38", "nth-sequence": "00000",
    "injected": "+0", "disarmed": "000", "nth-suspended": "0", "noretry-cookie": "0",
    "reserve": "none", "reserved-alloc": "0", "unreserve": "0", "unreserve-again": "0",
    "after-reserve": "0",
}
with_shim = dict(without, **{
    "active": "1", "plain": "1", "after-nofail": "1", "resumed": "1", "fail_nth": "0",
    "nth-sequence": "00100", "injected": "+1", "reserve": "token", "unreserve-again": "-22",
    "after-reserve": "1",
})


def parse(r):
    return dict(l.split(" ", 1) for l in r.stdout.decode().splitlines())


# each call without the shim a no-op; with it, what the header promises;
# the same for a non-PIE program (the header looks the shim up with dlsym)
@case
def calls_with_and_without_shim():
    for exe in ("api", "api-nopie"):
        r = run([prog(exe)])
        eq(r.returncode, 0, f"{exe} without the shim runs")
        eq(parse(r), without, f"{exe} without the shim: every call is a no-op with its neutral value")
        r = run([prog(exe)], preload=True, ALLOCFAIL_RULE="fail caller=target")
        eq(r.returncode, 0, f"{exe} with the shim runs")
        eq(parse(r), with_shim,
           f"{exe} with the shim: scopes shield, fail-nth fails the 3rd, suspend stops it, reservations shield")


# reservations under a 4 MiB limit, four threads
@case
def reservations_under_limit():
    r = tool("run", "--set", "limit=4M", "--set", "small=noretry", "--summary", "--", prog("reserve"))
    out = r.stdout.decode().splitlines()
    eq(out, ["token ok", "reserved thread: 0 failures in 115 allocations", "others failed: 1 1 1",
             "too large: E2BIG"],
       "the reserved thread never fails; the others do once the watermark rises; too large is refused")
    err = r.stderr.decode()
    check(re.search(r"reservation #\d+ \(thread reserve\): 2097152 bytes reserved, peak use \d+ \(\d+%\)", err),
          "the summary reports the reservation against its peak use", err)


# reservations that wait: time out, granted after a free, zero bytes, held at exit
@case
def reservations_that_wait():
    r = tool("run", "--set", "limit=1M", "--set", "retry_timeout=200ms", "--summary", "--",
             prog("resvwait"))
    eq(r.stdout.decode().splitlines(),
       ["big: ok", "reserve while full: ETIMEDOUT", "reserve after a free: granted",
        "past the reserve and the limit: ok", "reserve 0 when overdrawn: granted",
        "held at exit: granted"],
       "a reserve waits for memory, times out cleanly, and is granted once memory is freed")
    err = r.stderr.decode()
    check(re.search(r"reservation #\d+ \(thread resvwait\): 1000 bytes reserved, still held at exit", err),
          "the summary lists a reservation still held at exit", err)


main()
