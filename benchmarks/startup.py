"""Start-up time of `interviewer --help` and `interviewer questions`, against `python -c pass`.

    python benchmarks/startup.py [--runs 5]

Each command runs `--runs` times in a fresh process, after one untimed warm-up run; the median wall
time is printed with its ratio to the bare interpreter's, measured in the same run (the machine's load
moves both). The warm-up writes the package's bytecode, as any install's first run does, even where
PYTHONDONTWRITEBYTECODE is set (sandboxes and CI set it): otherwise every timed run would compile
the package's sources and time the compiler, not a user's start-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 0.3


def median_seconds(command: list[str], runs: int) -> float:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        if run:  # run 0 is the warm-up
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = median_seconds([sys.executable, "-c", "pass"], args.runs)
    print(f"python -c pass: {base:.3f} s (load {os.getloadavg()[0]:.1f})")
    for name, extra in (("--help", ["--help"]), ("questions", ["questions"])):
        seconds = median_seconds([sys.executable, "-m", "interviewer", *extra], args.runs)
        verdict = "ok" if seconds < GOAL_S else f"over the {GOAL_S} s goal"
        print(f"interviewer {name}: {seconds:.3f} s, {seconds / base:.1f}x python -c pass ({verdict})")


if __name__ == "__main__":
    main()
