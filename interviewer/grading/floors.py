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
        floors = {digest: _floor(readings) for digest, readings in data["floors"].items()}
        return ShippedFloors(judge=str(data["judge"]), calibration=str(data["calibration"]), floors=floors)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _floor(readings: list[list[float]]) -> JudgeFloor:
    """A JudgeFloor from its line: older files have two lists (no ceilings) or three (no whole)."""
    lists = [tuple(map(float, values)) for values in readings[:4]]
    entailments = lists[2] if len(lists) > 2 else ()
    whole = lists[3][0] if len(lists) > 3 and lists[3] else None
    return JudgeFloor(lists[0], lists[1], entailments, whole)


def _readings(floor: JudgeFloor) -> list[list[float]]:
    whole = [] if floor.whole is None else [floor.whole]
    return [list(floor.contradictions), list(floor.assertions), list(floor.entailments), whole]


def floors_to_json(shipped: ShippedFloors) -> str:
    """One rubric per line (its digest, then [contradictions per key point, assertions per claim,
    entailments per key point, [the whole model answer's entailment of itself]]), so a change shows
    as a readable diff."""
    head = json.dumps({"judge": shipped.judge, "calibration": shipped.calibration})[:-1]
    rows = [
        f"  {json.dumps(digest)}: {json.dumps(_readings(f))}" for digest, f in sorted(shipped.floors.items())
    ]
    return head + ', "floors": {\n' + ",\n".join(rows) + "\n}}\n"
