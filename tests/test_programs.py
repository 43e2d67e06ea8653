"""Programs under the shim with no rules: byte-identical output and status
to the same run without it (the distribution's tools and our own)."""
import tempfile
from aftest import *

sort, sqlite3, python3, gzip, tar = need("sort", "sqlite3", "python3", "gzip", "tar")

numbers = "".join(f"{(i * 7919) % 100003}\n" for i in range(200000))
cases = [
    ("sort -n", [sort, "-n"], numbers),
    ("sort -u -k1,1r", [sort, "-u", "-r"], numbers),
    ("sqlite3 builds a table", [sqlite3, ":memory:",
        "create table t(a integer primary key, b text);"
        "with recursive c(x) as (select 1 union all select x+1 from c where x<200000) "
        "insert into t select x, printf('%08d-%s', x, hex(x*x)) from c;"
        "create index ib on t(b); select count(*), sum(length(b)), max(b) from t;"], None),
    ("python3", [python3, "-c",
        "import json,collections\n"
        "d=collections.Counter(str(i%1000) for i in range(300000))\n"
        "s=json.dumps(sorted(d.items()))\n"
        "print(len(s), sum(v for v in d.values()))"], None),
    ("gzip -9", [gzip, "-9", "-c"], numbers),
    ("C++ containers, exceptions, threads", [prog("cxxprog")], None),
    ("8-thread allocation storm", [prog("storm"), "8", "100000"], None),
    ("fork from a threaded process", [prog("forker")], None),
    ("repeated dlopen/dlclose", [prog("dlopener"), prog("libplugin.so"), "300"], None),
]
for what, argv, stdin in cases:
    base = run(argv, input=stdin)
    for label, kw in [("jemalloc", {}), ("next", {"ALLOCFAIL_BACKEND": "next"})]:
        r = run(argv, preload=True, input=stdin, **kw)
        same_run(r, base, f"{what} ({label})")
        eq(r.stderr, base.stderr, f"{what} ({label}): stderr identical")

# tar: create and list an archive in a temporary directory
with tempfile.TemporaryDirectory() as d:
    for i in range(50):
        with open(os.path.join(d, f"f{i}"), "w") as f:
            f.write("x" * (i * 100))
    base = run([tar, "-C", d, "-cf", "-", "--sort=name", "--mtime=2020-01-01",
                "--owner=0", "--group=0", "."])
    r = run([tar, "-C", d, "-cf", "-", "--sort=name", "--mtime=2020-01-01",
             "--owner=0", "--group=0", "."], preload=True)
    same_run(r, base, "tar -c")
    lst = run([tar, "-tvf", "-"], input=base.stdout)
    lst2 = run([tar, "-tvf", "-"], input=base.stdout, preload=True)
    same_run(lst2, lst, "tar -t")
done()
