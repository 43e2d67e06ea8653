"""Each ready-made policy does what its comment promises."""
import re
import tempfile
from aftest import *

POL = os.path.join(SRC, "policies")


def churn(policy, *extra, log=None):
    args = ["--rules", os.path.join(POL, policy)] + list(extra)
    if log:
        args += ["--log", log]
    r = tool("run", *args, "--", prog("churn"), "10000", "1000")
    m = re.match(r"small (\d+)/\d+ costly (\d+)/\d+ runtime (\d+)/400", r.stdout.decode())
    if not check(r.returncode == 0 and m, f"{policy}: churn runs", r.stdout + r.stderr):
        return None
    return tuple(int(x) for x in m.groups())


@case
def every_policy_checks():
    for f in sorted(os.listdir(POL)):
        if f.endswith(".rules"):
            r = tool("check", os.path.join(POL, f))
            eq(r.returncode, 0, f"allocfail check {f}")


@case
def kernel_rules():
    res = churn("kernel.rules", "--seed", "1")
    if res:
        eq(res[0], 0, "kernel.rules: no small request fails")
        check(60 <= res[1] <= 140, "kernel.rules: about one costly request in ten fails", res)
        eq(res[2], 0, "kernel.rules: strdup and fopen (small) never fail")


@case
def anysize_rules():
    res = churn("anysize.rules", "--seed", "1")
    if res:
        check(50 <= res[0] <= 150, "anysize.rules: about 1% of small requests fail", res)
        check(1 <= res[1] <= 30, "anysize.rules: about 1% of costly requests fail", res)


@case
def own_code_rules():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log")
        res = churn("own-code.rules", "--seed", "3", log=log)
        entries = injections(log)
        check(len(entries) > 100, "own-code.rules: failures are injected", len(entries))
        runtime_sites = [e["site"] for e in entries
                         if re.match(r"(libc\.so|ld-linux|libstdc\+\+|libgcc_s|libm\.so)", e["site"])]
        eq(runtime_sites, [], "own-code.rules: no injection has its call site in the C runtime")
        check(res and res[2] > 0, "own-code.rules: strdup/fopen called by the program may fail", res)


@case
def ci_smoke_rules():
    with tempfile.TemporaryDirectory() as d:
        logs = []
        for i in range(2):
            log = os.path.join(d, f"log{i}")
            churn("ci-smoke.rules", log=log)
            logs.append([(e["fn"], e["size"], e["site"]) for e in injections(log)])
        check(len(logs[0]) > 0, "ci-smoke.rules: some failures are injected", len(logs[0]))
        eq(logs[1], logs[0], "ci-smoke.rules: the same failures on every run (fixed seed)")


main()
