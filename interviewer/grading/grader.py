"""The grader: answer + rubric → Grade.

Signals: similarity of the answer to the reference(s), weighted soft coverage of key points (each
point matched against the answer's sentences), misconceptions asserted, and guards (empty, "I don't
know", restated question, off-topic, keyword list, text aimed at the grader). A monotone calibration
fitted on the dev set maps the signals to 0–5. No I/O; deterministic for a given model.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel, Field

from interviewer.domain.grade import (
    FLAG_CONTRADICTION,
    FLAG_DONT_KNOW,
    FLAG_EMPTY,
    FLAG_INJECTION,
    FLAG_KEYWORD_LIST,
    FLAG_MISCONCEPTION,
    FLAG_NO_REFERENCE,
    FLAG_NOT_ENGLISH,
    FLAG_OFF_TOPIC,
    FLAG_REPETITION,
    FLAG_RESTATED,
    FLAG_TRUNCATED,
    Band,
    Contradiction,
    Grade,
    band_for,
)
from interviewer.grading import text as tx
from interviewer.grading.calibration import Calibration, load_calibration
from interviewer.grading.embedding import Embed
from interviewer.grading.examples import (
    ExampleReading,
    ExampleSet,
    GradedExample,
    apply_reading,
    fit_trust,
    question_examples,
)
from interviewer.grading.index import RubricIndex, reference_passages
from interviewer.grading.judge import (
    CONTRADICT,
    DENIALS_YIELD_TO_OTHER_POINTS,
    ENTAIL,
    NEUTRAL,
    Judge,
)
from interviewer.sources.rubric import KeyPoint, PointSet, Rubric, derive_key_points, point_sets

SIGNALS = (
    "coverage",
    "essential",
    "similarity",
    "best_unit",
    "length",
    "judge_coverage",
    "judge_essential",
    "judge_whole",
    "judge_consistent",
)

# Caps the guards impose, whatever the calibrated score says.
RESTATED_CAP = 0.5
OFF_TOPIC_CAP = 0.0  # it answers another question: no credit for this one
KEYWORD_LIST_CAP = 1.0
MISCONCEPTION_PENALTY = 1.0
# Longer answers are graded on their first MAX_ANSWER_CHARS characters (whole sentences), flagged
# `truncated` and said so in the explanation: a 5 MB paste must not take a batch minutes and gigabytes.
MAX_ANSWER_CHARS = 20_000
TRUNCATED_NOTE = f"only the first {MAX_ANSWER_CHARS:,} characters were graded"
ADHOC_VECTORS = 4096  # ad-hoc rubrics whose vectors a grader keeps
ADHOC_BANK = "adhoc"  # the bank of a rubric built from a row's own question and reference answer


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s|\n")


def truncate_answer(answer: str, limit: int = MAX_ANSWER_CHARS) -> tuple[str, bool]:
    """The answer cut to at most `limit` characters, and whether it was cut: at the last sentence end
    (a half sentence left at the cut reads as a different claim, and the judge named one such
    fragment as contradicting the point its whole sentence made), else at the last whitespace."""
    if len(answer) <= limit:
        return answer, False
    head = answer[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] > limit // 2:
        return head[: ends[-1]].rstrip(), True
    cut = max(head.rfind(" "), head.rfind("\n"))
    return (head[:cut] if cut > limit // 2 else head), True


class Signals(BaseModel):
    """Everything the grader measured for one answer, before calibration."""

    values: dict[str, float] = Field(default_factory=dict)
    point_scores: list[float] = Field(default_factory=list)  # best match per key point of the asked rubric
    misconception_scores: list[float] = Field(default_factory=list)
    misconception_units: list[str] = Field(default_factory=list)
    # With a judge: per key point, how strongly a sentence of the answer contradicts it, and which.
    point_contradictions: list[float] = Field(default_factory=list)
    contradiction_units: list[str] = Field(default_factory=list)
    # With a judge: per key point, the judge's surest entailment of it by a sentence of the answer.
    point_entailments: list[float] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    off_topic_match: str | None = None
    removed_units: int = 0


@dataclass
class RubricVectors:
    question: np.ndarray
    references: np.ndarray
    key_points: np.ndarray
    misconceptions: np.ndarray


def adhoc_rubric(
    question: str, reference: str, question_id: str | None = None, others: Sequence[str] = ()
) -> Rubric:
    """A rubric for a question not in the banks: its reference answer cut into key points. `others`
    are other acceptable answers, each checked here to make a rubric of its own (as graded). The id
    is the question's and first reference's, whatever the others: the examples of a question and its
    answers meet by it."""
    qid = question_id or "adhoc-" + hashlib.sha256(f"{question}\n{reference}".encode()).hexdigest()[:10]
    points = derive_key_points(reference, question=question)
    if not points:
        points = [KeyPoint(text=reference.strip(), source="bank")]
    rubric = Rubric(
        question_id=qid,
        bank=ADHOC_BANK,
        question=question,
        reference=reference,
        reference_source="bank",
        key_points=points,
        other_references=list(others),
    )
    acceptable_rubrics(rubric)  # a reference too short to grade against fails here, not mid-batch
    return rubric


@functools.lru_cache(maxsize=ADHOC_VECTORS)
def _acceptable_variant(question: str, reference: str, question_id: str) -> Rubric:
    """One other acceptable answer's rubric, built once per run (a batch grades many answers to it)."""
    return adhoc_rubric(question, reference, question_id)


def acceptable_rubrics(rubric: Rubric) -> list[Rubric]:
    """The rubric, then one per other acceptable answer (same question and id): an answer is graded
    against each and keeps the best grade, as a grader who lists several acceptable answers would."""
    others = [_acceptable_variant(rubric.question, o, rubric.question_id) for o in rubric.other_references]
    return [rubric, *others]


def graded_against(rubric: Rubric, grade: Grade) -> Rubric:
    """The rubric of the acceptable answer a grade was given against (the critic must read that one)."""
    return acceptable_rubrics(rubric)[grade.matched_reference] if rubric.other_references else rubric


