"""The check of floors read now against the floors shipped, for the tests that read them (all 150 bank
rubrics in process in test_validity; the `judge floors` command's output in test_cli)."""

from __future__ import annotations

import pytest

from interviewer.grading.grader import ShippedFloors


def assert_floors_match(fresh: ShippedFloors, shipped: ShippedFloors) -> None:
    """The same judge and calibration, and each rubric in `fresh` read as shipped (to 2e-3)."""
    assert (fresh.judge, fresh.calibration) == (shipped.judge, shipped.calibration)
    for digest, floor in fresh.floors.items():
        kept = shipped.floors[digest]
        assert floor.contradictions == pytest.approx(kept.contradictions, abs=2e-3), digest
        assert floor.assertions == pytest.approx(kept.assertions, abs=2e-3), digest
        assert floor.entailments == pytest.approx(kept.entailments, abs=2e-3), digest
        assert floor.whole == pytest.approx(kept.whole, abs=2e-3), digest
