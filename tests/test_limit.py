"""The simulated limit drives the real-failure semantics: costly requests
fail at once; small ones fail at once too by default, and with
small=retry (the kernel's semantics) are retried: canary, then the OOM
action."""
from aftest import *

L = ["--set", "limit=1M"]
fast = ["--set", "small=retry", "--set", "retry_timeout=300ms", "--set", "retry_warn=3"]


@case
def costly_fails_at_once():
    r = tool("run", *L, "--", prog("limit"), "2000000", "10")
    eq(r.stdout.decode().splitlines(), ["big NULL errno=12", "small ok errno=0"],
       "a costly request over the limit gets NULL/ENOMEM at once")
    eq(r.stderr, b"", "no canary for a costly failure")


@case
def oom_fail():
    r = tool("run", *L, *fast, "--set", "oom=fail", "--", prog("limit"), "1040000", "8192")
    eq(r.stdout.decode().splitlines(), ["big ok errno=0", "small NULL errno=12"],
       "oom=fail: the small request finally returns NULL/ENOMEM")
    err = stderr_lines(r)
    canaries = [l for l in err if "possible memory allocation deadlock" in l]
    eq(len(canaries), 1, "the canary is printed once")
    check(canaries and "malloc(8192)" in canaries[0] and "(main)" in canaries[0],
          "the canary names the request and the call site", err)
    check(any("out of memory" in l and "oom=fail" in l for l in err), "oom=fail is reported", err)


@case
def oom_abort():
    r = tool("run", *L, *fast, "--", prog("limit"), "1040000", "8192")
    eq(r.returncode, 134, "oom=abort (the default action) dies of SIGABRT")
    err = stderr_lines(r)
    check(any("out of memory: malloc(8192) at limit+" in l and "(main)" in l for l in err),
          "the OOM report names the stuck call site", err)
    check(any(l.startswith("allocfail: live: ") for l in err), "the OOM report gives the live total", err)
    check(any("(main)" in l and "1040000" in l for l in err),
          "the OOM report lists the call site holding the most live memory", err)


@case
def small_fails_at_once_without_retry():
    for how in (["--set", "small=noretry"], []):
        what = "small=noretry" if how else "no setting"
        r = tool("run", *L, *how, "--", prog("limit"), "1040000", "8192")
        eq(r.stdout.decode().splitlines(), ["big ok errno=0", "small NULL errno=12"],
           f"{what}: a small request fails for real at once")
        eq(r.stderr, b"", f"{what}: no canary")


# 917504 + 98304 (two jemalloc size classes) leave less than 32 KiB of the
# 1 MiB once pthread_create has taken its few hundred bytes: the 32 KiB
# request (small: exactly the threshold) waits until HELD is freed.
@case
def small_waits_for_a_free():
    r = tool("run", *L, "--set", "small=retry", "--set", "retry_timeout=20s", "--summary", "--",
             prog("limit"), "wait", "917504", "98304", "32768")
    eq(r.stdout.decode().splitlines(), ["small ok"],
       "a small request waiting on the limit succeeds once another thread frees")
    rows = [l.split()[1:] for l in stderr_lines(r) if "(main)" in l]
    check(["1", "32768", "0", "1", "0"] in [row[:5] for row in rows],
          "the summary shows that the 32 KiB request did wait (one retried call)", r.stderr.decode())
    eq(r.returncode, 0, "and the program exits 0")


@case
def storm_under_generous_limit():
    r = tool("run", "--set", "limit=64M", "--", prog("storm"), "8", "50000")
    base = run([prog("storm"), "8", "50000"])
    same_run(r, base, "8 threads under a generous limit")


# memory freed by an idle thread reaches a small request waiting at the
# limit; a nofail request waits for memory instead of passing the limit
@case
def waiters_get_freed_memory():
    r = tool("run", "--set", "limit=1M", "--set", "small=retry", "--set", "retry_timeout=3s", "--",
             prog("limitwait"))
    eq(r.stdout.decode().splitlines(),
       ["start", "filled: yes", "small after another thread freed: ok", "nofail at the limit: ok after a wait"],
       "limitwait: the waiter gets the idle thread's freed memory; nofail waits")
    check(b"out of memory" not in r.stderr, "limitwait: no OOM action", r.stderr)


main()
