"""Graded examples: answers a person already graded for a question, used to grade its other answers.

A rubric says what a right answer states; answers graded by hand say how a course grades them
(which omissions cost a point, which wordings pass). An answer's nearest graded examples, by
embedding, give a second estimate of its grade, blended with the rubric's score. How far to trust
it is fitted on the examples themselves: each is graded by its rubric and estimated from the other
examples (leave one out), and the share that best predicts their grades is the one used. Where the
rubric already grades as the course does, the examples weigh little; where it does not, they weigh
more. An answer unlike every example of its question is one they have not seen: their estimate of it
is a guess from answers that say other things, so it weighs less, down to nothing (how far below
which closeness is fitted too). Plain numpy: no I/O, no model.

The constants were chosen on training splits only (README, "Graded examples"): SemEval-2013 train
and SAF train, each answer estimated from the other train answers to its question (leave one out),
with the examples drawn down to 3, 5, 10, 20, 40 per question and all of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from interviewer.domain.grade import (
    FLAG_CONTRADICTION,
    FLAG_INJECTION,
    FLAG_KEYWORD_LIST,
    FLAG_MISCONCEPTION,
    Grade,
    band_for,
)

NEIGHBOURS = 10  # the closest examples read
TEMPERATURE = 0.05  # softmax over cosine similarity: 0.05 apart weighs e (2.7) times less
# A question's examples weigh share · n / (n + WEIGHT_HALF) for n of them: few examples are a noisy
# estimate (a third of the share at 2, half at 4, 5/6 at 20). The share is fitted (fit_trust); with
# fewer than FIT_AT_LEAST examples read by their rubric it is DEFAULT_SHARE.
WEIGHT_HALF = 4.0
DEFAULT_SHARE = 0.6
SHARE_CEILING = 0.9  # the rubric always keeps a tenth: it is what names points made and missed
FIT_AT_LEAST = 8
# The fit grades its examples by their rubric, which costs what grading them does: it reads a fixed
# sample of at most FIT_AT_MOST (every example still serves as a neighbour). The eval fits on samples
# of 300 to 1,500 training answers (README, "Graded examples").
FIT_AT_MOST = 1000
SHARES = tuple(round(0.05 * i, 2) for i in range(int(SHARE_CEILING / 0.05) + 1))  # 0, 0.05, …, 0.9
# The weight also ramps with the closest example's cosine similarity: nothing at NEAR_FROM or below,
# all of it from NEAR_FROM + NEAR_SPAN. NEAR_FROM is fitted with the share (None: no ramp); without a
# fit it is DEFAULT_NEAR_FROM, the start that did best over SemEval and SAF train pooled.
NEAR_SPAN = 0.4
DEFAULT_NEAR_FROM = 0.3
NEAR_FROMS: tuple[float | None, ...] = (None, 0.2, 0.3, 0.4, 0.5, 0.6)
# A ramp must earn its place: its fit must beat the best without one by this much of correlation.
# Where every example's closest neighbour sits inside a ramp, the ramp only scales the weight evenly
# (a share between the grid's steps), and without a margin it was fitted so every time (200 of 200
# synthetic sets of evenly close examples; 0 with this margin). SemEval train's ramps gained
# 0.0014 (SciEntsBank) and 0.0067 (Beetle) and lifted their unseen answers' AUC (README).
MIN_RAMP_GAIN = 0.001

# A grade with one of these named something wrong (or was capped as a list of terms): its examples
# may lower it but never lift it, since an answer that negates a point reads like the right ones.
ONLY_LOWER = frozenset({FLAG_CONTRADICTION, FLAG_MISCONCEPTION, FLAG_KEYWORD_LIST, FLAG_INJECTION})


def fit_sample(ids: Sequence[str], limit: int | None = None) -> list[int]:
    """Positions of the examples the fit reads: all of them up to `limit` (FIT_AT_MOST), else the
    `limit` whose ids hash lowest, so the sample does not depend on the file's order and an example
    added to the file leaves the others where they were."""
    limit = FIT_AT_MOST if limit is None else limit
    if len(ids) <= limit:
        return list(range(len(ids)))
    ranked = sorted(range(len(ids)), key=lambda i: (hashlib.sha256(ids[i].encode()).hexdigest(), i))
    return sorted(ranked[:limit])


@dataclass(frozen=True)
class GradedExample:
    answer: str
    grade: float  # 0–5
    id: str = ""


@dataclass(frozen=True)
class ExampleReading:
    """What an answer's nearest graded examples say of it."""

    estimate: float  # their grades, weighted by closeness
    weight: float  # the estimate's share of the blended score
    count: int  # examples of the question
    nearest_id: str
    nearest_grade: float
    nearest_similarity: float
    closeness: float = 1.0  # 0–1: how much of its weight the closest example's similarity allows
    full_from: float | None = None  # the similarity from which the closest example allows it all

    def note(self, held: bool = False) -> str:
        """What the examples said and weighed; `held`: they would have lifted an answer they may not."""
        closest = f"{self.nearest_id}, " if self.nearest_id else ""
        similarity = f"similarity {self.nearest_similarity:.2f}"
        seen = f"graded examples: the closest of {self.count} ({closest}{similarity}, "
        seen += f"graded {self.nearest_grade:g})"
        if self.closeness == 0.0:
            return f"{seen} is not close to this answer: they suggest {self.estimate:.1f} but do not weigh in"
        less = ""
        if self.closeness < 1.0 and self.full_from is not None:
            less = f", less as the closest is under similarity {self.full_from:.2f}"
        weighed = "would have weighed" if held else "weighed at"
        return f"{seen} and its neighbours suggest {self.estimate:.1f}, {weighed} {self.weight:.0%}{less}"