def _quoted(text: str, limit: int = 60) -> str:
    """A text's opening, quoted: enough to tell which of several references is meant."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"  # at a word's end
    return f"“{flat}”"


def _normalize(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return float((weights * values).sum() / total) if total else 0.0


def _fold(values: Sequence[float] | np.ndarray, sets: list[PointSet]) -> np.ndarray:
    """Per set, the mean of its best `needed` values: one option of four covers "name one of them"."""
    array = np.asarray(values, dtype=float)
    return np.array([np.sort(array[idx])[::-1][:needed].mean() for idx, needed in sets])


def _fold_marks(
    weights: Sequence[float], essential: Sequence[bool], sets: list[PointSet]
) -> tuple[np.ndarray, np.ndarray]:
    """Each set's weight and essential mark: its first option's."""
    return (
        np.array([weights[idx[0]] for idx, _ in sets], dtype=float),
        np.array([essential[idx[0]] for idx, _ in sets], dtype=bool),
    )


def _least_of_options(values: list[float], sets: list[PointSet]) -> list[float]:
    """Per point, with each set of options read as contradicted only as far as its `needed`-th least
    contradicted option is (the answer can still make the options it needs), kept on its surest
    option only."""
    out = list(values)
    for idx, needed in sets:
        if len(idx) > 1:
            least = sorted(values[i] for i in idx)[needed - 1]
            top = max(idx, key=lambda i: values[i])
            for i in idx:
                out[i] = least if i == top else 0.0
    return out


def _soft(value: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


# How many of the answer's sentences (or adjacent pairs) the judge reads per key point at most,
# chosen by embedding similarity: the judge is the expensive model, the embeddings a cheap
# prefilter. Only the first is read when it surely entails the point (SURELY_ENTAILED).
JUDGE_CANDIDATES = 3
JUDGE_MISCONCEPTION_CANDIDATES = 2
# A sentence the judge reads as entailing a misconception's claim is also read against the
# correction: an on-topic sentence stating the opposite of the claim in the same words (a dropout
# rate "per iteration" against "the same fixed set of neurons") can read as entailing both, and
# then it asserts nothing. Read only where the claim's reading reaches this, so it costs few pairs.
CORRECTION_CHECK_AT = 0.3
# A key point whose most similar span the judge reads as entailing it this surely is not read
# against its other candidates: they could only raise its entailment, and (above 0.5) its
# contradiction no longer counts. Measured on 7,410 key points of dev, validity, SemEval and SAF
# answers: reading them would have raised coverage by 0.002 on average, 0.052 at most, while a
# fifth of the point reads are saved (a third on strong answers). The judge's entailment reads
# stay below about 0.97, so this is near its top.
SURELY_ENTAILED = 0.9
# A sentence nearly worded as a misconception counts as asserting it only if the judge, reading it,
# finds it at least as likely to assert the claim as not: "backprop computes the gradients; an
# optimizer then updates the weights" is worded like "backprop is the optimizer that updates the
# weights" and says the opposite.
NEAR_COPY_CONFIRM_AT = 0.5
# Similarity evidence that a key point was made ("covered") stops the judge's contradiction of it from
# counting, unless the judge reads the contradiction at least this surely. A sentence that negates a
# point in the point's own words is close to it by embedding and by words: all 150 negated validity
# probes had their negated point "covered" by similarity, so without this none was ever named.
CONTRADICTION_OVER_SIMILARITY = 0.95
FLOORS_KEPT = 4096  # rubrics whose model-answer readings (JudgeFloor) a grader keeps
# A reading this far above its floor is named as read: 0.95 over a floor of 0.65 is the judge being
# sure, not its noise; over 0.94 (000-24's claim), nothing can be.
FLOOR_MARGIN = 0.3
# A model answer read as entailing its own point less surely than this lifts an answer's reading of
# that point by at most 1 / CEILING_LOWEST: below it the judge is not reading the point there at all.
CEILING_LOWEST = 0.5


@dataclass(frozen=True)
class JudgeFloor:
    """What the judge reads in a rubric's own model answer: per key point, the contradiction it
    counts; per misconception, the assertion. The model answer states every point and asserts no
    misconception, so whatever it reads there is the judge's noise on that rubric (it reads some
    corrections as asserting their claim: "L2 shrinks weights without setting them exactly to zero"
    as "L2 drives weights exactly to zero" at 0.94). An answer's reading counts by how far it
    rises above this floor, so the model answer itself always reads as consistent."""

    contradictions: tuple[float, ...]
    assertions: tuple[float, ...]
    # Per key point, how surely the judge reads the model answer as entailing it (its ceiling on
    # that rubric); empty where not read. See _below_ceiling.
    entailments: tuple[float, ...] = ()
    # How surely it reads the model answer, as a whole, as entailing itself: the ceiling of an
    # answer's whole-answer reading (long texts read against themselves fall well short of 1:
    # 002-02's model answer at 0.50, 7 of 150 under 0.9). None where not read.
    whole: float | None = None


@dataclass(frozen=True)
class ShippedFloors:
    """Floors read ahead (`interviewer judge floors`), valid for one judge and one calibration."""

    judge: str
    calibration: str
    floors: dict[str, JudgeFloor]


def _above_floor(value: float, floor: float) -> float:
    """`value` rescaled so that `floor` reads as 0 and certainty stays 1."""
    if value <= floor or floor >= 1.0:
        return 0.0
    return round((value - floor) / (1.0 - floor), 4)


def _below_ceiling(value: float, ceiling: float) -> float:
    """An entailment read as a share of what the judge reads in the model answer for the same point,
    (`ceiling`, at least CEILING_LOWEST): saying a point as surely as the model answer says it is
    saying it fully. The judge's entailments of correct statements vary with their wording (it reads
    182 of the 1,018 bank key points under 0.8 in their own model answers, 84 under 0.5), and the
    dev-fitted scale took that spread as missing content."""
    return min(1.0, round(value / max(ceiling, CEILING_LOWEST), 4))


def _named_reading(value: float, floor: float) -> float:
    """A reading for naming: as read where it clears the floor by FLOOR_MARGIN, rescaled near it.
    Rescaled alone, 0.955 over a floor of 0.16 reads 0.946 and misses the naming threshold of 0.95,
    and the judge's reads top out near 0.97: every claim with a floor went all but unnamed."""
    return value if value - floor >= FLOOR_MARGIN else _above_floor(value, floor)


@dataclass
class JudgeWork:
    """What the judge must read for one answer: candidate spans per key point and misconception."""

    answer: str
    model_answer: str | None
    points: list[str]
    essential: list[bool]
    weights: list[float]
    point_spans: list[list[str]]
    claims: list[str]
    corrections: list[str]
    claim_spans: list[list[str]]
    claim_sims: list[list[float]]
    # Per claim, the sentence that similarity alone took as asserting it, or None: set aside uncredited
    # unless the judge cleared it (vetoed_near_copies) and the answer was measured again.
    near_copies: list[str | None]
    # The answer's sentences that earn credit (those not set aside).
    credited: frozenset[str] = frozenset()
    # The points' sets of alternatives (point_sets); None: every point alone.
    sets: list[PointSet] | None = None
    # Clauses cut at a semicolon, and pairs that end in one: no statement of their own ("There is no
    # formula;" reads as denying what its sentence goes on to say), they never contradict a point.
    cut_clauses: frozenset[str] = frozenset()

    def pairs(self, relevant_at: float) -> list[tuple[str, str]]:
        """The (span, hypothesis) pairs the judge reads first: each key point against its most
        similar span, the claims, the whole answer. A span less similar to a claim than relevant_at
        is never counted as asserting it, so it is not read at all (most answers' claim spans)."""
        out = [(spans[0], point) for point, spans in zip(self.points, self.point_spans, strict=True) if spans]
        out += [(span, claim) for claim, _, span in self.relevant_claim_spans(relevant_at)]
        out += [(unit, claim) for claim, _, unit in self.near_copy_units()]
        if self.model_answer:
            out.append((self.answer, self.model_answer))
        return out

    def second_pairs(
        self, probs: dict[tuple[str, str], np.ndarray], relevant_at: float
    ) -> list[tuple[str, str]]:
        """What the first pass leaves to read: the other candidate spans of each key point it did not
        find surely entailed, and the corrections of the claims some span seemed to assert."""
        out = [
            (span, point)
            for point, spans in zip(self.points, self.read_spans(probs), strict=True)
            for span in spans[1:]
        ]
        return out + self.correction_pairs(probs, relevant_at)

    def read_spans(self, probs: dict[tuple[str, str], np.ndarray]) -> list[list[str]]:
        """Per key point, the spans the judge reads: the most similar alone when it surely entails the
        point, else every candidate. Decided by the answer's own first reads, never by which other
        answers shared the batch."""
        return [
            spans[:1] if spans and float(probs[(spans[0], point)][ENTAIL]) >= SURELY_ENTAILED else spans
            for point, spans in zip(self.points, self.point_spans, strict=True)
        ]

    def correction_pairs(
        self, probs: dict[tuple[str, str], np.ndarray], relevant_at: float
    ) -> list[tuple[str, str]]:
        """(span, correction) for each relevant span that the first pass read as entailing a claim."""
        return [
            (span, correction)
            for claim, correction, span in [*self.relevant_claim_spans(relevant_at), *self.near_copy_units()]
            if float(probs[(span, claim)][ENTAIL]) >= CORRECTION_CHECK_AT
        ]

    def vetoed_near_copies(self, probs: dict[tuple[str, str], np.ndarray]) -> frozenset[str]:
        """The sentences set aside as worded like a claim that the judge reads as saying nothing about
        it: neutral is its top reading (so it does not assert the claim either), for every claim the
        sentence is worded like. One it reads as denying a claim in the claim's own words stays set
        aside: that reading is more often a misreading than a denial."""
        reads = [
            (unit, int(np.argmax(probs[(unit, claim)])) == NEUTRAL)
            for claim, _, unit in self.near_copy_units()
        ]
        held = {unit for unit, neutral in reads if not neutral}
        return frozenset(unit for unit, _ in reads if unit not in held and unit not in self.credited)

    def near_copy_units(self) -> list[tuple[str, str, str]]:
        """(claim, correction, unit) for each claim that similarity alone found nearly worded."""
        return [
            (claim, correction, unit)
            for claim, correction, unit in zip(self.claims, self.corrections, self.near_copies, strict=True)
            if unit is not None
        ]

    def relevant_claim_spans(self, relevant_at: float) -> list[tuple[str, str, str]]:
        """(claim, correction, span) for each span similar enough to a claim to count as asserting it."""
        return [
            (claim, correction, span)
            for claim, correction, spans, sims in zip(
                self.claims, self.corrections, self.claim_spans, self.claim_sims, strict=True
            )
            for span, sim in zip(spans, sims, strict=True)
            if sim >= relevant_at
        ]


