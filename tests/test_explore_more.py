"""allocfail explore, continued from test_explore.py (run side by side):
forking, deadlocks, asserts, --status, stack overflows, JUnit, report
paths, --isolate, scratch, interrupts, budgets."""
import functools
from explore_common import *


# --fork: the same findings as runs of their own, the handled sites done by
# children of one run (their outcomes equal), the input offset restored
@case
def fork_demo():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "f.json")
        explore("--fork", "--timeout", "1", "--json", js, "--", DEMO)
        doc = json.loads(open(js).read())
        eq(findings(doc), planted, "--fork: each planted bug at its injection site, and nothing else")
        check(doc["forked"] >= 3, "--fork: the handled sites ran as children", doc["forked"])


# a child's stdout is hashed by the forking run and its file removed: the
# scratch holds no child's output, however many sites there are
@case
def fork_children_kept_scratch():
    with tempfile.TemporaryDirectory() as d:
        r = tool("explore", "-q", "--keep", "--fork", "--jobs", "2", "--timeout", "1", "--", DEMO,
                 timeout=300, TMPDIR=d)
        kept = re.search(r"the runs' logs are in (\S+)", r.stderr.decode()).group(1)
        drivers = sorted(x for x in os.listdir(kept) if x.startswith("fork-"))
        results = [json.loads(l) for x in drivers for l in open(os.path.join(kept, x, "results"))]
        results = [x for x in results if "not_forked" not in x]  # the children's lines
        check(results and all(re.fullmatch(r"[0-9a-f]{16}", x["out_hash"]) for x in results),
              "--fork: each child's stdout is recorded as a hash", results)
        eq([f for x in drivers for f in os.listdir(os.path.join(kept, x)) if re.fullmatch(r"\d+\.out", f)],
           [], "--fork: and no child's stdout file is left")
        # with --jobs N, the sites are dealt to up to N forking runs (4 sites
        # each at least): the demo's 8 sites, two runs of 4 with --jobs 2
        eq(drivers, ["fork-1", "fork-2"], "--fork --jobs 2: two forking runs")
        sites_of = [open(os.path.join(kept, x, "sites")).read().split() for x in drivers]
        eq([len(v) for v in sites_of], [4, 4], "--fork: four sites each")
        eq(len(set(sites_of[0]) | set(sites_of[1])), 8, "--fork: eight sites between them")


# --fork on a program that reads its input (--stdin): the offset is
# restored for each child, so every outcome is as with runs of their own
@case
def fork_sed():
    sed = need("sed")
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "f.json")
        inp = os.path.join(d, "in")
        with open(inp, "w") as f:
            f.write("".join(f"{i} line {i * 7 % 1013}\n" for i in range(5000)))
        outcomes = []
        for extra in ([], ["--fork"]):
            explore(*extra, "--stdin", inp, "--json", js, "--", sed, "-e", "s/1/one/g", "-e", "/9$/d")
            doc = json.loads(open(js).read())
            outcomes.append(sorted((x["site"], tuple(x["chain"] or []), x["outcome"], x["detail"])
                                   for x in doc["sites"]))
        check(doc["forked"] > 0, "--fork on sed: some sites ran as children", doc["forked"])
        eq(outcomes[1], outcomes[0], "--fork on sed: every site's outcome as with runs of their own")


@case
def fork_with_isolate_refused():
    r = explore("--fork", "--isolate", "--", DEMO)
    eq(r.returncode, 2, "--fork with --isolate: status 2")


# two runs without injection: two references, or (--fork) one and the
# forking run when their outputs agree; a second reference when not
@case
def nondeterministic_output():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "f.json")
        for extra in ([], ["--fork"]):
            explore(*extra, "--timeout", "1", "--json", js, "--", DEMO)
            doc = json.loads(open(js).read())
            eq(doc["nondeterministic"], False, f"explore {' '.join(extra)}: the demo's output is stable")
            explore(*extra, "--json", js, "--", "/bin/sh", "-c", "echo $$")
            doc = json.loads(open(js).read())
            eq(doc["nondeterministic"], True, f"explore {' '.join(extra)}: a pid in the output is not stable")
            eq(doc["forked"], 0, f"explore {' '.join(extra)}: nothing forked when the output differs")


