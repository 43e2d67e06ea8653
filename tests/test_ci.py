"""docs/ci.md: its workflow files parse, split the work four ways, and
their allocfail command lines, run as the CI would run them (four shards,
then the merge) against the bundled demo, give the demo's findings, the
SARIF and the JUnit report; a baseline of them turns the failure off.

tests/meson.build runs the cases github and gitlab as two meson tests,
so that the two (each waits on the demo's hang) run side by side."""
import functools
import re
import tempfile
import xml.etree.ElementTree as ET
from aftest import *

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed")
    sys.exit(77)


@functools.lru_cache(None)
def workflows():
    """docs/ci.md's YAML blocks, by the file name each opens with."""
    text = open(os.path.join(SRC, "docs", "ci.md")).read()
    files = {}
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        files[block.split("\n", 1)[0].lstrip("# ").strip()] = yaml.safe_load(block)
    return files


def gh():
    return workflows()[".github/workflows/allocfail.yml"]


def gl():
    return workflows()[".gitlab-ci.yml"]


@case
def workflow_files():
    eq(sorted(workflows()), [".github/workflows/allocfail.yml", ".gitlab-ci.yml"], "both workflow files")
    eq(gh()["jobs"]["explore"]["strategy"]["matrix"]["shard"], [1, 2, 3, 4], "GitHub: a matrix of 4 shards")
    eq(gh()["jobs"]["report"]["needs"], "explore", "GitHub: the report job after the shards")
    eq(gl()["allocfail-explore"]["parallel"], 4, "GitLab: 4 parallel shards")
    eq(gl()["allocfail-report"]["artifacts"]["reports"]["junit"], "allocfail.xml", "GitLab: JUnit report")
    uses = [s.get("uses", "") for s in gh()["jobs"]["report"]["steps"]]
    check(any(u.startswith("github/codeql-action/upload-sarif") for u in uses), "GitHub: SARIF uploaded")


def lines(scripts):
    """The allocfail command lines of a job's shell scripts."""
    out = []
    for s in scripts:
        out += [l.strip() for l in s.split("\n") if l.strip().startswith("allocfail ")]
    return out


def gh_lines(job):
    return lines(s["run"] for s in gh()["jobs"][job]["steps"] if "run" in s)


# the demo's planted bugs, one group each (test_explore.py finds each at
# its site)
expected = ["abort", "crash", "hang", "silent"]


def ci(name, explore, merge, node_env):
    """Runs a workflow's explore line as its four shards, side by side as
    CI runs them, then its merge line, in a directory of their own."""
    with tempfile.TemporaryDirectory(prefix="af-ci-") as tmp:
        # the demo as a one-test suite, built in the suite's tree
        shutil.copy(os.path.join(BUILD, "demo", "allocfail-demo"), tmp)
        with open(os.path.join(tmp, "tests.txt"), "w") as f:
            f.write("./allocfail-demo\n")
        base_env = clean_env(PATH=os.path.join(BUILD, "tools") + ":" + os.environ["PATH"],
                             AF_TESTS=os.path.join(tmp, "tests.txt"))

        def sh(cmd, cwd):
            return subprocess.run(["/bin/sh", "-c", cmd], cwd=cwd, env=base_env, capture_output=True,
                                  timeout=300)

        d = os.path.join(tmp, name)
        os.mkdir(d)
        eq(len(explore), 1, "one explore line")
        eq(len(merge), 1, "one merge line")
        jobs = []
        for k in (1, 2, 3, 4):
            cmd, extra = node_env(explore[0], k)
            jobs.append(subprocess.Popen(["/bin/sh", "-c", cmd], cwd=d, env=dict(base_env, **extra),
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for k, p in enumerate(jobs, 1):
            p.communicate(timeout=300)
            eq(p.returncode, 0, f"shard {k} of 4 succeeds (its bugs are the merge's)")
        r = sh(merge[0], d)
        eq(r.returncode, 1, "the merge fails on the demo's bugs")
        doc = json.load(open(os.path.join(d, "allocfail.json")))
        eq(sorted(g["class"] for g in doc["groups"]), sorted(expected), "the demo's findings")
        sarif = json.load(open(os.path.join(d, "allocfail.sarif")))
        check(len(sarif["runs"][0]["results"]) >= 4, "SARIF results", sarif["runs"][0])
        junit = ET.parse(os.path.join(d, "allocfail.xml")).getroot()
        check(any(True for _ in junit.iter("failure")), "JUnit failures")
        # with a baseline of them all the merge passes
        r = sh("allocfail merge --write-baseline allocfail.baseline allocfail-*.json", d)
        r = sh(merge[0], d)
        eq(r.returncode, 0, "with allocfail.baseline, no new bug")


@case
def github():
    ci("github", gh_lines("explore"), gh_lines("report"),
       lambda cmd, k: (cmd.replace("${{ matrix.shard }}", str(k)), {}))


@case
def gitlab():
    ci("gitlab", lines(gl()["allocfail-explore"]["script"]), lines(gl()["allocfail-report"]["script"]),
       lambda cmd, k: (cmd, {"CI_NODE_INDEX": str(k), "CI_NODE_TOTAL": "4"}))


main()
