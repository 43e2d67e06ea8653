#!/usr/bin/env python3
"""bench/run.py - allocfail's benchmark suite: prints markdown tables.

  alloc     ns per malloc/free pair (and realloc/calloc mix, and strdup/free
            pairs, whose allocation libc makes) per thread, at
            1, 2 and N threads, for glibc, jemalloc alone, allocfail with
            no rules / 100 non-stack rules / one in= rule at depth 16 / a
            probability=0.001% rule, with the census on (as explore's runs
            are), and libfiu; each a ratio to jemalloc
            measured in the same run (medians of --reps runs, pinned to
            CPUs when there are enough).
  programs  wall time of sqlite3 building a 1M-row table and of a python3
            allocation-heavy script, with and without the shim.
  explore   runs per second of allocfail explore against bare fork+exec of
            the same command; sites explored per minute on a real program.
  nth       explore --mode nth on sqlite3: forking against runs of their
            own (not in the default list: it takes about half a minute).
  instr     instructions per malloc/free pair for alloc's configurations,
            counted by valgrind's cachegrind (the difference of two run
            lengths, so start-up cancels out): the same on every run and
            every VM of a CPU kind, where times drift by 10% (not in the
            default list: it needs valgrind, about a minute).

Timing belongs here, never in pass/fail tests.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--build", required=True)
ap.add_argument("--what", default="alloc,programs,explore")
ap.add_argument("--reps", type=int, default=7)
ap.add_argument("--iters", type=int, default=10_000_000)
ap.add_argument("--threads", default="")
ap.add_argument("--modes", default="pair,mix,dup", help="alloc's tables: pair, mix, dup")
ap.add_argument("--quick", action="store_true", help="a short run (meson test --benchmark)")
args = ap.parse_args()
for _m in args.modes.split(","):
    if _m not in ("pair", "mix", "dup"):
        sys.exit(f"bench/run.py: --modes: unknown table '{_m}' (pair, mix, dup)")
if args.quick:
    args.reps, args.iters = 3, 2_000_000

B = os.path.abspath(args.build)
SHIM = os.path.join(B, "shim", "liballocfail.so")
TOOL = os.path.join(B, "tools", "allocfail")
MB = os.path.join(B, "bench", "malloc-bench")
JEMALLOC = next((p for p in ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                             "/usr/lib/libjemalloc.so.2") if os.path.exists(p)), None)
FIU = shutil.which("fiu-run")
NCPU = os.cpu_count() or 1


def env(**kw):
    e = {k: v for k, v in os.environ.items() if not k.startswith("ALLOCFAIL_") and k != "LD_PRELOAD"}
    e.update({k: v for k, v in kw.items() if v is not None})
    return e


def pin(threads):
    # pin to as many CPUs as threads when the machine has them (less noise)
    if shutil.which("taskset") and threads <= NCPU:
        return ["taskset", "-c", f"{NCPU - threads}-{NCPU - 1}"]
    return []


def header():
    print(f"machine: {platform.node()}, {NCPU} CPUs, {platform.processor() or platform.machine()}, "
          f"Linux {platform.release()}; {time.strftime('%Y-%m-%d %H:%M')}")
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        print(f"cpu: {model}")
    except (OSError, StopIteration):
        pass
    print()


def alloc_configs(d):
    """(name, environment, command prefix) of each configuration, with its
    files under d."""
    hundred = os.path.join(d, "100.rules")
    with open(hundred, "w") as f:
        for i in range(40):
            f.write(f"fail caller=no_such_function_{i}\n")
        for i in range(30):
            f.write(f"fail module=libno_such_{i}.so*\n")
        for i in range(30):
            f.write(f"fail size={1 << 30 + (i % 3)}..{(1 << 30 + (i % 3)) + i} fn=malloc,calloc\n")
    configs = [
        ("glibc", env(), []),
        ("jemalloc alone", env(LD_PRELOAD=JEMALLOC), []),
        ("allocfail, no rules", env(LD_PRELOAD=SHIM), []),
        ("allocfail, 100 non-stack rules", env(LD_PRELOAD=SHIM, ALLOCFAIL_RULES=hundred), []),
        ("allocfail, 1 in= rule, depth 16", env(LD_PRELOAD=SHIM, ALLOCFAIL_RULE="fail in=no_such_function depth=16"), []),
        ("allocfail, probability=0.001%", env(LD_PRELOAD=SHIM, ALLOCFAIL_RULE="fail probability=0.001%",
                                              ALLOCFAIL_SEED="1", ALLOCFAIL_LOG="/dev/null"), []),
        # every allocation counted by call site, as in explore's runs
        ("allocfail, census (explore's runs)", env(LD_PRELOAD=SHIM,
                                                   ALLOCFAIL_CENSUS=os.path.join(d, "census")), []),
    ]
    if FIU:
        configs.append(("libfiu, malloc at 0.001%", env(),
                        [FIU, "-x", "-c", "enable_random name=libc/mm/malloc,probability=0.00001"]))
    return configs


def alloc():
    d = tempfile.mkdtemp()
    configs = alloc_configs(d)
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, 2, NCPU})
    titles = {"pair": "malloc/free pairs, sizes 8 B to 4 KiB", "mix": "realloc/calloc mix",
              "dup": "strdup/free pairs, 8 to 263 bytes (allocated inside libc)"}
    for mode in args.modes.split(","):
        print(f"### {titles[mode]}"
              f" (ns per operation per thread; ratio to jemalloc)\n")
        print("| configuration | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " |")
        print("|---|" + "---|" * len(threads))
        results = {}
        for t in threads:
            # interleave the configurations, repetition by repetition
            samples = {name: [] for name, _, _ in configs}
            iters = args.iters if t <= NCPU else args.iters // 4
            for _ in range(args.reps):
                for name, e, prefix in configs:
                    r = subprocess.run(pin(t) + prefix + [MB, mode, str(t), str(iters)], env=e,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                    try:
                        samples[name].append(float(r.stdout))
                    except ValueError:
                        samples[name].append(float("nan"))
            for name in samples:
                results[(name, t)] = statistics.median(samples[name])
        for name, _, _ in configs:
            cells = []
            for t in threads:
                v, base = results[(name, t)], results[("jemalloc alone", t)]
                cells.append(f"{v:.1f} ({v / base:.2f}x)")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print()
    shutil.rmtree(d)


def instr():
    vg = shutil.which("valgrind")
    if not vg:
        print("(instr: valgrind is not installed)\n")
        return
    d = tempfile.mkdtemp()
    n1, n2 = 1_000_000, 3_000_000

    def count(e, n):
        r = subprocess.run([vg, "--tool=cachegrind", "--cache-sim=no",
                            "--cachegrind-out-file=/dev/null", MB, "pair", "1", str(n)],
                           env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        m = re.search(r"I\s+refs:\s+([\d,]+)", r.stderr.decode())
        return int(m.group(1).replace(",", "")) if m else None

    print("### instructions per malloc/free pair (cachegrind, one thread)\n")
    print("| configuration | instructions | ratio to jemalloc |")
    print("|---|---|---|")
    rows = []
    for name, e, prefix in alloc_configs(d):
        if prefix:  # libfiu's runner under valgrind counts the runner too
            continue
        a, b = count(e, n1), count(e, n2)
        rows.append((name, None if a is None or b is None else (b - a) / (n2 - n1)))
    base = dict(rows).get("jemalloc alone")
    for name, v in rows:
        cell = "?" if v is None else f"{v:.0f}"
        ratio = f"{v / base:.2f}x" if v is not None and base else "?"
        print(f"| {name} | {cell} | {ratio} |")
    print()
    shutil.rmtree(d)


def wall(argv, e):
    t0 = time.perf_counter()
    subprocess.run(argv, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def programs():
    print("### whole programs (median wall time; no rules)\n")
    print(f"Without and with the shim in turn, {args.reps} rounds; the ratio is the median of "
          "the rounds' ratios (range in brackets).\n")
    print("| program | without the shim | with the shim | ratio |")
    print("|---|---|---|---|")
    n = 200_000 if args.quick else 1_000_000
    progs = []
    if shutil.which("sqlite3"):
        progs.append((f"sqlite3: {n} rows, indexed", ["sqlite3", ":memory:",
            "create table t(a integer primary key, b text, c real);"
            f"with recursive c(x) as (select 1 union all select x+1 from c where x<{n}) "
            "insert into t select x, hex(randomblob(16)), x*1.5 from c;"
            "create index ib on t(b); select count(*), sum(length(b)) from t;"]))
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    progs.append(("python3: dicts, lists, strings", [py, "-c",
        "d={}\nfor i in range(%d):\n    d[str(i)]=[i, str(i)*3, {'k': i}]\n"
        "s=sorted(d.items(), key=lambda kv: kv[1][1])\nprint(len(s))" % (n // 2)]))
    for name, argv in progs:
        a, b = [], []
        for _ in range(args.reps):
            a.append(wall(argv, env()))
            b.append(wall(argv, env(LD_PRELOAD=SHIM)))
        q = sorted(y / x for x, y in zip(a, b))
        print(f"| {name} | {statistics.median(a):.2f} s | {statistics.median(b):.2f} s | "
              f"{statistics.median(q):.3f} ({q[0]:.3f}-{q[-1]:.3f}) |")
    print()


def explore():
    target = os.path.join(B, "bench", "explore-target")
    spawn = os.path.join(B, "bench", "spawn-loop")
    print("### allocfail explore throughput\n")
    d = tempfile.mkdtemp()
    out = os.path.join(d, "report.json")

    def explore_rate(extra, **kw):
        t0 = time.perf_counter()
        subprocess.run([TOOL, "explore", "-q", "--jobs", "1"] + extra + ["--json", out, "--", target],
                       env=env(**kw), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        el = time.perf_counter() - t0
        with open(out) as f:
            return json.load(f)["runs"] / el

    def bare_rate():
        r = subprocess.run([spawn, "100", target], stdout=subprocess.PIPE)
        return float(r.stdout)

    # interleaved, repetition by repetition: this VM's speed drifts by more
    # than the differences measured; each ratio is taken within one round
    confs = [
        ("allocfail explore --jobs 1 --no-fork on explore-target (a run per site)", ["--no-fork"], {}),
        ("allocfail explore --jobs 1 on explore-target (forking, the default)", [], {}),
        ("the same, scratch on disk (TMPDIR=/tmp)", [], {"TMPDIR": "/tmp"}),
    ]
    bare, rates = [], {c[0]: [] for c in confs}
    ratios = {c[0]: [] for c in confs}
    for _ in range(args.reps * 2):
        b = bare_rate()
        bare.append(b)
        for name, extra, kw in confs:
            r = explore_rate(extra, **kw)
            rates[name].append(r)
            ratios[name].append(r / b)
    med = statistics.median
    print(f"Medians of {args.reps * 2} interleaved rounds; the ratio is the median of each round's ratio.\n")
    print("| measure | runs per second | ratio to bare |")
    print("|---|---|---|")
    print(f"| bare fork+exec of explore-target (spawn-loop, pipes drained) | {med(bare):.0f} | 1.00 |")
    for name, _, _ in confs:
        q = sorted(ratios[name])
        print(f"| {name} | {med(rates[name]):.0f} | {med(q):.2f} ({q[0]:.2f}-{q[-1]:.2f}) |")
    print()
    # real programs: call sites explored per minute, with all CPUs
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        for i in range(20000):
            f.write(f"{i} line {i * 7 % 1013}\n")
        inp = f.name
    reals = []
    if os.path.exists("/usr/bin/sed"):
        reals.append(("sed -e s/1/one/g -e /9$/d over 20000 lines", ["--stdin", inp],
                      ["/usr/bin/sed", "-e", "s/1/one/g", "-e", "/9$/d"]))
    if os.path.exists("/usr/bin/python3"):
        reals.append(("python3 -c 'import json; print(json.dumps([1, 2]))'", [],
                      ["/usr/bin/python3", "-c", "import json; print(json.dumps([1, 2]))"]))
    print("| program | mode | call sites | runs | wall | sites per minute |")
    print("|---|---|---|---|---|---|")
    for name, opts, argv in reals:
        for extra in (["--no-fork"], []):
            t0 = time.perf_counter()
            subprocess.run([TOOL, "explore", "-q"] + extra + ["--json", out] + opts + ["--"] + argv,
                           env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            el = time.perf_counter() - t0
            with open(out) as f:
                doc = json.load(f)
            print(f"| {name} | {'a run per site' if extra else 'forking'} | {len(doc['sites'])} | "
                  f"{doc['runs']} | {el:.2f} s | {len(doc['sites']) / el * 60:.0f} |")
    print(f"\n({NCPU} jobs.)\n")
    os.unlink(inp)
    shutil.rmtree(d)


# docs/real-programs.md's sqlite3 script, the --mode nth figure of issue 18
NTH_SCRIPT = """CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<2000)
INSERT INTO t SELECT x, 'n'||(x%37), x*0.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT name, count(*), sum(score) FROM t GROUP BY name ORDER BY name LIMIT 10;
SELECT group_concat(id) FROM (SELECT id FROM t WHERE name='n5' ORDER BY id LIMIT 20);
"""


def nth():
    """explore --mode nth on sqlite3: every allocation failed in turn, by
    runs of their own (--no-fork) and by forking (the default), with
    --jobs 2, interleaved; wall and CPU time (children included)."""
    if not shutil.which("sqlite3"):
        print("(nth: sqlite3 is not installed)\n")
        return
    import resource
    d = tempfile.mkdtemp()
    script = os.path.join(d, "script.sql")
    with open(script, "w") as f:
        f.write(NTH_SCRIPT)
    print("### explore --mode nth on sqlite3 (--jobs 2)\n")
    print("| round | variant | runs | forked | wall | CPU (user + sys) | groups |")
    print("|---|---|---|---|---|---|---|")
    for i in range(1, max(1, args.reps // 2) + 1):
        for name, extra in (("runs of their own (--no-fork)", ["--no-fork"]), ("forking", [])):
            out = os.path.join(d, "r.json")
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([TOOL, "explore", "-q", "--mode", "nth", "--jobs", "2", "--timeout", "10"] + extra +
                           ["--json", out, "--stdin", script, "--", "sqlite3", ":memory:"],
                           env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            el = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            with open(out) as f:
                doc = json.load(f)
            print(f"| {i} | {name} | {doc['runs']} | {doc['forked']} | {el:.2f} s | {cpu:.2f} s | "
                  f"{len(doc['groups'])} |")
    print()
    shutil.rmtree(d)


header()
for w in args.what.split(","):
    {"alloc": alloc, "programs": programs, "explore": explore, "nth": nth, "instr": instr}[w]()
