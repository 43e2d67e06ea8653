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
done()
