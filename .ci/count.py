"""Count meson test results from testlog.json files: prints 'N passed, N
failed' and exits 1 when a test failed (skipped tests count as neither; a
log that cannot be read counts as a failure)."""
import json
import sys

passed = failed = 0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result != "SKIP":
                    failed += 1
    except OSError as e:
        print(f"cannot read {path}: {e}")
        failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