def _floor_of(rubric: Rubric, read: Signals | None) -> JudgeFloor:
    """A JudgeFloor from the model answer's own assessment; nothing where the judge did not read it
    (a guard decided: the model answer restates the question, say)."""
    if (
        read is None
        or len(read.point_contradictions) != len(rubric.key_points)
        or len(read.misconception_scores) != len(rubric.misconceptions)
    ):
        return JudgeFloor((0.0,) * len(rubric.key_points), (0.0,) * len(rubric.misconceptions))
    whole = read.values.get("judge_whole")
    return JudgeFloor(
        tuple(read.point_contradictions),
        tuple(read.misconception_scores),
        tuple(read.point_entailments),
        whole,
    )


def floor_digest(rubric: Rubric) -> str:
    """A short, stable name for what a rubric's JudgeFloor depends on (shipped floors are keyed by it)."""
    return hashlib.sha256("\x1f".join(_floor_key(rubric)).encode()).hexdigest()[:20]


def _floor_key(rubric: Rubric) -> tuple[str, ...]:
    """What a rubric's JudgeFloor depends on: its question (echoes are set aside), concept group
    (similar coverage), model answer, key points, and claims with their corrections."""
    return (
        rubric.question_id,
        rubric.question,
        rubric.group or "",
        rubric.model_answer or "",
        "\0points",
        *(k.text for k in rubric.key_points),
        "\0claims",
        *(text for m in rubric.misconceptions for text in (m.claim, m.correction)),
    )


def _top(scores: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k]]


def _judge_work(
    rubric: Rubric,
    own: RubricVectors,
    units: list[str],
    pair_rows: list[int],
    span_vecs: np.ndarray,
    answer: str,
    near_copies: list[str | None],
    cut: Sequence[int] = (),
) -> JudgeWork:
    """`pair_rows` are the units joined to the next one (`_spans`), `cut` those of them that are a
    clause cut at a semicolon: a point that reads such a clause reads its sentence (the pair) too,
    since neither the clause's own reading nor a pair ending in a cut clause counts as a
    contradiction. Misconceptions read each clause alone, where a wrong claim may stand beside a
    right one."""
    joined = {i: f"{units[i]} {units[i + 1]}" for i in pair_rows}
    sentence_of = {units[i]: joined[i] for i in cut}
    fragments = {*sentence_of, *(joined[i] for i in pair_rows if i + 1 in cut)}
    spans = [*units, *joined.values()]
    point_spans = []
    # Sentences and adjacent pairs only: the whole answer as a premise costs several times more to
    # read and would be cut at the length limit, while a point is made within a sentence or two.
    for vec in own.key_points:
        candidates = [spans[i] for i in _top(span_vecs @ vec, JUDGE_CANDIDATES)]
        whole = [sentence_of[c] for c in candidates if c in sentence_of and sentence_of[c] not in candidates]
        point_spans.append(candidates + list(dict.fromkeys(whole)))
    claim_spans, claim_sims = [], []
    single_vecs = span_vecs[: len(units)]
    for vec in own.misconceptions:
        sims = single_vecs @ vec
        chosen = _top(sims, JUDGE_MISCONCEPTION_CANDIDATES)
        claim_spans.append([units[i] for i in chosen])
        claim_sims.append([float(sims[i]) for i in chosen])
    return JudgeWork(
        answer=answer,
        model_answer=rubric.model_answer,
        points=[k.text for k in rubric.key_points],
        essential=[k.essential for k in rubric.key_points],
        weights=[k.weight for k in rubric.key_points],
        point_spans=point_spans,
        claims=[m.claim for m in rubric.misconceptions],
        corrections=[m.correction for m in rubric.misconceptions],
        claim_spans=claim_spans,
        claim_sims=claim_sims,
        near_copies=near_copies,
        credited=frozenset(units),
        sets=point_sets(rubric.key_points),
        cut_clauses=frozenset(fragments),
    )


def _asserts(probs: dict[tuple[str, str], np.ndarray], span: str, claim: str, correction: str) -> float:
    """How surely a span asserts a claim: the judge's entailment, discounted when the span also
    reads as entailing the correction (then it does not take the claim's side): unchanged while
    P(correction) <= 0.5, nothing when it is certain."""
    entail = float(probs[(span, claim)][ENTAIL])
    corrected = probs.get((span, correction))
    if corrected is None:
        return entail
    return entail * min(1.0, 2.0 * (1.0 - float(corrected[ENTAIL])))


def _apply_judgement(
    signals: Signals,
    work: JudgeWork,
    probs: dict[tuple[str, str], np.ndarray],
    cal: Calibration,
    floor: JudgeFloor | None = None,
    denials_yield: bool = True,
) -> None:
    """The judge's reading joined with the similarity evidence already measured.

    The judge tells "prevents" from "causes", but it still misreads some sentences that restate a
    point in its own words (its contradiction examples share the point's words, its affirmations
    avoid them). So: a point counts as covered by either kind of evidence; a contradiction is
    counted only when the judge is sure and the similarity evidence does not say the point was
    made, unless the judge is all but certain (CONTRADICTION_OVER_SIMILARITY); a misconception is
    asserted when the sentence is close to the claim and the judge reads it as entailing the claim
    (or, as before, when it is nearly the claim itself). Both readings count only above what the
    judge reads in the rubric's own model answer (`floor`)."""
    similar_points = list(signals.point_scores)
    covered: list[float] = []
    entailed: list[float] = []
    contradicted: list[float] = []
    contradicting: list[str] = []
    evidence: list[set[str]] = []  # per point, the spans that make it best: most similar, most entailing
    for n, (point, spans) in enumerate(zip(work.points, work.read_spans(probs), strict=True)):
        rows = [probs[(span, point)] for span in spans]
        best = max(range(len(rows)), key=lambda i: float(rows[i][ENTAIL]))
        best_entail = float(rows[best][ENTAIL])
        evidence.append({spans[0], spans[best]})
        sentences = [i for i in range(len(rows)) if spans[i] not in work.cut_clauses]
        if sentences:
            worst = max(sentences, key=lambda i: float(rows[i][CONTRADICT]))
            contra = float(rows[worst][CONTRADICT])
        else:  # only cut clauses were read: nothing contradicts
            worst, contra = best, 0.0
        similar = similar_points[n] if n < len(similar_points) else 0.0
        # A point the answer also states (by either reading) is not counted against it: the judge
        # still reads some restatements as contradictions (measured: trusting it over similarity
        # from 0.9 flags 7 of the 150 model answers and 16 paraphrases, from 0.95 none). Similarity
        # yields only to a judge that is all but certain: a negation in the point's words is "similar".
        stated = similar >= cal.covered_at and contra < CONTRADICTION_OVER_SIMILARITY
        if best_entail >= 0.5 or stated or contra <= best_entail:
            contra = 0.0
        entailed.append(round(best_entail, 4))
        covered.append(round(max(best_entail, similar), 4))
        contradicted.append(round(contra, 4))
        contradicting.append(spans[worst])
    if denials_yield:
        contradicted = _unless_making_another_point(
            contradicted, contradicting, covered, evidence, work.credited, cal
        )
    asserted: list[float] = []
    asserting: list[str] = []
    for claim, correction, spans, sims, near in zip(
        work.claims, work.corrections, work.claim_spans, work.claim_sims, work.near_copies, strict=True
    ):
        reads = [
            _asserts(probs, span, claim, correction) if sim >= cal.claim_relevant_at else 0.0
            for span, sim in zip(spans, sims, strict=True)
        ]
        if near is not None:
            near_read = _asserts(probs, near, claim, correction)
            if near_read >= NEAR_COPY_CONFIRM_AT:  # worded like the claim, and the judge agrees
                asserted.append(1.0)
                asserting.append(near)
                continue
            spans, reads = [*spans, near], [*reads, near_read]
        best = max(range(len(spans)), key=lambda i: reads[i])
        asserted.append(round(reads[best], 4))
        asserting.append(spans[best])
    if floor is not None and len(floor.entailments) == len(covered):
        ceilings = zip(covered, entailed, floor.entailments, strict=True)
        covered = [max(c, _below_ceiling(e, top)) for c, e, top in ceilings]
    # What the feedback names (read against the naming thresholds), and what the consistency signal
    # discounts: both measured from the floor, the first only where the reading is near it.
    named_contradictions, named_assertions = contradicted, asserted
    if floor is not None:
        on_points = list(zip(contradicted, floor.contradictions, strict=True))
        on_claims = list(zip(asserted, floor.assertions, strict=True))
        named_contradictions = [_named_reading(v, f) for v, f in on_points]
        named_assertions = [_named_reading(v, f) for v, f in on_claims]
        contradicted = [_above_floor(v, f) for v, f in on_points]
        asserted = [_above_floor(v, f) for v, f in on_claims]
    sets = work.sets or [([i], 1) for i in range(len(work.points))]
    # Options are alternatives: an answer contradicts a set only as far as it contradicts the options it
    # would still need (naming one option "wrong" because the answer chose another would punish the choice).
    contradicted = _least_of_options(contradicted, sets)
    named_contradictions = _least_of_options(named_contradictions, sets)
    set_weights, set_essential = _fold_marks(work.weights, work.essential, sets)
    weights, essential = set_weights, set_weights * set_essential
    values = signals.values
    # Either reading covers a point: the judge credits other words, similarity the point's own words
    # (which the judge still misreads at times).
    # The judge reads the asked rubric only; similarity coverage already took the best of its concept
    # group (duplicates in other banks), so an answer never loses by which duplicate was asked.
    own = _weighted_mean(_fold(covered, sets), weights)
    own_essential = _weighted_mean(_fold(covered, sets), essential) if essential.any() else own
    values["judge_coverage"] = round(max(own, values.get("coverage", 0.0)), 4)
    values["judge_essential"] = round(max(own_essential, values.get("essential", 0.0)), 4)
    values["judge_entailed"] = round(_weighted_mean(_fold(entailed, sets), weights), 4)
    if work.model_answer:
        whole = float(probs[(work.answer, work.model_answer)][ENTAIL])
        if floor is not None and floor.whole is not None:
            whole = _below_ceiling(whole, floor.whole)
        values["judge_whole"] = round(whole, 4)
    # Coverage the judge found, discounted by the worst error it found: saying nothing is not
    # "consistent". An unnamed misconception reading counts only as far as the judge does not read the
    # answer, as a whole, as saying what the model answer says: it reads misconceptions into faithful
    # paraphrases as often as into wrong answers (16 and 15 of the 150 validity probes over 0.3),
    # where contradictions tell them apart (3 and 15); a fluent wrong answer reads far from the whole.
    vouched = values.get("judge_whole", 0.0)
    essential_contradictions = (c for c, e in zip(contradicted, work.essential, strict=True) if e)
    worst_error = max([*essential_contradictions, *(a * (1.0 - vouched) for a in asserted), 0.0])
    values["judge_consistent"] = round(values["judge_coverage"] * (1.0 - worst_error), 4)
    signals.point_scores = covered
    signals.point_entailments = entailed
    signals.point_contradictions = named_contradictions
    signals.contradiction_units = contradicting
    signals.misconception_scores = named_assertions
    signals.misconception_units = asserting