# --fork: a child that waits for good on a lock held when the shim forked
# (one thread, a private futex wait without a timeout) is killed at once,
# not after --timeout, and its site is run on its own, which decides; with
# a 10-minute timeout this would not finish within the test's limit
@case
def fork_child_deadlocked():
    r = tool("explore", "-q", "--fork", "--timeout", "600", "--json", "-", "--", prog("lockfork"),
             timeout=120)
    doc = json.loads(r.stdout)
    eq([(s["outcome"], s["detail"]) for s in doc["sites"] if "out of memory" in (s["detail"] or "")],
       [("handled", "exit 1: lockfork: out of memory (1)")],
       "--fork: a child deadlocked on a copied lock: its site decided by a run of its own")
    eq(doc["forked"], 0, "--fork: the deadlocked child's result is not used")


# the program's own atfork handler takes a lock held across the allocation
# (perl's PerlIO mutex): the shim forks without running the handlers, or
# the forking run itself would wait for good
@case
def fork_under_atfork_lock():
    r = tool("explore", "-q", "--fork", "--timeout", "600", "--json", "-", "--", prog("lockfork"), "atfork",
             timeout=120)
    doc = json.loads(r.stdout)
    eq([(s["outcome"], s["detail"]) for s in doc["sites"] if s["function"] == "main" and
        "out of memory" in (s["detail"] or "")], [("handled", "exit 1: lockfork: out of memory")],
       "--fork under the program's atfork lock: the failure handled")
    eq(doc["forked"], 1, "--fork under the program's atfork lock: by a forked child")


# a run of its own that deadlocks on its error path is a hang at once, not
# after --timeout; one whose signal handler could end the wait (a SIGALRM
# watchdog, here after a second) is left to end it
@case
def deadlock_on_error_path():
    for mode, expect in [
            ("self", ("hang", "deadlocked: its one thread waits for good on a lock (a futex wait "
                              "without a timeout, no signal handler to end it); the process group "
                              "was killed")),
            ("watchdog", ("handled", "exit 3: lockfork: stuck, giving up"))]:
        r = tool("explore", "-q", "--timeout", "600", "--json", "-", "--", prog("lockfork"), mode,
                 timeout=120)
        doc = json.loads(r.stdout)
        eq([(s["outcome"], s["detail"]) for s in doc["sites"] if s["outcome"] != "handled" or
            "exit 0" not in s["detail"]], [expect], f"lockfork {mode}: the failure's outcome")


# a command that deadlocks on its own: sites and explore say so at once
@case
def command_deadlocks():
    r = tool("sites", "--", prog("lockfork"), "stuck", timeout=120)
    check(r.returncode == 0 and b"sites: the command deadlocked (its one thread waits for good on a "
          b"lock) and was killed; the census is partial" in r.stderr, "sites: a deadlocked command",
          r.stderr)
    r = tool("explore", "-q", "--", prog("lockfork"), "stuck", timeout=120)
    eq((r.returncode, r.stderr.decode()),
       (2, "allocfail: explore: the reference run (no injection) already fails: it deadlocked (its "
           "one thread waits for good on a lock) (explore needs a command that succeeds on its own)\n"),
       "explore: a reference run that deadlocks")


# a failed assert() is an assert (a bug); a deliberate abort after a message is an abort
@case
def assert_or_abort():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "a.json")
        explore("--depth", "0", "--json", js, "--", prog("asserts"))
        got = sorted((f["class"], f["injection_stack"][0]["function"], f["detail"].split(":")[0])
                     for f in json.loads(open(js).read())["findings"])
        eq(got, [("abort", "xmalloc", "SIGABRT after"),
                 ("assert", "checked", "SIGABRT")],
           "asserts: a failed assertion is an assert, xmalloc's abort an abort")


# --status N: a command whose normal result is exit status N (diff's 1)
differ = prog("differ")


@functools.lru_cache(maxsize=None)
def explore_status_1(*extra):
    return explore("--status", "1", *extra, "--json", "-", "--", differ)


