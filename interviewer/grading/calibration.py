"""The calibration: signals to a 0-5 score. Shipped as package data (calibration.json), read with
importlib.resources; a refit is written only where the user names (`eval --calibration-out`)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel


class ScoreMap(BaseModel):
    """A monotone map from the blend onto 0-5, fitted on other human grades than the calibration's own."""

    fitted_on: str = ""
    rows: int = 0
    iso_x: list[float]
    iso_y: list[float]


class Calibration(BaseModel):
    """Signals → 0–5: a non-negative linear blend, then a monotone (isotonic) map. Versioned file.

    Answers graded against a rubric built from a row's own reference answer (an ad-hoc rubric: a
    user's own question, SemEval, SAF) go through `own_reference_map` where there is one: the same
    blend, its map fitted on such answers' human grades (SemEval and SAF train). The main map is fitted
    on the dev set, whose rubrics are authored; a blend means another grade against a reference's own
    sentences (SAF's Correct answers averaged 3.3 under the dev set's map)."""

    version: str
    model: str
    fitted_on: str = ""
    rows: int = 0
    weights: dict[str, float]
    intercept: float = 0.0
    iso_x: list[float]
    iso_y: list[float]
    # The map's least slope (grade points per unit of the blend), chosen across sources when fitted.
    map_slope: float = 0.0
    cover_low: float = 0.3
    cover_high: float = 0.7
    # A key point counts as covered at this mean of semantic and lexical evidence: false praise
    # costs the candidate more than a false miss, yet paraphrases must still be credited.
    covered_at: float = 0.55
    # With a judge: a covered point whose evidence is under this is said to be made only loosely. The
    # share of points made clearly tracks human grades best from here (SemEval and SAF train: Pearson
    # 0.501 and 0.320 at covered_at 0.5, 0.535 and 0.332 at 0.65), so a modest score beside "covered"
    # has its reason in the feedback.
    clearly_covered_at: float = 0.65
    misconception_at: float = 0.80
    # With a judge: a key point is contradicted, or a misconception asserted, at this probability;
    # the judge reads a claim only in a sentence at least this close to it.
    contradiction_at: float = 0.9
    judge_asserts_at: float = 0.95
    claim_relevant_at: float = 0.7
    contradiction_penalty: float = 1.0
    # Getting an essential point wrong caps the answer at "adequate" at best, however much else it says.
    contradiction_cap: float = 2.5
    judge: str = ""
    relevant_at: float = 0.40
    pair_at: float = 0.50
    relevant_full: float = 0.65
    length_full: float = 25.0  # relevant content words at which length stops counting
    echo_question_sim: float = 0.72
    echo_meta_sim: float = 0.55
    restated_question_sim: float = 0.78
    restated_novelty: float = 0.40
    # A sentence that says this share of what a key point adds to the question answers it: not an echo.
    echo_point_share: float = 0.5
    off_topic_margin: float = 0.12
    off_topic_own_max: float = 0.55
    own_reference_map: ScoreMap | None = None

    def raw(self, signals: dict[str, float]) -> float:
        return self.intercept + sum(self.weights.get(k, 0.0) * signals.get(k, 0.0) for k in self.weights)

    def score(self, signals: dict[str, float], own_reference: bool = False) -> float:
        """The 0-5 score of these signals; `own_reference`: graded against an ad-hoc rubric."""
        chosen = self.own_reference_map if own_reference and self.own_reference_map else self
        value = float(np.interp(self.raw(signals), chosen.iso_x, chosen.iso_y))
        return min(5.0, max(0.0, value))


DEFAULT_CALIBRATION = Calibration(
    version="prior",
    model="all-MiniLM-L6-v2",
    weights={"coverage": 0.55, "similarity": 0.35, "essential": 0.10},
    iso_x=[0.25, 0.45, 0.6, 0.75],
    iso_y=[0.0, 1.5, 3.5, 5.0],
)

CALIBRATION_FILE = "calibration.json"


def read_shipped_text(name: str, path: Path | None = None) -> str:
    """The package data file `name` (or the file at `path` instead). Raises OSError."""
    if path is not None:
        return path.read_text(encoding="utf-8")
    return resources.files("interviewer").joinpath(name).read_text(encoding="utf-8")


def load_calibration(path: Path | None = None) -> Calibration:
    """The fitted calibration shipped with the package, or the prior when none was fitted yet."""
    try:
        raw = read_shipped_text(CALIBRATION_FILE, path)
    except (FileNotFoundError, OSError):
        return DEFAULT_CALIBRATION
    return Calibration.model_validate_json(raw)


def calibration_to_json(cal: Calibration) -> str:
    return json.dumps(cal.model_dump(), indent=2) + "\n"