def _unless_making_another_point(
    contradicted: list[float],
    contradicting: list[str],
    covered: list[float],
    evidence: list[set[str]],
    sentences: frozenset[str],
    cal: Calibration,
) -> list[float]:
    """The contradictions left once a sentence that is the best evidence of another point, made
    clearly and not itself contradicted, is cleared of contradicting this one. The judge reads some
    correct sentences as denying a neighbouring point ("Max pooling keeps the largest value in each
    window, so the map gets smaller" against "pooling summarizes each small window into one value",
    0.92). A sentence alone, not a pair: a pair often joins a denial to a sentence that makes
    another point. For the judges in DENIALS_YIELD_TO_OTHER_POINTS only, where it was measured."""
    clear = [
        m
        for m, (value, against) in enumerate(zip(covered, contradicted, strict=True))
        if value >= cal.clearly_covered_at and not against
    ]
    return [
        0.0
        if against
        and contradicting[n] in sentences
        and any(m != n and contradicting[n] in evidence[m] for m in clear)
        else against
        for n, against in enumerate(contradicted)
    ]


class Grader:
    """Grades answers against rubrics held in a RubricIndex, with one embedder."""

    def __init__(
        self,
        index: RubricIndex,
        embedder: Embed,
        calibration: Calibration | None = None,
        judge: Judge | None = None,
        shipped_floors: ShippedFloors | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.judge = judge
        # A judge with no base named (a test's own) is read like the default one.
        self._denials_yield = getattr(judge, "base", "minilm") in DENIALS_YIELD_TO_OTHER_POINTS
        self._floors: OrderedDict[str, JudgeFloor] = OrderedDict()  # by floor_digest
        self._shipped = shipped_floors
        self.calibration = calibration or load_calibration()
        self._indexed_vectors: dict[str, RubricVectors] = {}
        # Rubrics not in the index (ad hoc), by their texts: built and embedded once, reused by every
        # answer to them (a batch run grades thousands of answers against a few hundred of these).
        self._adhoc_vectors: OrderedDict[tuple[str, ...], RubricVectors] = OrderedDict()
        self._groups: dict[str, list[str]] = {}
        for rubric in index.rubrics.values():
            if rubric.group:
                self._groups.setdefault(rubric.group, []).append(rubric.question_id)

    @property
    def calibration(self) -> Calibration:
        return self._calibration

    @calibration.setter
    def calibration(self, calibration: Calibration) -> None:
        # Its thresholds decide what the judge's reading of a model answer counts (JudgeFloor).
        self._calibration = calibration
        self._floors.clear()

    def _shipped_floor(self, digest: str) -> JudgeFloor | None:
        """The floor read ahead for this rubric with this judge and calibration, if one was shipped."""
        shipped = self._shipped
        if shipped is None or self.judge is None:
            return None
        if (shipped.judge, shipped.calibration) != (self.judge.name, self.calibration.version):
            return None
        return shipped.floors.get(digest)

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
        return self.match_questions([question])[0]

    def match_questions(self, questions: list[str]) -> list[tuple[str, float]]:
        """`match_question` for several texts, embedded in one batch."""
        if not questions:
            return []
        out = []
        for vector in self.embedder.encode(questions):
            best = self.index.question_scores(vector, k=64, kinds=("question",))
            if not best:
                out.append(("", 0.0))
                continue
            question_id = max(best, key=best.__getitem__)
            out.append((question_id, round(best[question_id], 3)))
        return out

    def _is_indexed(self, rubric: Rubric) -> bool:
        indexed = self.index.rubrics.get(rubric.question_id)
        return indexed is rubric or (indexed is not None and indexed == rubric)

    @staticmethod
    def _rubric_texts(rubric: Rubric) -> tuple[tuple[str, ...], int]:
        """The texts an ad-hoc rubric is embedded from, and how many reference passages lead them."""
        passages = reference_passages(rubric.model_answer) if rubric.model_answer else []
        texts = (
            rubric.question,
            *passages,
            *(k.text for k in rubric.key_points),
            *(m.claim for m in rubric.misconceptions),
        )
        return texts, len(passages)

    def _adhoc_from(self, rubric: Rubric, vectors: dict[str, np.ndarray]) -> RubricVectors:
        texts, n_passages = self._rubric_texts(rubric)
        found = self._adhoc_vectors.get(texts)
        if found is not None:
            self._adhoc_vectors.move_to_end(texts)
            return found
        missing = [t for t in texts if t not in vectors]
        if missing:
            vectors = {**vectors, **dict(zip(missing, self.embedder.encode(missing), strict=True))}
        stacked = np.vstack([vectors[t] for t in texts])
        a, b = 1 + n_passages, 1 + n_passages + len(rubric.key_points)
        built = RubricVectors(stacked[0], stacked[1:a], stacked[a:b], stacked[b:])
        self._adhoc_vectors[texts] = built
        while len(self._adhoc_vectors) > ADHOC_VECTORS:
            self._adhoc_vectors.popitem(last=False)
        return built

    def _vectors(self, rubric: Rubric) -> RubricVectors:
        if self._is_indexed(rubric):
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
        return self._adhoc_from(rubric, {})

    # -- grading -----------------------------------------------------------------------------------

    def grade(self, rubric: Rubric | str, answer: str) -> Grade:
        return self.grade_many([(rubric, answer)])[0]

    def grade_many(self, items: Sequence[tuple[Rubric | str, str]]) -> list[Grade]:
        """Grade several answers, embedding all their sentences in one batch."""
        return [self.grade_assessment(a) for a in self.assess_many(items)]

    def with_examples(
        self, items: Sequence[tuple[Rubric | str, str]], grades: Sequence[Grade], examples: ExampleSet
    ) -> list[Grade]:
        """`grades` (of `items`) with the graded examples of their questions blended in
        (`grading/examples.py`). Only answers a blend can change are read."""
        blendable = [g.question_id if g.score is not None and not g.guarded else None for g in grades]
        readings = self.read_examples([answer for _, answer in items], blendable, examples)
        return [apply_reading(g, reading) for g, reading in zip(grades, readings, strict=True)]

    def read_examples(
        self,
        answers: Sequence[str],
        question_ids: Sequence[str | None],
        examples: ExampleSet,
        exclude: Sequence[str] | None = None,
    ) -> list[ExampleReading | None]:
        """Each answer read by its question's examples (None where it has none, or for a None id); the
        answers read are embedded whole, in one batch. `exclude[i]`: an example id left out for answer i."""
        due = [i for i, qid in enumerate(question_ids) if qid in examples.questions]
        readings: list[ExampleReading | None] = [None] * len(answers)
        vectors = self.embed_answers([answers[i] for i in due]) if due else np.zeros((0, 0))
        for i, vector in zip(due, vectors, strict=True):
            left_out = exclude[i] if exclude is not None else None
            readings[i] = examples.read(question_ids[i], _normalize(vector), exclude=left_out)
        return readings

    def example_set(self, examples: Sequence[tuple[Rubric, GradedExample]]) -> ExampleSet:
        """Examples grouped by their rubric and embedded (one batch), at the default share and start."""
        groups: dict[str, list[GradedExample]] = {}
        for rubric, example in examples:
            groups.setdefault(rubric.question_id, []).append(example)
        ordered = [e for group in groups.values() for e in group]
        vectors = self.embed_answers([e.answer for e in ordered]) if ordered else np.zeros((0, 0))
        built, start = {}, 0
        for qid, group in groups.items():
            built[qid] = question_examples(vectors[start : start + len(group)], group)
            start += len(group)
        return ExampleSet(built)

    def fit_examples(
        self, examples: ExampleSet, graded: Sequence[tuple[Rubric, GradedExample]], grades: Sequence[Grade]
    ) -> ExampleSet:
        """`examples` with how much they weigh (share, closeness ramp) fitted on `graded` (examples
        of the set, `grades` their rubric's grades): each estimated, by its stored vector, from the
        others of its question, as an answer will be."""
        rows = []
        for (_, example), grade in zip(graded, grades, strict=True):
            reading = examples.read_own(grade.question_id, example.id)
            if reading is not None and grade.score is not None and not grade.guarded:
                rows.append(
                    (grade.score, reading.estimate, example.grade, reading.count, reading.nearest_similarity)
                )
        if not rows:
            return examples
        scores, estimates, truth, counts, nearest = zip(*rows, strict=True)
        trust = fit_trust(scores, estimates, truth, counts, nearest)
        return examples if trust is None else ExampleSet(examples.questions, trust, len(rows))

    def embed_answers(self, answers: Sequence[str]) -> np.ndarray:
        """Whole answers, as graded (cut at MAX_ANSWER_CHARS): what graded examples are compared by."""
        return self.embedder.encode([truncate_answer(a)[0] for a in answers])

    def assess_many(self, items: Sequence[tuple[Rubric | str, str]]) -> list[Assessment]:
        """Signals for several answers (the uncalibrated half of grading); one embedding batch."""
        return self._assess(items, floored=True)

    def _assess(
        self, items: Sequence[tuple[Rubric | str, str]], floored: bool, second_look: bool = True
    ) -> list[Assessment]:
        """Each answer assessed against its rubric, or, where the rubric lists other acceptable
        answers, against each of them (one batch), keeping the one it is graded best against."""
        rubrics = [self.rubric(r) if isinstance(r, str) else r for r, _ in items]
        if not any(r.other_references for r in rubrics):
            return self._assess_each(
                [(r, a) for r, (_, a) in zip(rubrics, items, strict=True)], floored, second_look
            )
        variants = [acceptable_rubrics(r) for r in rubrics]
        flat = [(v, a) for vs, (_, a) in zip(variants, items, strict=True) for v in vs]
        assessed = iter(self._assess_each(flat, floored, second_look))
        return [self._best_option(tuple(next(assessed) for _ in vs), self.calibration) for vs in variants]

    def chosen(self, assessment: Assessment, calibration: Calibration | None = None) -> Assessment:
        """The answer's assessment against the acceptable answer it earns most under `calibration`
        (the grader's by default); itself where its rubric has one."""
        if not assessment.options:
            return assessment
        return self._best_option(assessment.options, calibration or self.calibration)

    @staticmethod
    def _best_option(options: tuple[Assessment, ...], cal: Calibration) -> Assessment:
        """Of an answer's assessments against each acceptable answer, the one it earns most under
        `cal` (the first of equals: the rubric's own), carrying them all: another calibration may
        choose another (grade_assessment chooses again)."""

        def earned(a: Assessment) -> float:  # -1 where no grade: a guard, no reference
            if a.signals is None:
                return -1.0
            return float(grade_from_signals(a.rubric, a.signals, cal, exact=True).score or 0.0)

        scores = [earned(a) for a in options]
        best = max(range(len(options)), key=lambda i: scores[i])
        return replace(options[best], matched=best, acceptable=len(options), options=options)

    def _assess_each(
        self, items: Sequence[tuple[Rubric, str]], floored: bool, second_look: bool = True
    ) -> list[Assessment]:
        prepared = [self._prepare(r, a) for r, a in items]
        # One embedding batch for every answer's sentences and every new ad-hoc rubric's texts
        # (sentence-transformers sorts a batch by length, so mixing them costs no padding).
        texts = {t for p in prepared if p.graded for t in p.texts or ()}
        new_rubrics = {}
        for p in prepared:
            if p.graded and not self._is_indexed(p.rubric):
                key, _ = self._rubric_texts(p.rubric)
                if key not in self._adhoc_vectors:
                    new_rubrics[key] = p.rubric
                    texts.update(key)
        ordered = sorted(texts)
        vectors = dict(zip(ordered, self.embedder.encode(ordered), strict=True)) if ordered else {}
        for rubric in new_rubrics.values():
            self._adhoc_from(rubric, vectors)
        measured: list[tuple[Signals | None, JudgeWork | None]] = [
            self._measure(p, vectors) if p.graded else (None, None) for p in prepared
        ]
        works = [w for _, w in measured if w is not None]
        if self.judge is not None and works:
            probs = self._read(works, {})
            # A sentence worded like a misconception was set aside before the judge read it; where the
            # judge finds it says nothing about the claim, the answer is measured again with it credited.
            again: list[JudgeWork] = []
            for n, (p, (_, work)) in enumerate(zip(prepared, measured, strict=True)):
                vetoed = work.vetoed_near_copies(probs) if work is not None else frozenset()
                if vetoed:
                    measured[n] = self._measure(p, vectors, vetoed)
                    remeasured = measured[n][1]
                    if remeasured is not None:
                        again.append(remeasured)
            if again:
                self._read(again, probs)
            floors = (
                self._judge_floors([p.rubric for p, (_, w) in zip(prepared, measured, strict=True) if w])
                if floored
                else {}
            )
            for p, (signals, work) in zip(prepared, measured, strict=True):
                if signals is not None and work is not None:
                    floor = floors.get(floor_digest(p.rubric))
                    # A floor keeps the judge's own reading of the model answer, misreadings and all.
                    yields = self._denials_yield and floored
                    _apply_judgement(signals, work, probs, self.calibration, floor, yields)
            if second_look:
                self._clear_answers_that_fit_their_own_question(prepared, measured, floored)
        return [
            Assessment(p.rubric, s, p.flags, p.content_free)
            for p, (s, _) in zip(prepared, measured, strict=True)
        ]

    def _clear_answers_that_fit_their_own_question(
        self,
        prepared: list[_Prepared],
        measured: list[tuple[Signals | None, JudgeWork | None]],
        floored: bool,
    ) -> None:
        """The off-topic guard compares embeddings only, and a correct answer in plain words can sit
        nearer another question's rubric than its own ("a NumPy-like array that runs on the GPU and
        tracks operations for autodiff" nearer backpropagation than PyTorch tensors). The judge reads
        each suspect against the rival rubric too: an answer that covers its own question's points
        at least as well as the rival's is not off-topic (on the dev set this clears a correct answer
        zeroed that way and none of the 23 answers to other questions it catches)."""
        suspects = [
            (signals, p.answer)
            for p, (signals, _) in zip(prepared, measured, strict=True)
            if signals is not None and signals.off_topic_match is not None
        ]
        if not suspects:
            return
        rivals = self._assess_each(
            [(self.rubric(s.off_topic_match or ""), answer) for s, answer in suspects],
            floored,
            second_look=False,
        )
        for (signals, _), rival in zip(suspects, rivals, strict=True):
            own_fit = signals.values.get("judge_coverage", 0.0)
            rival_fit = rival.signals.values.get("judge_coverage", 0.0) if rival.signals else 0.0
            if own_fit >= rival_fit:
                signals.flags.remove(FLAG_OFF_TOPIC)
                signals.off_topic_match = None

    def _read(
        self, works: list[JudgeWork], probs: dict[tuple[str, str], np.ndarray]
    ) -> dict[tuple[str, str], np.ndarray]:
        """Adds to `probs` (and returns it) the judge's readings for these answers: one pass over the
        first pairs of all of them (sorted by length inside), then one over what those leave open: the
        other candidates of the points not surely entailed, and the corrections of the claims some
        span seemed to assert. A pair already in `probs` is not read again: a reading other answers
        have used (to choose what else to read) never changes under them."""
        judge = self.judge
        assert judge is not None
        relevant_at = self.calibration.claim_relevant_at

        def read(pairs: Iterable[tuple[str, str]]) -> None:
            unread = [pair for pair in dict.fromkeys(pairs) if pair not in probs]
            if unread:
                probs.update(zip(unread, judge.predict(unread), strict=True))

        read(pair for w in works for pair in w.pairs(relevant_at))
        read(pair for w in works for pair in w.second_pairs(probs, relevant_at))
        return probs

    def prepare(self, rubrics: Sequence[Rubric | str]) -> None:
        """Do now what the first answer to these rubrics would otherwise wait for: read their model
        answers with the judge (JudgeFloor). A practice session calls it while a question is read."""
        if self.judge is not None:
            self._judge_floors([self.rubric(r) if isinstance(r, str) else r for r in rubrics])

    def _judge_floors(self, rubrics: list[Rubric]) -> dict[str, JudgeFloor]:
        """The JudgeFloor of each rubric that can have one: its model answer assessed as an answer,
        without floors, once per grader (batched with the others missing)."""
        # An ad-hoc rubric (adhoc_rubric: a row's question and reference) has its reference's own
        # sentences as key points and no misconceptions: its floor is nothing (measured: 0 of 202
        # SemEval and SAF rubrics) and its ceilings are near the top (each point is a sentence of
        # the model answer, which entails itself), so its model answer is not read.
        wanted = {
            floor_digest(r): r
            for r in rubrics
            if r.model_answer and (r.misconceptions or r.bank != ADHOC_BANK)
        }
        for key in wanted:
            if key not in self._floors and (shipped := self._shipped_floor(key)) is not None:
                self._floors[key] = shipped
        missing = {k: r for k, r in wanted.items() if k not in self._floors}
        self._floors.update(zip(missing, self._read_floors(list(missing.values())), strict=True))
        for key in wanted:
            self._floors.move_to_end(key)
        found = {key: self._floors[key] for key in wanted}
        while len(self._floors) > FLOORS_KEPT:
            self._floors.popitem(last=False)
        return found

    def _read_floors(self, rubrics: list[Rubric]) -> list[JudgeFloor]:
        """Each rubric's model answer assessed as an answer, without floors: its JudgeFloor."""
        if not rubrics:
            return []
        # No second look at off-topic flags: a floor reads the points and claims, never the flags.
        own = self._assess([(r, r.model_answer or "") for r in rubrics], floored=False, second_look=False)
        return [_floor_of(r, a.signals) for r, a in zip(rubrics, own, strict=True)]

    @property
    def shipped_floors(self) -> ShippedFloors | None:
        """The floors read ahead for the bank rubrics that this grader was given (None: none)."""
        return self._shipped

    def read_floors(self, rubrics: Sequence[Rubric]) -> ShippedFloors:
        """The JudgeFloor of each rubric read now, whatever was shipped: what `interviewer judge
        floors` ships for the bank rubrics, so a cold run does not read their model answers."""
        readable = [r for r in rubrics if r.model_answer]
        floors: dict[str, JudgeFloor] = {}
        for start in range(0, len(readable), 32):
            chunk = readable[start : start + 32]
            floors.update(zip(map(floor_digest, chunk), self._read_floors(chunk), strict=True))
        judge = self.judge.name if self.judge is not None else ""
        return ShippedFloors(judge=judge, calibration=self.calibration.version, floors=floors)

    def grade_assessment(self, assessment: Assessment, calibration: Calibration | None = None) -> Grade:
        cal = calibration or self.calibration
        assessment = self.chosen(assessment, cal)
        if assessment.signals is None:
            grade = _ungraded(assessment.rubric, assessment.flags, assessment.content_free)
        else:
            grade = grade_from_signals(assessment.rubric, assessment.signals, cal)
        if assessment.acceptable > 1:
            update: dict[str, object] = {"matched_reference": assessment.matched}
            if grade.score is not None and not grade.guarded:
                quoted = _quoted(assessment.rubric.reference or "")
                of = f"the one of its {assessment.acceptable} reference answers it matches best"
                note = f"Graded against {of}: {quoted}."
                update["explanation"] = f"{grade.explanation} {note}".strip()
            grade = grade.model_copy(update=update)
        return grade

    def _prepare(self, rubric: Rubric, answer: str) -> _Prepared:
        flags: list[str] = []
        answer, cut = truncate_answer(answer or "")
        if tx.answer_language(answer):  # before the blank check: Chinese has no [a-z] words at all
            return _Prepared(rubric, answer, [], [FLAG_NOT_ENGLISH], graded=False)
        if cut:
            flags.append(FLAG_TRUNCATED)
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
            return _Prepared(
                rubric,
                answer,
                [],
                [*flags, FLAG_EMPTY],
                graded=False,
                removed=len(injected),
                content_free=bool(units),
            )
        if not rubric.has_reference and not rubric.key_points:
            return _Prepared(rubric, answer, units, [*flags, FLAG_NO_REFERENCE], graded=False)
        # A list is the answer asked for where the question asks only for items.
        if tx.is_keyword_list(" \n".join(units)) and not tx.asks_for_a_list(rubric.question):
            flags.append(FLAG_KEYWORD_LIST)
        content = " ".join(units)
        parts = [c for u in units for c in tx.clauses(u)]
        texts = list(dict.fromkeys([content, *units, *parts]))
        return _Prepared(
            rubric, answer, units, flags, graded=True, texts=texts, content=content, removed=len(injected)
        )

    def _measure(
        self, p: _Prepared, vectors: dict[str, np.ndarray], vetoed: frozenset[str] = frozenset()
    ) -> tuple[Signals, JudgeWork | None]:
        """The signals of one answer, in named steps: drop the sentences that only echo the question,
        set aside those asserting a misconception, score each sentence's relevance, cover the key
        points by meaning and by words, then length, restatement and off-topic."""
        cal = self.calibration
        rubric = p.rubric
        flags = list(p.flags)
        own = self._vectors(rubric)
        question_vec = own.question
        all_units = np.vstack([vectors[u] for u in p.units])

        keep = _not_echoing(p, all_units @ question_vec, cal)
        whole_question_sim = float(question_vec @ vectors[p.content])
        if not keep:
            flags.append(FLAG_RESTATED)
            zeros = {k: 0.0 for k in SIGNALS}
            return Signals(values={**zeros, "question_sim": round(whole_question_sim, 4)}, flags=flags), None
        misconceptions = _misconceptions(p, own, all_units, keep, cal, vetoed)
        keep = [i for r, i in enumerate(keep) if r not in misconceptions.asserted_rows] or keep
        units = [p.units[i] for i in keep]
        single_vecs = all_units[keep]
        answer_vec = vectors[p.content] if len(keep) == len(p.units) else _normalize(single_vecs.sum(axis=0))
        # group_of lists the asked rubric first: its vectors are already in hand (ad-hoc ones included).
        members = [(rubric, own), *((m, self._vectors(m)) for m in self.group_of(rubric)[1:])]

        best, relevance = _relevance(members, single_vecs, answer_vec)
        # A clause cut at a semicolon joins the clause after it, when nothing between them was set aside.
        cut = [i for i in range(len(keep) - 1) if keep[i + 1] == keep[i] + 1 and _continues(units[i])]
        pair_rows, pairs, unit_vecs = _spans(units, single_vecs, relevance, vectors, cal, cut)
        own_point_scores = _cover_key_points(rubric, members, units, unit_vecs, best, cal)

        values = {k: round(v, 4) for k, v in best.items()}
        values["length"] = _relevant_length(units, relevance, cal)
        content = " ".join(units)
        question_sim = float(question_vec @ answer_vec)
        novelty = tx.novelty(content, rubric.question)
        values["question_sim"] = round(whole_question_sim, 4)
        values["novelty"] = round(novelty, 4)
        values["uncredited_units"] = float(len(p.units) - len(keep))
        if (
            question_sim >= cal.restated_question_sim
            and novelty <= cal.restated_novelty
            and not _answers_a_point(rubric, content, cal)
        ):
            flags.append(FLAG_RESTATED)
        off_topic_match = self._off_topic(rubric, answer_vec, values, flags)
        signals = Signals(
            values=values,
            point_scores=own_point_scores,
            misconception_scores=misconceptions.scores,
            misconception_units=misconceptions.units,
            flags=flags,
            off_topic_match=off_topic_match,
            removed_units=p.removed,
        )
        work = None
        if self.judge is not None:
            near_copies = [
                unit if score >= cal.misconception_at else None
                for score, unit in zip(misconceptions.scores, misconceptions.units, strict=True)
            ]
            span_vecs = np.vstack([single_vecs, pairs])
            work = _judge_work(rubric, own, units, pair_rows, span_vecs, content, near_copies, cut)
        return signals, work

    def _off_topic(
        self, rubric: Rubric, answer_vec: np.ndarray, values: dict[str, float], flags: list[str]
    ) -> str | None:
        """The bank question the answer fits better than its own, flagged off-topic (or None).
        Records the margin in `values`."""
        cal = self.calibration
        if rubric.question_id not in self.index.rubrics:
            return None
        group_ids = {m.question_id for m in self.group_of(rubric)}
        scores = self.index.question_scores(answer_vec, k=96, kinds=("reference", "key_point"))
        own_best = max([values["similarity"], *(scores.get(q, -1.0) for q in group_ids)])
        others = {q: s for q, s in scores.items() if q not in group_ids}
        if not others:
            return None
        other_id = max(others, key=others.__getitem__)
        values["off_topic_margin"] = round(others[other_id] - own_best, 4)
        if others[other_id] - own_best >= cal.off_topic_margin and own_best < cal.off_topic_own_max:
            flags.append(FLAG_OFF_TOPIC)
            return other_id
        return None


# ---- the measurement's steps ---------------------------------------------------------------------


def _not_echoing(p: _Prepared, to_question: np.ndarray, cal: Calibration) -> list[int]:
    """The units that do more than echo the question ("so you're asking what X is"): the others earn
    nothing, so restating or paraphrasing the question can never add to a score."""
    echo = [
        (
            q >= cal.echo_question_sim
            and tx.novelty(u, p.rubric.question) <= cal.restated_novelty
            and not _answers_a_point(p.rubric, u, cal)
        )
        or (tx.is_meta(u) and q >= cal.echo_meta_sim)
        for u, q in zip(p.units, to_question, strict=True)
    ]
    return [i for i, e in enumerate(echo) if not e]


def _answers_a_point(rubric: Rubric, text: str, cal: Calibration) -> bool:
    """Whether the text says what one of the key points adds to the question. Short answers reuse the
    question's words: that alone must not make them echoes."""
    shares = (tx.answer_share(text, rubric.question, k.text) for k in rubric.key_points)
    return any(share >= cal.echo_point_share for share in shares) or any(
        tx.side_taken(text, rubric.question, k.text) for k in rubric.key_points
    )


@dataclass
class _Misconceptions:
    scores: list[float]  # per misconception: its best (negation-adjusted) match among the units
    units: list[str]  # the unit of that match
    asserted_rows: set[int]  # rows of `keep` that assert one: they earn no credit, they only cost


def _misconceptions(
    p: _Prepared,
    own: RubricVectors,
    all_units: np.ndarray,
    keep: list[int],
    cal: Calibration,
    vetoed: frozenset[str] = frozenset(),
) -> _Misconceptions:
    """Misconceptions first: a sentence asserting one earns no credit, it only costs. A sentence the
    judge read as not asserting the claim it is worded like (`vetoed`) is still reported as the
    claim's closest match, but it is credited like any other sentence."""
    found = _Misconceptions([], [], set())
    if not len(p.rubric.misconceptions):
        return found
    sims = all_units[keep] @ own.misconceptions.T  # units × misconceptions
    for m, claim in enumerate(p.rubric.misconceptions):
        column = sims[:, m].copy()
        for r, i in enumerate(keep):
            # "Dropout is NOT used at inference" is close to the claim but denies it.
            if tx.is_negated(p.units[i]) != tx.is_negated(claim.claim):
                column[r] -= 0.25
        row = int(np.argmax(column))
        found.scores.append(round(float(column[row]), 4))
        found.units.append(p.units[keep[row]])
        if column[row] >= cal.misconception_at and p.units[keep[row]] not in vetoed:
            found.asserted_rows.add(row)
    return found


def _relevance(
    members: list[tuple[Rubric, RubricVectors]], single_vecs: np.ndarray, answer_vec: np.ndarray
) -> tuple[dict[str, float], np.ndarray]:
    """Relevance of each sentence: its best match among the group's references and key points; with
    the answer's best similarity to a reference (whole and by its best sentence)."""
    best: dict[str, float] = {"coverage": 0.0, "essential": 0.0, "similarity": 0.0, "best_unit": 0.0}
    relevance = np.zeros(len(single_vecs))
    for _, vecs in members:
        if len(vecs.references):
            best["similarity"] = max(best["similarity"], float(np.max(vecs.references @ answer_vec)))
            to_refs = single_vecs @ vecs.references.T
            best["best_unit"] = max(best["best_unit"], float(np.max(to_refs)))
            relevance = np.maximum(relevance, to_refs.max(axis=1))
        if len(vecs.key_points):
            relevance = np.maximum(relevance, (single_vecs @ vecs.key_points.T).max(axis=1))
    return best, relevance


def _continues(unit: str) -> bool:
    """A unit cut at a semicolon: its sentence goes on in the next unit ("There is no formula;
    you tune it on validation data"); `tx.units` drops the ";" that ends a line."""
    return unit.endswith(";")


def _spans(
    units: list[str],
    single_vecs: np.ndarray,
    relevance: np.ndarray,
    vectors: dict[str, np.ndarray],
    cal: Calibration,
    cut: Sequence[int] = (),
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The spans key points are matched against: sentences, pairs of sentences, clauses.

    A key point may span two sentences: adjacent relevant sentences are also matched as the
    normalized sum of their vectors (close to the pair's own embedding, at no model cost).
    Filler sentences never join a pair, so padding cannot lift a neighbour's match; a clause cut
    at a semicolon (rows in `cut`) always joins the next, whatever its relevance: one sentence."""
    pair_rows = sorted(
        {i for i in range(len(units) - 1) if min(relevance[i], relevance[i + 1]) >= cal.pair_at} | set(cut)
    )
    pairs = single_vecs[pair_rows] + single_vecs[[i + 1 for i in pair_rows]]
    pairs = pairs / np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-9)
    parts = [c for u in units for c in tx.clauses(u)]
    stacks = [single_vecs, pairs] if len(pair_rows) else [single_vecs]
    if parts:
        stacks.append(np.vstack([vectors[c] for c in parts]))
    return pair_rows, pairs, np.vstack(stacks)


def _cover_key_points(
    rubric: Rubric,
    members: list[tuple[Rubric, RubricVectors]],
    units: list[str],
    unit_vecs: np.ndarray,
    best: dict[str, float],
    cal: Calibration,
) -> list[float]:
    """Coverage of each member's key points, the best member's kept in `best`; returns the asked
    rubric's per-point scores."""
    own_point_scores: list[float] = []
    answer_stems = tx.stems(" ".join(units))
    best.update(semantic=0.0, lexical=0.0)
    for member, vecs in members:
        if not len(member.key_points):
            continue
        sets = point_sets(member.key_points)
        weights, essential = _fold_marks(
            [k.weight for k in member.key_points], [k.essential for k in member.key_points], sets
        )
        # Each key point is covered by meaning (best sentence/clause/pair match) and by words
        # (its terms used); the mean of the two is robust to paraphrase and to topical fluff.
        semantic = np.array(
            [_soft(s, cal.cover_low, cal.cover_high) for s in np.max(unit_vecs @ vecs.key_points.T, axis=0)]
        )
        lexical = np.array([tx.lexical_recall(k.text, answer_stems) for k in member.key_points])
        per_point = (semantic + lexical) / 2

        per_set = _fold(per_point, sets)
        best["coverage"] = max(best["coverage"], _weighted_mean(per_set, weights))
        best["semantic"] = max(best["semantic"], _weighted_mean(_fold(semantic, sets), weights))
        best["lexical"] = max(best["lexical"], _weighted_mean(_fold(lexical, sets), weights))
        if essential.any():
            best["essential"] = max(best["essential"], _weighted_mean(per_set, weights * essential))
        if member is rubric:
            own_point_scores = [round(float(v), 4) for v in per_point]
    return own_point_scores


def _relevant_length(units: list[str], relevance: np.ndarray, cal: Calibration) -> float:
    """Length counts words by how much their sentence is about the rubric: filler buys nothing."""
    relevant_words = sum(
        len(tx.content_words(u)) * _soft(r, cal.relevant_at, cal.relevant_full)
        for u, r in zip(units, relevance, strict=True)
    )
    return round(min(1.0, math.log1p(relevant_words) / math.log1p(cal.length_full)), 4)


@dataclass
class Assessment:
    rubric: Rubric
    signals: Signals | None  # None when a guard decided without measuring (empty, no reference…)
    flags: list[str]
    # Flagged empty though something was typed ("It will work."): said so, not "no answer was given".
    content_free: bool = False
    # Of `acceptable` reference answers (the rubric's and its other acceptable ones), the one this
    # assessment is against: 0 the rubric's own.
    matched: int = 0
    acceptable: int = 1
    # The answer's assessment against each acceptable answer, in order (empty: the rubric has one);
    # which is best depends on the calibration, so grading under another one chooses again.
    options: tuple[Assessment, ...] = ()


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
    content_free: bool = False


def _ungraded(rubric: Rubric, flags: list[str], content_free: bool = False) -> Grade:
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
        FLAG_NOT_ENGLISH: "The answer is not in English; only English answers are graded.",
    }
    reason = next((why[f] for f in flags if f in why), "No answer was given.")
    if content_free and FLAG_EMPTY in flags:
        reason = "The answer says nothing specific to grade: name the idea, how it works or an example."
    if FLAG_INJECTION in flags:
        reason = "The answer only addresses the grader; there is nothing to grade."
    if FLAG_TRUNCATED in flags:
        reason += " " + TRUNCATED_NOTE[0].upper() + TRUNCATED_NOTE[1:] + "."
    return Grade(
        question_id=rubric.question_id,
        score=0.0,
        band="no answer",
        flags=flags,
        # Not read at all when it is not English: nothing was judged missing.
        missed=[]
        if FLAG_NOT_ENGLISH in flags
        else _missed(rubric.key_points, point_sets(rubric.key_points), set())[0],
        explanation=reason,
    )


_COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def options_text(options: list[str], needed: int, more: bool = False) -> str:
    """A set of alternatives as feedback and the critic read it: "one of: A; B; C"."""
    return f"{_COUNT_WORDS.get(needed, str(needed))} {'more ' if more else ''}of: " + "; ".join(options)


def _missed(points: list[KeyPoint], sets: list[PointSet], covered: set[str]) -> tuple[list[str], int]:
    """The points (or sets of options) the answer did not cover, and how many of them are essential.
    A set short of its `needed` options is named once: "one of: A; B; C"."""
    missed: list[str] = []
    essential = 0
    for idx, needed in sets:
        options = [points[i] for i in idx]
        have = sum(k.text in covered for k in options)
        if have >= needed:
            continue
        essential += options[0].essential
        if len(options) == 1:
            missed.append(options[0].text)
        else:
            more = needed - have
            rest = [k.text for k in options if k.text not in covered]
            missed.append(options_text(rest, more, more=bool(have)))
    return missed, essential


def _per_set(points: list[KeyPoint], sets: list[PointSet], covered: list[str]) -> list[tuple[int, int]]:
    """Per point or set of options: how many of its options `covered` makes, and how many it needs."""
    return [(sum(points[i].text in covered for i in idx), needed) for idx, needed in sets]


def _part_way(points: list[KeyPoint], sets: list[PointSet], covered: list[str]) -> str:
    """What the answer made of each set it is part way through (", and 3 of the 4 options a list
    needs"): "Covered 0 of 1 key points" alone read as nothing made beside a score of 4."""
    return "".join(
        f", and {have} of the {needed} options a list needs"
        for have, needed in _per_set(points, sets, covered)
        if 0 < have < needed
    )


def _made(points: list[KeyPoint], sets: list[PointSet], covered: list[str]) -> int:
    """How many of the rubric's points (a set of options counting once) `covered` makes."""
    return sum(have >= needed for have, needed in _per_set(points, sets, covered))


def grade_from_signals(rubric: Rubric, s: Signals, cal: Calibration, exact: bool = False) -> Grade:
    """Calibrated score, then the guards' caps and penalties; the explanation says which applied.
    `exact` keeps the score unrounded (for ranking metrics, where ties would blunt ROC AUC)."""
    flags = list(s.flags)
    score = cal.score(s.values, own_reference=rubric.bank == ADHOC_BANK)
    notes: list[str] = []

    covered = [k.text for k, v in zip(rubric.key_points, s.point_scores, strict=False) if v >= cal.covered_at]

    judged = bool(s.point_contradictions)
    asserted_at = cal.judge_asserts_at if judged else cal.misconception_at
    asserted = [
        rubric.misconceptions[i].claim
        for i, v in enumerate(s.misconception_scores)
        if v >= asserted_at and i < len(rubric.misconceptions)
    ]
    if asserted:
        flags.append(FLAG_MISCONCEPTION)
        score -= MISCONCEPTION_PENALTY * min(2, len(asserted))
        notes.append("asserts a common misconception: " + "; ".join(asserted))
    # A sentence the judge reads as contradicting a key point earns nothing and is named, with the fact.
    contradictions = [
        Contradiction(said=unit, fact=point.text, essential=point.essential)
        for point, v, unit in zip(
            rubric.key_points, s.point_contradictions, s.contradiction_units, strict=False
        )
        if v >= cal.contradiction_at
    ]
    if contradictions:
        flags.append(FLAG_CONTRADICTION)
        wrong = [c for c in contradictions if c.essential] or contradictions
        score -= cal.contradiction_penalty * min(2, len(wrong))
        if any(c.essential for c in contradictions):
            score = min(score, cal.contradiction_cap)
        covered = [k for k in covered if k not in {c.fact for c in contradictions}]
        notes.extend(f"you said “{c.said}”; in fact: {c.fact}" for c in contradictions)

    band: Band | None = None
    if FLAG_OFF_TOPIC in flags:
        score = min(score, OFF_TOPIC_CAP)
        band = "off-topic"
        # No credit means no point credited either: the judge reads fluent text on another topic as
        # entailing unrelated points (an answer on text classification "covered" 5 of 7 satellite
        # imagery points), and "Covered 5 of 7" beside a 0 would contradict the score.
        covered = []
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
    if FLAG_TRUNCATED in flags:
        notes.append(TRUNCATED_NOTE)

    score = min(5.0, max(0.0, score)) if exact else round(min(5.0, max(0.0, score)), 1)
    sets = point_sets(rubric.key_points)
    # An answer that only echoes the question was not read for points, and made none: it is told
    # what it needed, as a blank one is ("The capital of France is Berlin." listed nothing missed).
    missed, missed_essential = _missed(rubric.key_points, sets, set(covered))
    made = _made(rubric.key_points, sets, covered)
    # The judge's evidence for a credited point can be weak; saying so explains a modest score beside
    # "covered" (similarity alone has another scale, where the threshold was not measured).
    evidence = dict(zip((k.text for k in rubric.key_points), s.point_scores, strict=False))
    loosely = [k for k in covered if judged and evidence.get(k, 0.0) < cal.clearly_covered_at]
    loose = made - _made(rubric.key_points, sets, [k for k in covered if k not in loosely])
    how = "" if not loose else ", only loosely" if loose == made else f", {loose} of them only loosely"
    summary = f"Covered {made} of {len(sets)} key points{how}{_part_way(rubric.key_points, sets, covered)}."
    if missed_essential:
        summary += f" Missed {missed_essential} essential."
    explanation = " ".join([summary, *(n[0].upper() + n[1:] + "." for n in notes)])
    return Grade(
        question_id=rubric.question_id,
        score=score,
        band=band or band_for(score),
        covered=covered,
        loosely_covered=loosely,
        missed=missed,
        misconceptions=asserted,
        contradictions=contradictions,
        flags=flags,
        similarity=s.values.get("similarity", 0.0),
        coverage=s.values.get("coverage", 0.0),
        signals=s.values,
        explanation=explanation,
    )