@case
def status():
    for extra in ([], ["--fork"]):
        r = explore_status_1(*extra)
        doc = json.loads(r.stdout)
        eq(r.returncode, 1, f"--status 1 {extra}: bugs found")
        eq(doc["reference_status"], 1, f"--status 1 {extra}: the report's reference status")
        if extra:
            eq(doc["forked"], 1, "--status 1 --fork: pair_buf's failure ran as a forked child")
        got = sorted((s["function"], s["outcome"], s["detail"]) for s in doc["sites"]
                     if s["function"] in ("pair_buf", "line_copy", "verdict"))
        eq(got, [("line_copy", "silent", "exit 1, but stdout differs from the reference (17 bytes, not 32)"),
                 ("pair_buf", "handled", "exit 2: differ: out of memory"),
                 ("verdict", "silent", "exit 0, where the reference exits 1")],
           f"--status 1 {extra}: another status handled, status 1 with less output and "
           "exit 0 both silent")


# merge: shards explored with other --status values are not one report
@case
def merge_status_must_agree():
    with tempfile.TemporaryDirectory() as shards:
        with open(os.path.join(shards, "s0.json"), "wb") as f:
            f.write(explore_status_1().stdout)
        with open(os.path.join(shards, "s0.json")) as f:
            s2 = json.load(f)
        s2["shard"], s2["reference_status"] = [2, 2], 0
        with open(os.path.join(shards, "s2.json"), "w") as f:
            json.dump(s2, f)
        m = tool("merge", os.path.join(shards, "s0.json"), os.path.join(shards, "s2.json"))
        eq((m.returncode, m.stderr.decode()),
           (2, f"allocfail: merge: '{shards}/s2.json' differs in --status\n"), "merge: --status must agree")


# a reference run whose status is not the one expected: one line that says so
@case
def status_of_reference():
    r = explore("--", differ)
    eq((r.returncode, r.stderr.decode()),
       (2, "allocfail: explore: the reference run (no injection) already fails: exit status 1 "
           "(explore needs a command that succeeds on its own; --status 1 if that is its normal "
           "result)\n"), "a reference that exits 1: the message names --status 1")
    r = explore("--status", "3", "--", differ)
    eq((r.returncode, r.stderr.decode()),
       (2, "allocfail: explore: the reference run (no injection) exits 1, not 3 as --status says\n"),
       "a reference with another status than --status")
    r = explore("--status", "1", "--", prog("census"))
    eq((r.returncode, r.stderr.decode()),
       (2, "allocfail: explore: the reference run (no injection) exits 0, not 1 as --status says\n"),
       "a reference that succeeds, with --status 1")


# a stack overflow is said to be one, at the program's frame, also when
# the shim's walk of the stack took its last bytes
@case
def stack_overflow():
    r = explore("--mode", "every", "--depth", "0", "--json", "-", "--", prog("crashy"), "deepalloc")
    got = [(f["class"], f["injection_stack"][0]["function"], f["crash_site"], f["detail"])
           for f in json.loads(r.stdout)["findings"]]
    check(len(got) == 1 and got[0][:2] == ("crash", "deep_alloc") and got[0][2].startswith("crashy+0x") and
          re.match(r"stack overflow \(SIGSEGV\) in deep_alloc \(progs/crashy.c:\d+\)", got[0][3]),
          "deepalloc: a stack overflow at deep_alloc", got)


# one call site making most allocations: the table says that only its
# first hit was failed
@case
def dominant_call_site():
    r = explore("--", prog("trig"), "200")
    check(re.search(r"note: trig\+0x[0-9a-f]+ makes 200 of the 2\d\d allocations in scope; only its first",
                    r.stdout.decode()), "a dominant call site gets a note", r.stdout)


# two bugs at one injection site: JUnit fails each of them
@case
def two_bugs_one_site():
    with tempfile.TemporaryDirectory() as d:
        ju = os.path.join(d, "t.xml")
        r = explore("--mode", "nth", "--jobs", "1", "--json", "-", "--junit", ju, "--", prog("twocrash"))
        doc = json.loads(r.stdout)  # the report alone on stdout; the table went to stderr
        crashes = sorted(f["crash_stack"][0]["function"] for f in doc["findings"] if f["class"] == "crash")
        eq(crashes, ["first", "second"], "twocrash: two crash findings at make's call site")
        check("CLASS" in r.stderr.decode(), "--json -: the table goes to stderr", r.stderr)
        check("\n2 findings from 1 call site, 2 bugs\n"
              in r.stderr.decode(), "twocrash: the last line says the two findings share a site",
              r.stderr[-300:])
        root = ET.parse(ju).getroot()
        fails = root.findall(".//failure")
        eq(len(fails), 2, "JUnit: a failure per bug, two at one site")
        eq(root.get("failures"), "2", "JUnit: the count says so")