def example_weight(count: int, share: float = DEFAULT_SHARE) -> float:
    return share * count / (count + WEIGHT_HALF) if count > 0 else 0.0


def closeness(similarity: float, near_from: float | None) -> float:
    """The part of the examples' weight an answer keeps whose closest example is this similar."""
    return float(closeness_of(np.array([similarity]), near_from)[0])


def closeness_of(similarities: np.ndarray, near_from: float | None) -> np.ndarray:
    if near_from is None:
        return np.ones_like(similarities, dtype=float)
    return np.clip((similarities - near_from) / NEAR_SPAN, 0.0, 1.0)


@dataclass(frozen=True)
class Trust:
    """How much a set's examples weigh: the share, and from which closeness (fitted together)."""

    share: float = DEFAULT_SHARE
    near_from: float | None = DEFAULT_NEAR_FROM


def fit_trust(
    scores: Sequence[float],
    estimates: Sequence[float],
    grades: Sequence[float],
    counts: Sequence[int],
    nearest: Sequence[float],
) -> Trust | None:
    """The share and closeness ramp whose blend correlates best (Pearson) with the examples' own
    grades, from each example's rubric score, its estimate from the other examples of its question,
    their number and the closest one's similarity. Correlation, not squared error: the rubric's
    scale was fitted on other answers, and a share chosen for squared error would trust whichever is
    on the examples' scale rather than whichever ranks them right (on SemEval train least squares
    chose 0.78 and ranked no better than the rubric alone). None when it cannot be fitted: fewer than
    FIT_AT_LEAST examples, or all of one grade."""
    if len(scores) < FIT_AT_LEAST:
        return None
    s, e, y = (np.asarray(v, dtype=float) for v in (scores, estimates, grades))
    if np.ptp(y) == 0:
        return None
    by_count = np.array([c / (c + WEIGHT_HALF) for c in counts])
    nearest_similarity = np.asarray(nearest, dtype=float)

    def correlation(reach: np.ndarray, share: float) -> float:
        blend = s + share * reach * (e - s)
        return float(np.corrcoef(blend, y)[0, 1]) if np.ptp(blend) > 0 else -1.0

    def best_of(near_from: float | None) -> tuple[float, Trust]:
        reach = by_count * closeness_of(nearest_similarity, near_from)
        # Among equals the smallest share: the rubric explains itself.
        fits = [(correlation(reach, share), -share) for share in SHARES]
        fit, smaller = max(fits)
        return fit, Trust(-smaller, near_from)

    unramped_fit, unramped = best_of(None)
    ramped_fit, ramped = max((best_of(n) for n in NEAR_FROMS if n is not None), key=lambda f: f[0])
    return ramped if ramped_fit >= unramped_fit + MIN_RAMP_GAIN else unramped


