"""Run every benchmark in turn: `python -m bench [--smoke]` (CI passes --smoke)."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ["bench.fire_rate"],
    ["bench.timers"],
    ["bench.mail"],
    ["bench.mail", "--mode", "slow"],
    ["bench.api"],
    ["bench.dashboard"],
    ["bench.event_loop"],
]


def main() -> int:
    failures = 0
    for module in BENCHMARKS:
        print(f"\n== {' '.join(module)} ==", flush=True)
        result = subprocess.run([sys.executable, "-m", *module, *sys.argv[1:]], check=False)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
