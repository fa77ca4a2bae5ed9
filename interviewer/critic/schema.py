"""The critic's data: the Verdict an LLM returns, the request, the Critique, the transport protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field, field_validator

from interviewer.domain.errors import InterviewerError

SCORE_MAX = 5.0


class CriticConfigError(InterviewerError, ValueError):
    """The critic cannot be set up; the message says what to set."""


class ChatError(Exception):
    """A transport failure, with a message that is safe to show (no keys, one line)."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class Verdict(BaseModel):
    """What the LLM must return. Field order is the order it writes them: reasoning first, score last."""

    reasoning: str = ""
    covered: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    factual_errors: list[str] = Field(default_factory=list)
    feedback: str = ""
    score: float = Field(ge=0, le=SCORE_MAX, allow_inf_nan=False)

    @field_validator("score", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        # json `true` would otherwise pass as 1.0: a silent, meaningless score.
        if isinstance(value, bool):
            raise ValueError("score must be a number, not a boolean")
        return value


# Hand-written so it is valid for OpenAI strict structured outputs (all keys required, no extras).
_LIST = {"type": "array", "items": {"type": "string"}, "maxItems": 8}  # bounds a small model's runaway lists
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string", "description": "step-by-step judgement, written before scoring"},
        "covered": {**_LIST, "description": "key points stated correctly"},
        "missed": {**_LIST, "description": "key points absent or wrong"},
        "factual_errors": {**_LIST, "description": "wrong claims the answer makes"},
        "feedback": {"type": "string", "description": "1-3 sentences to the candidate"},
        "score": {"type": "number", "minimum": 0, "maximum": 5, "description": "0-5, decided last"},
    },
    "required": ["reasoning", "covered", "missed", "factual_errors", "feedback", "score"],
    "additionalProperties": False,
}


class CritiqueRequest(BaseModel):
    question: str
    reference: str | None = None
    key_points: list[str] = Field(default_factory=list)
    misconceptions: list[str] = Field(default_factory=list)
    answer: str


# Failure kinds that mean the critic could not be reached or would not serve (not a bad verdict).
TRANSPORT_FAILURES = frozenset({"connection", "timeout", "http", "rate-limit", "protocol", "error"})


class Critique(BaseModel):
    verdict: Verdict | None = None
    failed: bool = False
    note: str = ""
    failure: str = ""  # the ChatError kind when the transport failed ("connection", "timeout", …)
    model: str = ""
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def unavailable(self) -> bool:
        """The critic failed to answer at all (server down, refusing requests, timing out)."""
        return self.failed and self.failure in TRANSPORT_FAILURES


@dataclass(frozen=True)
class ChatResult:
    text: str
    finish_reason: str | None = "stop"
    refusal: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class ChatModel(Protocol):
    """The transport: one chat call. Raises ChatError (or anything) on failure; the Critic copes."""

    name: str

    def complete(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None) -> ChatResult: ...
