"""`make demo`: scan the bundled demo estate and point at the report.

The estate is a governance folder of Markdown policies and records (examples/governance) and a folder of
attestations (examples/attestations); the scan collects them, evaluates the Annex A rule pack, records the
scan in a tamper-evident store (examples/out/.annexa), verifies the store, and writes the JSON result.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ANNEXA = Path(sys.executable).with_name("annexa")


def annexa(*args: str) -> int:
    print(f"\n$ annexa {' '.join(args)}", flush=True)
    return subprocess.run([str(ANNEXA), *args], cwd=HERE, check=False).returncode


def main() -> int:
    (HERE / "out").mkdir(exist_ok=True)
    annexa("plugins")
    if annexa("rules", "check") != 0:
        return 1
    code = annexa("scan", "-c", "annexa.yaml", "--output", "out/result.json")
    if code not in (0, 1, 2):  # 1 and 2 are findings (nonconformities, inconclusive), not demo failures
        return code
    if annexa("verify", "--store", "out/.annexa") != 0:
        return 1
    annexa("history", "--store", "out/.annexa")
    print(f"\nscan exit code {code} (0 conformant, 1 nonconformities, 2 inconclusive)")
    print(f"report: {HERE / 'out' / 'result.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
