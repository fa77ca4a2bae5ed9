"""The validity line: whether the grade means what it says on answers whose worth we know.

A grader people trust gives each rubric's own model answer, graded as an answer to its question,
full marks with no flag; a faithful paraphrase of it a strong score; and the model answer with one
essential point negated less than the model answer, naming that point (the judge issue's targets:
all of them, for every rubric). `interviewer eval --validity` prints the line and
`tests/test_validity.py` holds it; both count here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from interviewer.domain.grade import Grade
from interviewer.sources.rubric import Rubric
from interviewer.sources.validity import ValidityProbe

if TYPE_CHECKING:
    from interviewer.grading.grader import Grader

REFERENCE_FULL_MARKS = 4.5
PARAPHRASE_STRONG = 4.0
NOTICED_DROP = 0.5  # a drop a candidate would notice


@dataclass(frozen=True)
class ValidityGrades:
    """Each probe's three grades, in the probes' order."""

    probes: Sequence[ValidityProbe]
    references: Sequence[Grade]
    paraphrases: Sequence[Grade]
    negated: Sequence[Grade]


@dataclass(frozen=True)
class ValidityLine:
    """What the grader does with the probes: counts (the targets: each equal to `probes`, no flag),
    and which probes fall short, for the message that names them."""

    probes: int
    references_at_least_4_5: int
    references_flagged: int
    paraphrases_at_least_4: int
    negated_below_their_reference: int
    negated_half_a_point_below: int
    negated_naming_their_point: int  # each then at most the contradiction cap
    reference_mean: float
    mean_drop: float  # model answer minus negated answer, on average
    low_references: tuple[tuple[str, float], ...]
    flagged_references: tuple[tuple[str, tuple[str, ...]], ...]
    low_paraphrases: tuple[tuple[str, float], ...]
    named: tuple[tuple[str, float], ...]  # the negated answers that name their point, with their score


def probe_problems(probes: Sequence[ValidityProbe], rubrics: Mapping[str, Rubric]) -> list[str]:
    """Probes that cannot be graded as meant: an unknown question, or a negated point that is not one
    of the rubric's essential key points (the probe then measures nothing)."""
    problems = []
    for p in probes:
        rubric = rubrics.get(p.question_id)
        if rubric is None:
            problems.append(f"line {p.line}: {p.question_id}: no rubric has this question_id")
            continue
        essential = {k.text for k in rubric.key_points if k.essential}
        if p.negated.key_point not in essential:
            problems.append(
                f"line {p.line}: {p.question_id}: negated.key_point is not one of the rubric's essential "
                "key points; copy it from the rubric"
            )
    return problems


def grade_probes(
    grader: Grader, probes: Sequence[ValidityProbe], rubrics: Mapping[str, Rubric]
) -> ValidityGrades:
    """Every probe graded in one batch: model answers, paraphrases, negated answers."""
    chosen = [rubrics[p.question_id] for p in probes]
    items: list[tuple[Rubric | str, str]] = [(r, r.model_answer or "") for r in chosen]
    items += [(r, p.paraphrase) for r, p in zip(chosen, probes, strict=True)]
    items += [(r, p.negated.answer) for r, p in zip(chosen, probes, strict=True)]
    grades = grader.grade_many(items)
    n = len(probes)
    return ValidityGrades(probes, grades[:n], grades[n : 2 * n], grades[2 * n :])


def _score(grade: Grade) -> float:
    return grade.score or 0.0


def validity_line(graded: ValidityGrades) -> ValidityLine:
    ids = [p.question_id for p in graded.probes]
    refs, paras, negs = graded.references, graded.paraphrases, graded.negated
    pairs = [(_score(r), _score(n)) for r, n in zip(refs, negs, strict=True)]
    named = [
        (q, _score(n))
        for q, n, p in zip(ids, negs, graded.probes, strict=True)
        if p.negated.key_point in [c.fact for c in n.contradictions]
    ]
    return ValidityLine(
        probes=len(ids),
        references_at_least_4_5=sum(_score(r) >= REFERENCE_FULL_MARKS for r in refs),
        references_flagged=sum(bool(r.flags) for r in refs),
        paraphrases_at_least_4=sum(_score(p) >= PARAPHRASE_STRONG for p in paras),
        negated_below_their_reference=sum(n < r for r, n in pairs),
        negated_half_a_point_below=sum(n <= r - NOTICED_DROP for r, n in pairs),
        negated_naming_their_point=len(named),
        reference_mean=round(float(np.mean([_score(r) for r in refs])), 3) if refs else 0.0,
        mean_drop=round(float(np.mean([r - n for r, n in pairs])), 3) if pairs else 0.0,
        low_references=tuple(
            (q, _score(r)) for q, r in zip(ids, refs, strict=True) if _score(r) < REFERENCE_FULL_MARKS
        ),
        flagged_references=tuple((q, tuple(r.flags)) for q, r in zip(ids, refs, strict=True) if r.flags),
        low_paraphrases=tuple(
            (q, _score(p)) for q, p in zip(ids, paras, strict=True) if _score(p) < PARAPHRASE_STRONG
        ),
        named=tuple(named),
    )
