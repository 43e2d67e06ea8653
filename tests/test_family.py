"""Every malloc-family function behaves as glibc documents, under both
backends and without the shim."""
from aftest import *

for label, kw in [("no shim", {}), ("jemalloc", {"preload": True}),
                  ("next", {"preload": True, "ALLOCFAIL_BACKEND": "next"})]:
    r = run([prog("family")], **kw)
    out = r.stdout.decode()
    eq(r.returncode, 0, f"family checks pass ({label})")
    check("0 failed" in out, f"family reports no failed check ({label})", out)
    eq(r.stderr, b"", f"nothing on stderr ({label})")
    if label != "no shim":
        check("cfree present" in out, f"cfree is exported ({label})", out)
    # the shim's thread-local storage is small: a 64 KiB thread stack works,
    # with nothing configured and with rules and a log
    for extra in ({}, {"ALLOCFAIL_RULE": "fail caller=no_such_fn", "ALLOCFAIL_LOG": "/dev/null"}):
        r = run([prog("smallstack")], **kw, **extra)
        eq((r.returncode, r.stdout), (0, b"create: ok\n"),
           f"a thread with a 64 KiB stack ({label}{', rules' if extra else ''})")
done()
