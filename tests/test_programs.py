"""Programs under the shim with no rules: byte-identical output and status
to the same run without it (the distribution's tools and our own)."""
import tempfile
from aftest import *

numbers = "".join(f"{(i * 7919) % 100003}\n" for i in range(200000))


def as_without(what, argv, stdin=None):
    """argv under the shim, with either backend, prints and exits as it
    does without it."""
    base = run(argv, input=stdin)
    for label, kw in [("jemalloc", {}), ("next", {"ALLOCFAIL_BACKEND": "next"})]:
        r = run(argv, preload=True, input=stdin, **kw)
        same_run(r, base, f"{what} ({label})")
        eq(r.stderr, base.stderr, f"{what} ({label}): stderr identical")


@case
def sort_numeric():
    as_without("sort -n", [need("sort"), "-n"], numbers)


@case
def sort_unique_reversed():
    as_without("sort -u -r", [need("sort"), "-u", "-r"], numbers)


@case
def sqlite3_builds_a_table():
    as_without("sqlite3 builds a table", [need("sqlite3"), ":memory:",
        "create table t(a integer primary key, b text);"
        "with recursive c(x) as (select 1 union all select x+1 from c where x<200000) "
        "insert into t select x, printf('%08d-%s', x, hex(x*x)) from c;"
        "create index ib on t(b); select count(*), sum(length(b)), max(b) from t;"])


@case
def python3():
    as_without("python3", [need("python3"), "-c",
        "import json,collections\n"
        "d=collections.Counter(str(i%1000) for i in range(300000))\n"
        "s=json.dumps(sorted(d.items()))\n"
        "print(len(s), sum(v for v in d.values()))"])


@case
def gzip():
    as_without("gzip -9", [need("gzip"), "-9", "-c"], numbers)


@case
def cxx_containers_exceptions_threads():
    as_without("C++ containers, exceptions, threads", [prog("cxxprog")])


@case
def allocation_storm():
    as_without("8-thread allocation storm", [prog("storm"), "8", "100000"])


@case
def fork_from_threads():
    as_without("fork from a threaded process", [prog("forker")])


@case
def dlopen_dlclose_repeated():
    as_without("repeated dlopen/dlclose", [prog("dlopener"), prog("libplugin.so"), "300"])


# tar: create and list an archive in a temporary directory
@case
def tar_create_and_list():
    tar = need("tar")
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


main()
