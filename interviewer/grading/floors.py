"""The judge's floors for the bank rubrics, read ahead and shipped beside the calibration
(`interviewer judge floors`), so a cold run does not read 150 model answers first."""

from __future__ import annotations

import json
from pathlib import Path

from interviewer.grading.calibration import read_shipped_text
from interviewer.grading.grader import JudgeFloor, ShippedFloors

FLOORS_FILE = "judge_floors.json"


def load_shipped_floors(path: Path | None = None) -> ShippedFloors | None:
    """The floors shipped with the package (or at `path`); None when there are none or unreadable
    (the grader then reads each rubric's model answer when it first meets it)."""
    try:
        data = json.loads(read_shipped_text(FLOORS_FILE, path))
        floors = {
            digest: JudgeFloor(*(tuple(map(float, readings)) for readings in pair[:3]))
            for digest, pair in data["floors"].items()
        }
        return ShippedFloors(judge=str(data["judge"]), calibration=str(data["calibration"]), floors=floors)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _readings(floor: JudgeFloor) -> list[list[float]]:
    return [list(floor.contradictions), list(floor.assertions), list(floor.entailments)]


def floors_to_json(shipped: ShippedFloors) -> str:
    """One rubric per line (its digest, then [contradictions per key point, assertions per claim,
    entailments per key point]), so a change shows as a readable diff."""
    head = json.dumps({"judge": shipped.judge, "calibration": shipped.calibration})[:-1]
    rows = [
        f"  {json.dumps(digest)}: {json.dumps(_readings(f))}" for digest, f in sorted(shipped.floors.items())
    ]
    return head + ', "floors": {\n' + ",\n".join(rows) + "\n}}\n"
