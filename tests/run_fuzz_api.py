"""The fail-nth fuzz harness example: run it under the shim for a bounded
time (0: replay the corpus once); it must not crash, and it must have
injected failures."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from aftest import *

target, corpus, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
with tempfile.TemporaryDirectory() as d:
    work = os.path.join(d, "corpus")
    os.mkdir(work)
    for f in os.listdir(corpus):  # prefix each seed with an n byte
        with open(os.path.join(corpus, f), "rb") as a:
            text = a.read()
        for n in (0, 1, 2, 5):
            with open(os.path.join(work, f"{f}-{n}"), "wb") as b:
                b.write(bytes([n]) + text)
    limit = f"-max_total_time={seconds}" if seconds != "0" else "-runs=0"
    r = run([target, limit, "-timeout=10", f"-artifact_prefix={d}/", work],
            preload=True, timeout=int(seconds) + 60)
    err = r.stderr.decode(errors="replace")
    print(err[-2500:])
    eq(r.returncode, 0, "the harness ran to its time limit without a finding")
    m = re.search(r"fuzz_api_example: (\d+) allocation failures injected", err)
    least = 100 if seconds != "0" else 1
    check(m and int(m.group(1)) >= least, "allocfail_fail_nth injected failures", m and m.group(0))
done()
