"""The Grade: what every surface shows and writes. Plain data, no behaviour."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Band = Literal["strong", "adequate", "weak", "off-topic", "no answer", "no reference"]

# Flags a Grade may carry; surfaces explain them, the critic may never lift a guarded grade.
FLAG_EMPTY = "empty"
FLAG_DONT_KNOW = "dont-know"
FLAG_RESTATED = "restated-question"
FLAG_OFF_TOPIC = "off-topic"
FLAG_KEYWORD_LIST = "keyword-list"
FLAG_INJECTION = "addressed-to-grader"
FLAG_REPETITION = "repetition"
FLAG_MISCONCEPTION = "misconception"
FLAG_CONTRADICTION = "contradiction"
FLAG_NO_REFERENCE = "no-reference"
FLAG_CRITIC_FAILED = "critic-unavailable"
FLAG_NOT_ENGLISH = "not-english"
FLAG_TRUNCATED = "truncated"  # only a prefix of a very long answer was graded

GUARD_FLAGS = frozenset(
    {FLAG_EMPTY, FLAG_DONT_KNOW, FLAG_RESTATED, FLAG_OFF_TOPIC, FLAG_NO_REFERENCE, FLAG_NOT_ENGLISH}
)


class CriticNote(BaseModel):
    """What the LLM critic said and what it changed."""

    critic: str
    model: str | None = None
    verdict_score: float | None = None
    embedding_score: float
    final_score: float
    changed: str = Field(description="one line: what the critic changed and why")
    feedback: str = ""
    factual_errors: list[str] = Field(default_factory=list)
    covered: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    failed: bool = False
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Contradiction(BaseModel):
    """A sentence of the answer that the judge reads as contradicting a key point."""

    said: str
    fact: str = Field(description="the key point it contradicts: what is actually true")
    essential: bool = True


class Grade(BaseModel):
    question_id: str | None
    score: float | None = Field(ge=0, le=5, description="0–5, one decimal; None when no reference exists")
    band: Band
    covered: list[str] = Field(default_factory=list)
    # Of `covered`, the points credited on weak evidence (said loosely, or in words the grader is unsure of).
    loosely_covered: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    misconceptions: list[str] = Field(default_factory=list, description="wrong claims the answer asserts")
    contradictions: list[Contradiction] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    similarity: float = 0.0
    coverage: float = 0.0
    signals: dict[str, float] = Field(default_factory=dict)
    explanation: str = ""
    critic: CriticNote | None = None
    # Which of the rubric's acceptable reference answers it was graded against (0: its own reference;
    # n: its n-th other one). The explanation quotes it; `grade` output names its column.
    matched_reference: int = Field(default=0, ge=0, exclude=True)

    @property
    def guarded(self) -> bool:
        return bool(GUARD_FLAGS.intersection(self.flags))


def dont_know_grade(question_id: str | None, key_points: list[str]) -> Grade:
    """The grade of an answer that says the candidate does not know: 0, every key point missed."""
    return Grade(
        question_id=question_id,
        score=0.0,
        band="no answer",
        flags=[FLAG_DONT_KNOW],
        missed=list(key_points),
        explanation="The answer says the candidate does not know.",
    )


# The band thresholds; a practice session also moves up a level at STRONG_AT and down below ADEQUATE_AT.
STRONG_AT = 3.75
ADEQUATE_AT = 2.25


def band_for(score: float) -> Band:
    if score >= STRONG_AT:
        return "strong"
    if score >= ADEQUATE_AT:
        return "adequate"
    return "weak"
