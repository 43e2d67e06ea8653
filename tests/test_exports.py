"""Nothing but the malloc family and the public API leaves the shim: the
dynamic symbol table equals the version script's list; and the shim
brings no library but libc into a process."""
import re
import subprocess
from aftest import *

nm = need("nm")


def listed():
    """The global symbols of the version script, sorted."""
    with open(os.path.join(SRC, "shim", "liballocfail.map")) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    glob = text.split("global:")[1].split("local:")[0]
    return sorted(s.strip() for s in glob.split(";") if s.strip())


@case
def exports_the_version_script():
    out = subprocess.run([nm, "-D", "--defined-only", SHIM], stdout=subprocess.PIPE, check=True)
    exported = sorted(line.split()[-1] for line in out.stdout.decode().splitlines() if line.strip())
    eq(exported, listed(), "nm -D lists exactly the version script's symbols")


@case
def header_declares_the_api():
    with open(os.path.join(SRC, "include", "allocfail.h")) as f:
        declared = sorted(set(re.findall(r"\b(allocfail_impl_\w+)\s*\(", f.read())))
    api = [s for s in listed() if s.startswith("allocfail_")]
    eq(api, declared, "the header declares exactly the exported API")


@case
def libunwind_not_linked():
    out = subprocess.run([nm, "-D", "--undefined-only", SHIM], stdout=subprocess.PIPE, check=True)
    undef = out.stdout.decode()
    check("unw_" not in undef and "_ULx86_64" not in undef,
          "libunwind is not linked (it is loaded RTLD_LOCAL at run time)", undef)


# every library the shim needs is one more to map and relocate in each
# process it enters: libc only (common/af_math.c and af_jeglue.c serve what
# jemalloc's archive asks of libm and libgcc_s)
@case
def needs_libc_only():
    readelf = need("readelf")
    dyn = subprocess.run([readelf, "-d", SHIM], stdout=subprocess.PIPE, check=True).stdout.decode()
    eq(re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", dyn), ["libc.so.6"],
       "the shim needs libc.so.6 and nothing else")
    eq(re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library r\w*path: \[([^]]*)\]", dyn), [],
       "and has no runpath (every dlopen would search it first)")


main()
