"""The host process comes first: the shim takes none of the program's
descriptors, reports one crash once, and leaves signal handlers that
allocate no worse off than the allocator alone."""
import subprocess
import tempfile
from aftest import *


def fdcheck(closed, preload, **extra):
    """fdcheck's report, started with the descriptors in closed closed."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        e = clean_env(**extra)
        if preload:
            e["LD_PRELOAD"] = SHIM
        cmd = " ".join([prog("fdcheck"), out] + [f"{fd}>&-" for fd in closed])
        r = subprocess.run(["sh", "-c", "exec " + cmd], env=e, timeout=60, capture_output=True)
        return r.returncode, open(out).read() if os.path.exists(out) else None


# The program's descriptors are the program's: with rules (libunwind is
# loaded, with its pipe) and a log, a program started with 0, 1 or 2
# closed sees them closed, sees no other descriptor below 1000 and gets the
# same numbers from open() as without the shim; only the allocation's
# outcome differs. Before the fix libunwind's pipe took 0 (or 3 and 4).
@case
def descriptors_are_the_programs():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log")
        for closed in ([], [0], [1], [2], [0, 1, 2]):
            bare = fdcheck(closed, False)
            for what, extra in [("an in= rule", {"ALLOCFAIL_RULE": "fail in=main"}),
                                ("a caller= rule and a log", {"ALLOCFAIL_RULE": "fail caller=main",
                                                              "ALLOCFAIL_LOG": log}),
                                ("the census and the summary", {"ALLOCFAIL_CENSUS": log,
                                                                "ALLOCFAIL_SUMMARY": "1"})]:
                rc, text = fdcheck(closed, True, **extra)
                if "census" not in what:
                    text = text and text.replace("failed\n", "allocated\n")
                eq((rc, text), bare,
                   f"descriptors {closed or 'none'} closed, {what}: the program sees its own")


# A SIGALRM handler that allocates, every 20 microseconds, while the one
# thread allocates through malloc, strdup (inside libc), calloc and realloc.
# jemalloc's periodic thread-cache collection takes bin locks from inside
# any malloc or free and deadlocks such a program without the shim too
# (1 run in 40 here), so it is turned off to see the shim's part alone.
# Before the fix 5 of 10 runs hung under the in= rule (the handler waited
# for a lock the interrupted slow path held: af_lock, or a jemalloc lock
# while the shim's own tables were allocated) and 10 of 10 under the
# probability rule.
@case
def signal_handler_that_allocates():
    quiet_gc = "tcache_gc_incr_bytes:1000000000000"
    for what, extra in [("nothing configured", {}),
                        ("an in= rule that never matches", {"ALLOCFAIL_RULE": "fail in=nothing_here"}),
                        ("a 1% probability rule", {"ALLOCFAIL_RULE": "fail probability=1%",
                                                   "ALLOCFAIL_LOG": "/dev/null"}),
                        ("the census", {"ALLOCFAIL_CENSUS": "/dev/null"})]:
        outcomes = {}
        for i in range(20):
            try:
                r = run([prog("sigalloc"), "100000"], preload=True, timeout=30,
                        MALLOC_CONF=quiet_gc, **extra)
                key = r.returncode if r.stdout == b"ok\n" or r.returncode != 0 else "no ok"
            except subprocess.TimeoutExpired:
                key = "hang"
            outcomes[key] = outcomes.get(key, 0) + 1
        eq(outcomes, {0: 20}, f"a signal handler that allocates: 20 of 20 runs end well ({what})")


def sigexit_under_gdb(gdb, steps, after_signal="", **extra):
    """sigexit under gdb, the shim preloaded into it alone: steps (gdb
    commands) stop the exiting thread, SIGUSR1 is sent to it, and at
    handled(), after the handler's allocations, after_signal runs. The
    lines of gdb's and the program's stdout, or "hang"."""
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "g.gdb")
        with open(script, "w") as f:
            f.write(f"""set pagination off