@dataclass
class QuestionExamples:
    """One question's examples: unit-length answer vectors and their grades."""

    vectors: np.ndarray  # (n, d), rows of unit length
    grades: np.ndarray  # (n,)
    ids: list[str] = field(default_factory=list)

    def read(
        self, vector: np.ndarray, exclude: str | None = None, trust: Trust = Trust()
    ) -> ExampleReading | None:
        """The reading for one answer (unit vector). `exclude` leaves out the example of that id, so
        an example is not measured against its own grade."""
        keep = np.ones(len(self.grades), dtype=bool)
        if exclude is not None and self.ids:
            keep = np.array([i != exclude for i in self.ids])
        if not keep.any():
            return None
        vectors, grades = self.vectors[keep], self.grades[keep]
        ids = [i for i, k in zip(self.ids, keep, strict=True) if k] if self.ids else [""] * len(grades)
        similarity = vectors @ vector
        top = np.argsort(-similarity, kind="stable")[:NEIGHBOURS]
        weights = np.exp((similarity[top] - similarity[top[0]]) / TEMPERATURE)
        near = closeness(float(similarity[top[0]]), trust.near_from)
        full_from = trust.near_from + NEAR_SPAN if trust.near_from is not None else None
        return ExampleReading(
            estimate=float(weights @ grades[top] / weights.sum()),
            weight=example_weight(len(grades), trust.share) * near,
            count=len(grades),
            nearest_id=ids[top[0]],
            nearest_grade=float(grades[top[0]]),
            nearest_similarity=float(similarity[top[0]]),
            closeness=near,
            full_from=full_from,
        )


def held_back(score: float, flags: Iterable[str], reading: ExampleReading) -> bool:
    """Whether the examples would lift an answer they may not lift (one that says something the
    rubric contradicts, asserts a misconception, lists terms or addresses the grader)."""
    return bool(ONLY_LOWER.intersection(flags)) and reading.estimate > score and reading.weight > 0


def with_examples(score: float, flags: Iterable[str], reading: ExampleReading) -> float:
    """The rubric's score blended with the examples' estimate (unrounded), unless held back."""
    if held_back(score, flags, reading):
        return min(5.0, max(0.0, score))
    blended = (1.0 - reading.weight) * score + reading.weight * reading.estimate
    return min(5.0, max(0.0, blended))


@dataclass
class ExampleSet:
    """Every question's examples, and how much they weigh (fitted on them)."""

    questions: dict[str, QuestionExamples]
    trust: Trust = Trust()
    fitted_on: int = 0  # examples the trust was fitted on (0: the default)

    @property
    def share(self) -> float:
        return self.trust.share

    def read(
        self, question_id: str | None, vector: np.ndarray, exclude: str | None = None
    ) -> ExampleReading | None:
        known = self.questions.get(question_id or "")
        return known.read(vector, exclude, self.trust) if known is not None else None

    def read_own(self, question_id: str | None, example_id: str) -> ExampleReading | None:
        """An example of the set read, by its stored vector, against the other examples of its question."""
        known = self.questions.get(question_id or "")
        if known is None or example_id not in known.ids:
            return None
        return known.read(known.vectors[known.ids.index(example_id)], example_id, self.trust)

    def __len__(self) -> int:
        return sum(len(q.grades) for q in self.questions.values())


def question_examples(vectors: np.ndarray, examples: Sequence[GradedExample]) -> QuestionExamples:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return QuestionExamples(
        vectors=vectors / np.maximum(norms, 1e-9),
        grades=np.array([e.grade for e in examples], dtype=float),
        ids=[e.id for e in examples],
    )


def apply_reading(grade: Grade, reading: ExampleReading | None, exact: bool = False) -> Grade:
    """The grade with its examples' reading blended in and told in the explanation. A grade the
    guards decided (empty, off-topic, not English, …) or without a score is left as it is. `exact`
    keeps the score unrounded (ranking metrics)."""
    if reading is None or grade.score is None or grade.guarded:
        return grade
    score = with_examples(grade.score, grade.flags, reading)
    score = score if exact else round(score, 1)
    weight = reading.weight
    held = held_back(grade.score, grade.flags, reading)
    note = reading.note(held)
    if held:  # with_examples kept the score
        note = f"{note}, but they do not lift an answer that says something the rubric contradicts"
        weight = 0.0
    signals = {"examples_estimate": round(reading.estimate, 3), "examples_weight": round(weight, 3)}
    return grade.model_copy(
        update={
            "score": score,
            "band": band_for(score),
            "explanation": f"{grade.explanation} {note[0].upper()}{note[1:]}.".strip(),
            "signals": {**grade.signals, **signals},
        }
    )
