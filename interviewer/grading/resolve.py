"""Which rubric an answer is graded against: the one rule `grade` and `eval` share.

A bank question by id; else an ad-hoc rubric built from the row's own reference answer (a
`question_id` that is not a bank id is then the user's own label); else the bank question whose
text is most similar, if it is similar enough (MATCH_THRESHOLD).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError

from interviewer.sources.rubric import Rubric

if TYPE_CHECKING:
    from interviewer.grading.grader import Grader

MATCH_THRESHOLD = 0.6  # below this a free-text question is not confidently a bank question

# Why a row has no rubric; each surface words its own message.
UNKNOWN_ID = "unknown-id"
SHORT_REFERENCE = "short-reference"
NO_MATCH = "no-match"

# How a graded row's columns were read, where the user may not expect it (told once per run).
REFERENCES_UNREAD = "references-unread"  # a bank `question_id` chose the rubric over the row's references
OWN_LABEL = "own-label"  # a `question_id` that is no bank id, beside a reference: the user's own label


@dataclass(frozen=True)
class Resolution:
    """A rubric (with the bank question matched by text, if any), or the problem that left none."""

    rubric: Rubric | None = None
    matched: str | None = None
    similarity: float | None = None
    problem: str | None = None
    # SHORT_REFERENCE: the reference answer too short to grade against, where the row gave several.
    short: str | None = None
    # REFERENCES_UNREAD or OWN_LABEL, where one applies.
    note: str | None = None


def needs_match(question_id: str | None, reference_answer: str | None) -> bool:
    """Whether the row is resolved by matching its question text against the bank."""
    return not question_id and not reference_answer


def resolve_rubric(
    grader: Grader,
    question_id: str | None,
    question: str | None,
    reference_answer: str | None,
    adhoc: Callable[[str, str, Sequence[str]], Rubric] | None = None,
    match: tuple[str, float] | None = None,
    other_references: Sequence[str] = (),
) -> Resolution:
    """The rubric a row is graded against. `adhoc` builds (or reuses) an ad-hoc rubric from the
    question, the reference and the other acceptable answers; `match` is the row's best bank match
    when the caller matched several questions in one batch (else it is matched here)."""
    if question_id and question_id in grader.index.rubrics:
        return Resolution(grader.rubric(question_id), note=REFERENCES_UNREAD if reference_answer else None)
    if question_id and not reference_answer:
        return Resolution(problem=UNKNOWN_ID)
    if reference_answer:
        from interviewer.grading.grader import adhoc_rubric

        def build_adhoc(question: str, reference: str, others: Sequence[str]) -> Rubric:
            return adhoc_rubric(question, reference, others=others)

        build = adhoc or build_adhoc
        try:
            rubric = build(question or "", reference_answer, tuple(other_references))
            return Resolution(rubric, note=OWN_LABEL if question_id else None)
        except ValidationError:
            short = next(r for r in (reference_answer, *other_references) if not _gradable(question or "", r))
            return Resolution(problem=SHORT_REFERENCE, short=short if other_references else None)
    matched, similarity = match if match is not None else grader.match_question(question or "")
    if not matched or similarity < MATCH_THRESHOLD:
        return Resolution(matched=matched, similarity=similarity, problem=NO_MATCH)
    return Resolution(grader.rubric(matched), matched, similarity)


def _gradable(question: str, reference: str) -> bool:
    from interviewer.grading.grader import adhoc_rubric

    try:
        adhoc_rubric(question, reference)
    except ValidationError:
        return False
    return True


def short_reference_message(found: Resolution) -> str:
    """What `grade` and `eval` say of a reference answer too short to grade against."""
    which = "`reference_answer`" if found.short is None else f"the reference answer {found.short.strip()!r}"
    return f"{which} is too short to grade against; give a sentence or more"