set confirm off
set startup-with-shell off
set breakpoint pending on
set environment LD_PRELOAD={SHIM}
handle SIGUSR1 nostop noprint pass
{steps}
break handled
signal SIGUSR1
printf "handled\\n"
{after_signal}
delete
continue
""")
        try:
            r = run([gdb, "-batch", "-nx", "-x", script, prog("sigexit")], timeout=60, **extra)
        except subprocess.TimeoutExpired:
            return "hang"
        return r.stdout.decode().splitlines()


# A signal handler's allocation while the thread-exit destructor frees the
# thread's caches: gdb stops the exiting thread when the destructor's first
# af_ifree() has returned and delivers SIGUSR1 there; the handler allocates
# at the call site the thread used under a probability rule, whose memo
# entry holds a pointer to the thread's stream. Before the fix the streams
# were freed while the memo was still reachable, and the handler's
# allocation decremented the freed stream's countdown (delta -1).
@case
def signal_handler_at_thread_exit():
    gdb = need("gdb")
    out = sigexit_under_gdb(gdb, """break private_exit
run
set $a = &af_t.draws[0].left
tbreak af_ifree
continue
finish
set $v = *$a""", after_signal='printf "delta=%ld\\n", (long)(*$a - $v)',
                            ALLOCFAIL_RULE="fail size=40 probability=0.0001%", ALLOCFAIL_SEED="1")
    eq(out if out == "hang" else ([l for l in out if l.startswith("delta=")], "ok" in out),
       (["delta=0"], True),
       "a signal handler's allocation during the exit destructor touches no freed stream")


# A signal handler that allocates at a call site new to the census while an
# exit destructor of the shim holds its lock (the census's, or the limit's
# with one): gdb stops the exiting thread at the lock's release and
# delivers SIGUSR1 there. Before the fix the handler's slow path waited for
# the lock its own thread held: a hang.
@case
def signal_handler_in_exit_destructor_lock():
    gdb = need("gdb")
    for where, extra in (("af_sites_thread_exit", {}), ("thread_exit", {"ALLOCFAIL_RULE": "set limit=1G"})):
        with tempfile.TemporaryDirectory() as d:
            out = sigexit_under_gdb(gdb, f"""break {where}
run
tbreak pthread_mutex_unlock
continue""", ALLOCFAIL_CENSUS=os.path.join(d, "census"), **extra)
        eq(out if out == "hang" else ("handled" in out, "ok" in out), (True, True),
           f"a signal handler allocates while {where} holds the shim's lock")

# One crash, one report. Four threads have failures injected without pause
# while the main thread (or two threads at once) dereference NULL. Before
# the fix the crash was reported 2 to 5 times: the handler handed the
# signal back, another thread's injection put the handler in front again
# before the instruction faulted again, and it reported once more.
@case
def one_crash_one_report():
    for mode in ("storm", "two"):
        for i in range(5):
            r, log = run_logged([prog("crashmany"), mode], torn_tail=True, ALLOCFAIL_RULE="fail caller=worker")
            err = r.stderr.decode()
            events = [e["ev"] for e in log]
            eq((r.returncode, err.count("allocfail: SIGSEGV"), err.count("allocfail:   crash stack: "),
                events.count("crash")), (-11, 1, 1, 1),
               f"crashmany {mode} (run {i + 1}): SIGSEGV, one whole block on stderr, one crash record")


# A SIGSEGV the program handles (a guard page it opens, then returns) is
# no crash, also after an injection has put the shim's handler in front.
@case
def handled_sigsegv_no_crash():
    r, log = run_logged([prog("crashmany"), "guard"], ALLOCFAIL_RULE="fail caller=main size=100")
    eq((r.returncode, r.stdout, [e["ev"] for e in log]), (0, b"handled 3\n", ["inject", "exit"]),
       "crashmany guard: the program's handler opens its guard page three times, no crash record")
    eq(r.stderr, b"", "crashmany guard: nothing on stderr")


main()