# report paths are checked before any run
@case
def report_paths_checked_first():
    r = explore("--json", "/nonexistent/dir/r.json", "--", DEMO)
    eq(r.returncode, 2, "--json in a missing directory: status 2 before any run")
    check(b"cannot write" in r.stderr and b"CLASS" not in r.stdout, "with one line", r.stderr)
    r = explore("--json", "-", "--sarif", "-", "--", DEMO)
    eq(r.returncode, 2, "two reports on stdout: status 2")


# merge refuses a shard twice
@case
def merge_same_shard_twice():
    with tempfile.TemporaryDirectory() as d:
        p1 = os.path.join(d, "s1.json")
        explore("--timeout", "1", "--shard", "1/2", "--json", p1, "--", DEMO)
        m = tool("merge", p1, p1)
        eq(m.returncode, 2, "merge of the same shard twice: status 2")
        eq(m.stderr.decode().strip(), f"allocfail: merge: '{p1}' is a shard already read (the same K)",
           "merge: says which report repeats")


# --isolate: runs that write into their working directory do not collide
@case
def isolate_runs_apart():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "i.json")
        explore("--isolate", "--jobs", "4", "--json", js, "--", prog("lockfile"), cwd=d)
        doc = json.loads(open(js).read())
        eq(doc["findings"], [], "--isolate: no spurious findings")
        check(all("lockfile.tmp" not in (s["detail"] or "") for s in doc["sites"]),
              "--isolate: no run saw another's file", [s["detail"] for s in doc["sites"]])
        eq(os.listdir(d), ["i.json"], "--isolate: nothing is left in the directory")


# --isolate: the files a run leaves are compared with the reference runs'
# (stamp.txt, with the process id, differs between them and judges nothing)
@case
def isolate_compares_files():
    r = explore("--isolate", "--depth", "0", "--json", "-", "--", prog("writer"))
    doc = json.loads(r.stdout)
    eq(r.returncode, 1, "writer --isolate: bugs found")
    prefix = "exit 0 with the reference output, but the files it left differ: "
    with open(os.path.join(SRC, "tests", "progs", "writer.c")) as f:
        mallocs = {i + 1 for i, l in enumerate(f.read().splitlines()) if "= malloc(" in l}
    eq(len(mallocs), 4, "writer.c: four planted mallocs")
    got = sorted((s["function"], s["outcome"], s["detail"]) for s in doc["sites"] if s["line"] in mallocs)
    eq(got, [("index_buf", "silent", prefix + "index.txt is missing"),
             ("line_copy", "silent", prefix + "out.txt differs (23 bytes, not 31)"),
             ("note_buf", "silent", prefix + "error.log is new"),
             ("out_buf", "handled", "exit 1: writer: out of memory")],
       "writer --isolate: a file short, one missing, one new: silent; the error handled")
    check(all("stamp.txt" not in (s["detail"] or "") for s in doc["sites"]),
          "writer --isolate: a file that differs between clean runs judges nothing",
          [s["detail"] for s in doc["sites"]])


# names that change from run to run (tmp.PID, and a link to it) judge no
# new or missing file
@case
def isolate_names_by_pid():
    r = explore("--isolate", "--json", "-", "--", "sh", "-c",
                "echo x > tmp.$$; mkdir -p d; ln -sf tmp.$$ d/link; echo done")
    doc = json.loads(r.stdout)
    check(doc["sites"] and all("files it left" not in (s["detail"] or "") for s in doc["sites"]),
          "--isolate: files named by the process id are not compared",
          [s["detail"] for s in doc["sites"]])


