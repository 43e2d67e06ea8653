"""Shared by test_explore.py and test_explore_more.py: the demo, its
planted bugs and small helpers."""
import re
import shlex
import shutil
import signal
import time
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from aftest import *

DEMO = os.path.join(BUILD, "demo", "allocfail-demo")
DEMO_ASAN = os.path.join(BUILD, "demo", "allocfail-demo-asan")
SRCFILE = os.path.join(SRC, "demo", "allocfail-demo.c")
with open(SRCFILE) as f:
    lines = f.read().splitlines()


def line_of(text, start=0):
    return next(i + 1 for i, l in enumerate(lines) if i >= start and text in l)


def explore(*args, cwd=None):
    r = tool("explore", "-q", *args, cwd=cwd, timeout=300)
    return r


def findings(doc):
    return sorted((f["class"], f["injection_stack"][0]["function"], f["injection_stack"][0]["line"])
                  for f in doc["findings"])


planted = sorted([
    ("abort", "xmalloc", line_of("void *p = malloc(n);")),
    ("crash", "parse_item", line_of("struct item *it = malloc(sizeof *it);")),
    ("hang", "total_label", line_of("char *label = malloc(32);")),
    ("silent", "format_line", line_of("char *line = malloc(64);")),
])

