"""Run a libFuzzer target for a bounded time on a copy of its corpus (so
the source tree is not written), seeded with the policies as well (none
when the policies are given as "-"); with 0 seconds, replay the corpus once
(the default suite's check)."""
import os
import shutil
import subprocess
import sys
import tempfile

target, corpus, policies, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
with tempfile.TemporaryDirectory() as d:
    work = os.path.join(d, "corpus")
    shutil.copytree(corpus, work)
    for f in os.listdir(policies) if policies != "-" else []:
        if f.endswith(".rules"):
            with open(os.path.join(policies, f), "rb") as src:
                text = src.read().replace(b"include ", b"# include ")
            with open(os.path.join(work, "policy-" + f), "wb") as dst:
                dst.write(text)
    limit = f"-max_total_time={seconds}" if seconds != "0" else "-runs=0"
    r = subprocess.run([target, limit, "-timeout=10", "-rss_limit_mb=2048",
                        f"-artifact_prefix={d}/", "-print_final_stats=1", work],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode(errors="replace")
    print(out[-3000:])
    for f in os.listdir(d):
        if f.startswith(("crash-", "leak-", "timeout-", "oom-")):
            with open(os.path.join(d, f), "rb") as a:
                print(f"artifact {f}: {a.read()!r}")
    print("ok 1 - the fuzzer found nothing" if r.returncode == 0 else "not ok 1 - the fuzzer failed")
    sys.exit(0 if r.returncode == 0 else 1)