# without --isolate the files a run leaves are not compared
@case
def files_not_compared_without_isolate():
    with tempfile.TemporaryDirectory() as d:
        r = explore("--depth", "0", "--json", "-", "--", prog("writer"), cwd=d)
        eq(sorted({s["outcome"] for s in json.loads(r.stdout)["sites"]}), ["handled"],
           "writer without --isolate: files are not compared")


# --isolate with a command named relative to the current directory; the
# reproducers run it by its full path in a new empty directory
@case
def isolate_relative_command():
    with tempfile.TemporaryDirectory() as d:
        rel = os.path.relpath(DEMO, BUILD)
        r = explore("--isolate", "--timeout", "1", "--json", "-", "--", rel, cwd=BUILD)
        doc = json.loads(r.stdout)
        eq(findings(doc), planted, "--isolate, a relative command: the planted bugs")
        for f in doc["findings"]:
            cmd = f["reproducer"]
            check(cmd.startswith('(cd "$(mktemp -d)" && ') and f" -- {DEMO})" in cmd,
                  "--isolate: the reproducer runs the full path in an empty directory", cmd)
            p = shell_group(cmd, 10, env=dict(clean_env(), TMPDIR=d))
            eq(p.returncode, {"crash": 139, "abort": 134, "hang": 124, "silent": 0}[f["class"]],
               f"--isolate: the reproducer of the {f['class']} finding reproduces it (from elsewhere)")


# where the runs' files go: $TMPDIR when set; else a tmpfs with room (they
# are small, and creating files on a disk costs more than a short run);
# --isolate keeps the program's own files off memory
def tmpfs_with_room(path):
    if not path or not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        return False
    kind = subprocess.run(["stat", "-f", "-c", "%t", path], stdout=subprocess.PIPE).stdout.strip()
    st = os.statvfs(path)
    return kind == b"1021994" and st.f_bavail * st.f_bsize >= 256 << 20


def logs_dir(*args, **env):
    r = tool("explore", "-q", "--keep", "--jobs", "1", *args, "--", prog("census"), timeout=300, **env)
    m = re.search(r"the runs' logs are in (\S+)", r.stderr.decode())
    if m:
        subprocess.run(["rm", "-rf", m.group(1)])
    return os.path.dirname(m.group(1)) if m else r.stderr


@case
def scratch_where():
    with tempfile.TemporaryDirectory() as d:
        eq(logs_dir(TMPDIR=d), d, "scratch: $TMPDIR is used when set")
        eq(logs_dir(TMPDIR=d, XDG_RUNTIME_DIR="/dev/shm"), d, "scratch: $TMPDIR wins over a tmpfs")
        want = "/dev/shm" if tmpfs_with_room("/dev/shm") else "/tmp"
        eq(logs_dir(TMPDIR=None, XDG_RUNTIME_DIR=d), want,
           f"scratch: without $TMPDIR, {want} (XDG_RUNTIME_DIR={d} is not a tmpfs)")
        eq(logs_dir("--isolate", TMPDIR=None, XDG_RUNTIME_DIR=None), "/tmp",
           "scratch: --isolate stays on /tmp")


# a relative TMPDIR: the runs (in directories of their own with --isolate)
# still find their logs
@case
def scratch_relative_tmpdir():
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "rel"))
        r = tool("explore", "-q", "--isolate", "--json", "-", "--", prog("census"), TMPDIR="rel", cwd=d,
                 timeout=300)
        eq((r.returncode, sorted({s["outcome"] for s in json.loads(r.stdout or b"{}").get("sites", [])})),
           (0, ["handled"]), "scratch: a relative TMPDIR with --isolate")


@case
def scratch_missing_tmpdir():
    with tempfile.TemporaryDirectory() as d:
        r = tool("explore", "-q", "--", prog("census"), TMPDIR=os.path.join(d, "missing"))
        eq((r.returncode, r.stderr.decode()),
           (125, f"allocfail: explore: cannot create a temporary directory in {d}/missing: "
                 "No such file or directory\n"), "scratch: a $TMPDIR that is missing: status 125, one line")


