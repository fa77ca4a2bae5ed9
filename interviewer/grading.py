"""The grader: answer + rubric → Grade.

Signals: similarity of the answer to the reference(s), weighted soft coverage of key points (each
point matched against the answer's sentences), misconceptions asserted, and guards (empty, "I don't
know", restated question, off-topic, keyword list, text aimed at the grader). A monotone calibration
fitted on the dev set maps the signals to 0–5. No I/O; deterministic for a given model.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from interviewer import text as tx
from interviewer.embedding import Embed
from interviewer.index import RubricIndex, reference_passages
from interviewer.models import (
    FLAG_DONT_KNOW,
    FLAG_EMPTY,
    FLAG_INJECTION,
    FLAG_KEYWORD_LIST,
    FLAG_MISCONCEPTION,
    FLAG_NO_REFERENCE,
    FLAG_OFF_TOPIC,
    FLAG_REPETITION,
    FLAG_RESTATED,
    Grade,
    band_for,
)
from interviewer.rubric import Rubric, derive_key_points

SIGNALS = ("coverage", "essential", "similarity", "best_unit", "length")

# Caps the guards impose, whatever the calibrated score says.
RESTATED_CAP = 0.5
OFF_TOPIC_CAP = 0.0  # it answers another question: no credit for this one
KEYWORD_LIST_CAP = 1.0
MISCONCEPTION_PENALTY = 1.0


class Calibration(BaseModel):
    """Signals → 0–5: a non-negative linear blend, then a monotone (isotonic) map. Versioned file."""

    version: str
    model: str
    fitted_on: str = ""
    rows: int = 0
    weights: dict[str, float]
    intercept: float = 0.0
    iso_x: list[float]
    iso_y: list[float]
    cover_low: float = 0.3
    cover_high: float = 0.7
    # A key point counts as covered at this mean of semantic and lexical evidence: false praise
    # costs the candidate more than a false miss, yet paraphrases must still be credited.
    covered_at: float = 0.55
    misconception_at: float = 0.80
    relevant_at: float = 0.40
    pair_at: float = 0.50
    relevant_full: float = 0.65
    length_full: float = 25.0  # relevant content words at which length stops counting
    echo_question_sim: float = 0.72
    echo_meta_sim: float = 0.55
    restated_question_sim: float = 0.78
    restated_novelty: float = 0.40
    off_topic_margin: float = 0.12
    off_topic_own_max: float = 0.55

    def raw(self, signals: dict[str, float]) -> float:
        return self.intercept + sum(self.weights.get(k, 0.0) * signals.get(k, 0.0) for k in self.weights)

    def score(self, signals: dict[str, float]) -> float:
        value = float(np.interp(self.raw(signals), self.iso_x, self.iso_y))
        return min(5.0, max(0.0, value))


DEFAULT_CALIBRATION = Calibration(
    version="prior",
    model="all-MiniLM-L6-v2",
    weights={"coverage": 0.55, "similarity": 0.35, "essential": 0.10},
    iso_x=[0.25, 0.45, 0.6, 0.75],
    iso_y=[0.0, 1.5, 3.5, 5.0],
)

CALIBRATION_FILE = "calibration.json"


def load_calibration(path: Path | None = None) -> Calibration:
    """The fitted calibration shipped with the package, or the prior when none was fitted yet."""
    try:
        if path is not None:
            raw = path.read_text(encoding="utf-8")
        else:
            raw = resources.files("interviewer").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return DEFAULT_CALIBRATION
    return Calibration.model_validate_json(raw)


class Signals(BaseModel):
    """Everything the grader measured for one answer, before calibration."""

    values: dict[str, float] = Field(default_factory=dict)
    point_scores: list[float] = Field(default_factory=list)  # best match per key point of the asked rubric
    misconception_scores: list[float] = Field(default_factory=list)
    misconception_units: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    off_topic_match: str | None = None
    removed_units: int = 0


@dataclass
class RubricVectors:
    question: np.ndarray
    references: np.ndarray
    key_points: np.ndarray
    misconceptions: np.ndarray


def adhoc_rubric(question: str, reference: str, question_id: str | None = None) -> Rubric:
    """A rubric for a question not in the banks: its reference answer cut into key points."""
    qid = question_id or "adhoc-" + hashlib.sha256(f"{question}\n{reference}".encode()).hexdigest()[:10]
    points = derive_key_points(reference)
    if not points:
        from interviewer.rubric import KeyPoint

        points = [KeyPoint(text=reference.strip(), source="bank")]
    return Rubric(
        question_id=qid,
        bank="adhoc",
        question=question,
        reference=reference,
        reference_source="bank",
        key_points=points,
    )


def _normalize(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return float((weights * values).sum() / total) if total else 0.0


def _soft(value: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


_NEGATION = re.compile(
    r"\b(not|no|never|n't|without|isn't|aren't|doesn't|don't|cannot|neither|nor|false|wrong)\b"
)


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(text.lower()))


class Grader:
    """Grades answers against rubrics held in a RubricIndex, with one embedder."""

    def __init__(self, index: RubricIndex, embedder: Embed, calibration: Calibration | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.calibration = calibration or load_calibration()
        self._indexed_vectors: dict[str, RubricVectors] = {}
        self._groups: dict[str, list[str]] = {}
        for rubric in index.rubrics.values():
            if rubric.group:
                self._groups.setdefault(rubric.group, []).append(rubric.question_id)

    # -- rubrics -----------------------------------------------------------------------------------

    def rubric(self, question_id: str) -> Rubric:
        return self.index.rubrics[question_id]

    def group_of(self, rubric: Rubric) -> list[Rubric]:
        """The rubric and its duplicates in other banks (same concept group)."""
        if not rubric.group or rubric.question_id not in self.index.rubrics:
            return [rubric]
        members = [
            self.index.rubrics[q] for q in self._groups.get(rubric.group, []) if q in self.index.rubrics
        ]
        return [rubric] + [m for m in members if m.question_id != rubric.question_id]

    def match_question(self, question: str) -> tuple[str, float]:
        """The bank question most similar to a question text, and the cosine similarity."""
        vector = self.embedder.encode([question])[0]
        best = self.index.question_scores(vector, k=64, kinds=("question",))
        if not best:
            return "", 0.0
        question_id = max(best, key=best.get)
        return question_id, round(best[question_id], 3)

    def _vectors(self, rubric: Rubric) -> RubricVectors:
        indexed = self.index.rubrics.get(rubric.question_id)
        if indexed is rubric or (indexed is not None and indexed == rubric):
            # The index does not change under a grader: slice each rubric's vectors once.
            qid = rubric.question_id
            if qid not in self._indexed_vectors:
                v = self.index.vectors
                self._indexed_vectors[qid] = RubricVectors(
                    question=v[self.index.rows(qid, "question")[0]],
                    references=v[self.index.rows(qid, "reference")],
                    key_points=v[self.index.rows(qid, "key_point")],
                    misconceptions=v[self.index.rows(qid, "misconception")],
                )
            return self._indexed_vectors[qid]
        passages = reference_passages(rubric.reference) if rubric.reference else []
        texts = [
            rubric.question,
            *passages,
            *(k.text for k in rubric.key_points),
            *(m.claim for m in rubric.misconceptions),
        ]
        vectors = self.embedder.encode(texts)
        a, b = 1 + len(passages), 1 + len(passages) + len(rubric.key_points)
        return RubricVectors(vectors[0], vectors[1:a], vectors[a:b], vectors[b:])

    # -- grading -----------------------------------------------------------------------------------

    def grade(self, rubric: Rubric | str, answer: str) -> Grade:
        return self.grade_many([(rubric, answer)])[0]

    def grade_many(self, items: list[tuple[Rubric | str, str]]) -> list[Grade]:
        """Grade several answers, embedding all their sentences in one batch."""
        return [self.grade_assessment(a) for a in self.assess_many(items)]

    def assess_many(self, items: list[tuple[Rubric | str, str]]) -> list[Assessment]:
        """Signals for several answers (the uncalibrated half of grading); one embedding batch."""
        prepared = [self._prepare(self.rubric(r) if isinstance(r, str) else r, a) for r, a in items]
        texts = sorted({t for p in prepared if p.graded for t in p.texts})
        vectors = dict(zip(texts, self.embedder.encode(texts), strict=True)) if texts else {}
        return [
            Assessment(p.rubric, self._measure(p, vectors) if p.graded else None, p.flags) for p in prepared
        ]

    def grade_assessment(self, assessment: Assessment, calibration: Calibration | None = None) -> Grade:
        if assessment.signals is None:
            return _ungraded(assessment.rubric, assessment.flags)
        return grade_from_signals(assessment.rubric, assessment.signals, calibration or self.calibration)

    def _prepare(self, rubric: Rubric, answer: str) -> _Prepared:
        flags: list[str] = []
        answer = answer or ""
        if tx.is_blank(answer):
            return _Prepared(rubric, answer, [], [FLAG_EMPTY], graded=False)
        if tx.is_dont_know(answer):
            return _Prepared(rubric, answer, [], [FLAG_DONT_KNOW], graded=False)
        units = tx.units(tx.strip_fillers(answer))
        injected = set(tx.injection_units(units))
        if injected:
            flags.append(FLAG_INJECTION)
            units = [u for i, u in enumerate(units) if i not in injected]
        units, repeats = tx.dedupe_units(units)
        if repeats >= 2:
            flags.append(FLAG_REPETITION)
        if not units or all(not tx.content_words(u) for u in units):
            return _Prepared(rubric, answer, [], [*flags, FLAG_EMPTY], graded=False, removed=len(injected))
        if not rubric.has_reference and not rubric.key_points:
            return _Prepared(rubric, answer, units, [*flags, FLAG_NO_REFERENCE], graded=False)
        if tx.is_keyword_list(" \n".join(units)):
            flags.append(FLAG_KEYWORD_LIST)
        content = " ".join(units)
        parts = [c for u in units for c in tx.clauses(u)]
        texts = list(dict.fromkeys([content, *units, *parts]))
        return _Prepared(
            rubric, answer, units, flags, graded=True, texts=texts, content=content, removed=len(injected)
        )

    def _measure(self, p: _Prepared, vectors: dict[str, np.ndarray]) -> Signals:
        cal = self.calibration
        rubric = p.rubric
        flags = list(p.flags)
        own = self._vectors(rubric)
        question_vec = own.question
        all_units = np.vstack([vectors[u] for u in p.units])

        # Units that only echo the question ("so you're asking what X is") earn nothing: drop them
        # before measuring, so restating or paraphrasing the question can never add to a score.
        to_question = all_units @ question_vec
        echo = [
            (q >= cal.echo_question_sim and tx.novelty(u, rubric.question) <= cal.restated_novelty)
            or (tx.is_meta(u) and q >= cal.echo_meta_sim)
            for u, q in zip(p.units, to_question, strict=True)
        ]
        keep = [i for i, e in enumerate(echo) if not e]
        whole_question_sim = float(question_vec @ vectors[p.content])
        if not keep:
            flags.append(FLAG_RESTATED)
            zeros = {k: 0.0 for k in SIGNALS}
            return Signals(values={**zeros, "question_sim": round(whole_question_sim, 4)}, flags=flags)
        # Misconceptions first: a sentence asserting one earns no credit, it only costs.
        misconception_scores: list[float] = []
        misconception_units: list[str] = []
        asserted_rows: set[int] = set()
        if len(rubric.misconceptions):
            sims = all_units[keep] @ own.misconceptions.T  # units × misconceptions
            for m, claim in enumerate(rubric.misconceptions):
                column = sims[:, m].copy()
                for r, i in enumerate(keep):
                    # "Dropout is NOT used at inference" is close to the claim but denies it.
                    if _negated(p.units[i]) != _negated(claim.claim):
                        column[r] -= 0.25
                row = int(np.argmax(column))
                misconception_scores.append(round(float(column[row]), 4))
                misconception_units.append(p.units[keep[row]])
                if column[row] >= cal.misconception_at:
                    asserted_rows.add(row)
        credited = [i for r, i in enumerate(keep) if r not in asserted_rows] or keep
        units = [p.units[i] for i in credited]
        single_vecs = all_units[credited]
        keep = credited
        answer_vec = vectors[p.content] if len(keep) == len(p.units) else _normalize(single_vecs.sum(axis=0))
        # group_of lists the asked rubric first: its vectors are already in hand (ad-hoc ones included).
        members = [(rubric, own), *((m, self._vectors(m)) for m in self.group_of(rubric)[1:])]

        # Relevance of each sentence: its best match among the group's references and key points.
        best: dict[str, float] = {"coverage": 0.0, "essential": 0.0, "similarity": 0.0, "best_unit": 0.0}
        relevance = np.zeros(len(units))
        for _, vecs in members:
            if len(vecs.references):
                best["similarity"] = max(best["similarity"], float(np.max(vecs.references @ answer_vec)))
                to_refs = single_vecs @ vecs.references.T
                best["best_unit"] = max(best["best_unit"], float(np.max(to_refs)))
                relevance = np.maximum(relevance, to_refs.max(axis=1))
            if len(vecs.key_points):
                relevance = np.maximum(relevance, (single_vecs @ vecs.key_points.T).max(axis=1))

        # A key point may span two sentences: adjacent relevant sentences are also matched as the
        # normalized sum of their vectors (close to the pair's own embedding, at no model cost).
        # Filler sentences never join a pair, so padding cannot lift a neighbour's match.
        pair_rows = [i for i in range(len(units) - 1) if min(relevance[i], relevance[i + 1]) >= cal.pair_at]
        pairs = single_vecs[pair_rows] + single_vecs[[i + 1 for i in pair_rows]]
        pairs = pairs / np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-9)
        parts = [c for u in units for c in tx.clauses(u)]
        stacks = [single_vecs, pairs] if len(pair_rows) else [single_vecs]
        if parts:
            stacks.append(np.vstack([vectors[c] for c in parts]))
        unit_vecs = np.vstack(stacks)

        own_point_scores: list[float] = []
        answer_stems = tx.stems(" ".join(units))
        best.update(semantic=0.0, lexical=0.0)
        for member, vecs in members:
            if not len(member.key_points):
                continue
            weights = np.array([k.weight for k in member.key_points])
            essential = np.array([k.essential for k in member.key_points])
            # Each key point is covered by meaning (best sentence/clause/pair match) and by words
            # (its terms used); the mean of the two is robust to paraphrase and to topical fluff.
            semantic = np.array(
                [
                    _soft(s, cal.cover_low, cal.cover_high)
                    for s in np.max(unit_vecs @ vecs.key_points.T, axis=0)
                ]
            )
            lexical = np.array([tx.lexical_recall(k.text, answer_stems) for k in member.key_points])
            per_point = (semantic + lexical) / 2

            best["coverage"] = max(best["coverage"], _weighted_mean(per_point, weights))
            best["semantic"] = max(best["semantic"], _weighted_mean(semantic, weights))
            best["lexical"] = max(best["lexical"], _weighted_mean(lexical, weights))
            if essential.any():
                best["essential"] = max(best["essential"], _weighted_mean(per_point, weights * essential))
            if member is rubric:
                own_point_scores = [round(float(v), 4) for v in per_point]

        values = {k: round(v, 4) for k, v in best.items()}
        # Length counts words by how much their sentence is about the rubric: filler buys nothing.
        relevant_words = sum(
            len(tx.content_words(u)) * _soft(r, cal.relevant_at, cal.relevant_full)
            for u, r in zip(units, relevance, strict=True)
        )
        values["length"] = round(min(1.0, math.log1p(relevant_words) / math.log1p(cal.length_full)), 4)
        content = " ".join(units)
        question_sim = float(question_vec @ answer_vec)
        novelty = tx.novelty(content, rubric.question)
        values["question_sim"] = round(whole_question_sim, 4)
        values["novelty"] = round(novelty, 4)
        values["uncredited_units"] = float(len(p.units) - len(keep))
        if question_sim >= cal.restated_question_sim and novelty <= cal.restated_novelty:
            flags.append(FLAG_RESTATED)

        off_topic_match = None
        if rubric.question_id in self.index.rubrics:
            group_ids = {m.question_id for m in self.group_of(rubric)}
            scores = self.index.question_scores(answer_vec, k=96, kinds=("reference", "key_point"))
            own = max([values["similarity"], *(scores.get(q, -1.0) for q in group_ids)])
            others = {q: s for q, s in scores.items() if q not in group_ids}
            if others:
                other_id = max(others, key=others.get)
                values["off_topic_margin"] = round(others[other_id] - own, 4)
                if others[other_id] - own >= cal.off_topic_margin and own < cal.off_topic_own_max:
                    flags.append(FLAG_OFF_TOPIC)
                    off_topic_match = other_id
        return Signals(
            values=values,
            point_scores=own_point_scores,
            misconception_scores=misconception_scores,
            misconception_units=misconception_units,
            flags=flags,
            off_topic_match=off_topic_match,
            removed_units=p.removed,
        )


@dataclass
class Assessment:
    rubric: Rubric
    signals: Signals | None  # None when a guard decided without measuring (empty, no reference…)
    flags: list[str]


@dataclass
class _Prepared:
    rubric: Rubric
    answer: str
    units: list[str]
    flags: list[str]
    graded: bool
    texts: list[str] | None = None
    content: str = ""
    removed: int = 0


def _ungraded(rubric: Rubric, flags: list[str]) -> Grade:
    if FLAG_NO_REFERENCE in flags:
        return Grade(
            question_id=rubric.question_id,
            score=None,
            band="no reference",
            flags=flags,
            missed=[],
            explanation="No reference answer exists for this question yet, so no score is given.",
        )
    why = {
        FLAG_EMPTY: "No answer was given.",
        FLAG_DONT_KNOW: "The answer says the candidate does not know.",
    }
    reason = next((why[f] for f in flags if f in why), "No answer was given.")
    if FLAG_INJECTION in flags:
        reason = "The answer only addresses the grader; there is nothing to grade."
    return Grade(
        question_id=rubric.question_id,
        score=0.0,
        band="no answer",
        flags=flags,
        missed=[k.text for k in rubric.key_points],
        explanation=reason,
    )


def grade_from_signals(rubric: Rubric, s: Signals, cal: Calibration) -> Grade:
    """Calibrated score, then the guards' caps and penalties; the explanation says which applied."""
    flags = list(s.flags)
    score = cal.score(s.values)
    notes: list[str] = []

    covered = [k.text for k, v in zip(rubric.key_points, s.point_scores, strict=False) if v >= cal.covered_at]
    missed = [k.text for k, v in zip(rubric.key_points, s.point_scores, strict=False) if v < cal.covered_at]

    asserted = [
        rubric.misconceptions[i].claim
        for i, v in enumerate(s.misconception_scores)
        if v >= cal.misconception_at
    ]
    if asserted:
        flags.append(FLAG_MISCONCEPTION)
        score -= MISCONCEPTION_PENALTY * min(2, len(asserted))
        notes.append("asserts a common misconception: " + "; ".join(asserted))

    band = None
    if FLAG_OFF_TOPIC in flags:
        score = min(score, OFF_TOPIC_CAP)
        band = "off-topic"
        notes.append(f"reads as an answer to a different question ({s.off_topic_match})")
    if FLAG_RESTATED in flags:
        score = min(score, RESTATED_CAP)
        notes.append("mostly restates the question")
    if FLAG_KEYWORD_LIST in flags:
        score = min(score, KEYWORD_LIST_CAP)
        notes.append("lists terms without explaining them")
    if FLAG_INJECTION in flags:
        notes.append("text addressed to the grader was ignored")
    if FLAG_REPETITION in flags:
        notes.append("repeated sentences were counted once")

    score = round(min(5.0, max(0.0, score)), 1)
    total = len(rubric.key_points)
    summary = f"Covered {len(covered)} of {total} key points."
    essentials = [k for k in rubric.key_points if k.essential]
    missed_essential = [k.text for k in essentials if k.text in missed]
    if missed_essential:
        summary += f" Missed {len(missed_essential)} essential."
    explanation = " ".join([summary, *(n[0].upper() + n[1:] + "." for n in notes)])
    return Grade(
        question_id=rubric.question_id,
        score=score,
        band=band or band_for(score),
        covered=covered,
        missed=missed,
        misconceptions=asserted,
        flags=flags,
        similarity=s.values.get("similarity", 0.0),
        coverage=s.values.get("coverage", 0.0),
        signals=s.values,
        explanation=explanation,
    )


def calibration_to_json(cal: Calibration) -> str:
    return json.dumps(cal.model_dump(), indent=2) + "\n"