# SIGINT ends explore at once: the run in flight (the demo's hang, under a
# 10-minute timeout) is killed, not waited for, and left out of the report;
# by default that run is the forking run, whose children all go with it (a
# forking run that did not end as the reference did vouches for none)
@case
def sigint():
    for extra in (["--no-fork"], []):
        with tempfile.TemporaryDirectory() as d:
            js = os.path.join(d, "int.json")
            p = subprocess.Popen([TOOL, "explore", "-q", *extra, "--timeout", "600", "--jobs", "1",
                                  "--json", js, "--", DEMO],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
            time.sleep(3)  # the other sites take milliseconds: the hang is in flight
            eq(p.poll(), None, f"SIGINT {extra}: explore is still running, waiting on the hang")
            p.send_signal(signal.SIGINT)
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            check(b"explore: interrupted; the report covers the runs that finished" in err,
                  f"SIGINT {extra}: explore stops within a minute, and says so", err[-300:])
            sites = json.loads(open(js).read())["sites"] if os.path.exists(js) else None
            check(sites is not None and "total_label" not in [s["function"] for s in sites] and
                  len(sites) >= (3 if extra else 0),
                  f"SIGINT {extra}: the report has the runs that finished, not the one cut short", sites)


# --budget N: N runs, the forking run and each child among them, and the
# summary line says what was left out. Forking, the first two sites are
# listed: the first child handles its failure, the second does not and its
# run of its own decides (a child set aside is not counted as a run)
@case
def budget():
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "b.json")
        for extra, sites, forked in [(["--no-fork"], 3, 0), ([], 2, 1)]:
            r = explore("--budget", "3", *extra, "--jobs", "1", "--timeout", "1", "--json", js, "--", DEMO)
            doc = json.loads(open(js).read())
            eq((len(doc["sites"]), doc["forked"], doc["runs"] - (1 if extra == [] else 2)), (sites, forked, 3),
               f"--budget 3 {extra}: three runs besides the references, {sites} sites")
            summary = r.stdout.decode().splitlines()[0]
            check(doc["unexplored"] > 0 and
                  f"; the budget ran out with {doc['unexplored']} call sites unexplored)" in summary,
                  f"--budget 3 {extra}: the summary line says what is left", summary)


# bad input: a clear message and status 2
@case
def bad_input():
    for args, msg in [
        (["--bogus", "--", DEMO], "explore: unknown option '--bogus'"),
        (["--", "/nonexistent/program"], "explore: cannot run '/nonexistent/program'"),
        (["--mode", "sometimes", "--", DEMO], "explore: --mode 'sometimes': expected first, every or nth"),
        (["--shard", "3/2", "--", DEMO], "explore: --shard '3/2': expected K/N with 1 <= K <= N"),
        (["--shard", "1/2x", "--", DEMO], "explore: --shard '1/2x': expected K/N with 1 <= K <= N"),
        (["--jobs", "2x", "--", DEMO], "explore: --jobs '2x': expected a number from 1 to 1024"),
        (["--status", "126", "--", DEMO], "explore: --status '126': expected a number from 0 to 125"),
        (["--timeout", "soon", "--", DEMO],
         "explore: --timeout 'soon': expected a duration in seconds (e.g. 10, 2.5, 500ms)"),
        (["--scope", "nomatch*", "--", DEMO],
         "explore: --scope 'nomatch*' matches no module that allocates in the reference run "
         "(those are: allocfail-demo)"),
        (["--", "sh", "-c", "echo failing >&2; exit 3"],
         "explore: the reference run (no injection) already fails: exit status 3: failing"),
        ([], "explore: no command given"),
    ]:
        r = explore(*args)
        eq(r.returncode, 2, f"{args}: status 2")
        eq(len(r.stderr.splitlines()), 1, f"{args}: one line")
        check(r.stderr.decode().startswith("allocfail: " + msg), f"{args}: says what is wrong", r.stderr)
        eq(r.stdout, b"", f"{args}: no report")


@case
def bad_input_sites_report():
    for args, msg in [
        (["sites", "--timeout", "abc", "--", DEMO],
         "sites: --timeout 'abc': expected a duration in seconds (e.g. 10, 2.5, 500ms)"),
        (["report", "--frames", "3x", "log"], "report: --frames '3x': expected a number from 1 to 1000"),
    ]:
        r = tool(*args)
        eq((r.returncode, r.stderr.decode()), (2, "allocfail: " + msg + "\n"), f"{args}: status 2, one line")


main()
