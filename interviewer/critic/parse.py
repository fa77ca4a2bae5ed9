"""Tolerant parsing of a reply: the last JSON object that validates as a Verdict, or why not."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from interviewer.critic.redact import clip
from interviewer.critic.schema import ChatResult, Verdict

_MAX_PARSE_CHARS = 200_000
_MAX_OBJECTS = 2000


def parse_verdict(text: str) -> tuple[Verdict | None, str]:
    """The last top-level JSON object in `text` that validates as a Verdict, or (None, why not).

    Handles ```json fences and prose around the object. An object that validates is taken whole
    (nothing inside it is considered); one that does not is searched inside, which finds a
    verdict wrapped as {"verdict": {...}}. Nothing is clamped: a score outside 0-5 is invalid.
    """
    text = text[:_MAX_PARSE_CHARS]
    decoder = json.JSONDecoder()
    found: Verdict | None = None
    problem = ""
    saw_object = False
    i, tried = text.find("{"), 0
    while i != -1 and tried < _MAX_OBJECTS:
        tried += 1
        try:
            value, end = decoder.raw_decode(text, i)
        except (json.JSONDecodeError, RecursionError):
            i = text.find("{", i + 1)
            continue
        if isinstance(value, dict):
            saw_object = True
            try:
                found = Verdict.model_validate(value)
                i = text.find("{", end)
                continue
            except ValidationError as exc:
                if "score" in value:
                    problem = _validation_problem(value, exc)
        i = text.find("{", i + 1)
    if found is not None:
        return found, ""
    if problem:
        return None, problem
    if saw_object:
        return None, "the JSON object has no valid verdict (no score)"
    if "{" in text:
        return None, "the JSON is malformed or cut off"
    return None, "the reply contains no JSON object"


def _validation_problem(value: dict[str, Any], exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "verdict"
    if where == "score":
        return f"score {clip(repr(value.get('score')), 40)} is not a number from 0 to 5"
    return f"{where}: {error['msg'].lower()}"


_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry,|i apologi[sz]e|i can(?:no|')t|i cannot|i won'?t|i will not|"
    r"i'?m (?:not able|unable)|i am (?:not able|unable)|as an ai\b|unfortunately,? i)",
    re.I,
)


def interpret(result: ChatResult) -> tuple[Verdict | None, str, str]:
    """(verdict, problem, kind): kind is "refusal", "length" or "invalid" when there is no verdict."""
    if result.refusal:
        return None, f"the model refused: {clip(result.refusal, 120)}", "refusal"
    verdict, problem = parse_verdict(result.text or "")
    if verdict is not None:
        return verdict, "", ""
    if result.finish_reason == "length":
        return None, "the reply was cut off at the token limit", "length"
    if _REFUSAL.match(result.text or "") and "{" not in (result.text or ""):
        return None, f"the model refused: {clip(result.text, 120)}", "refusal"
    if not (result.text or "").strip():
        return None, "the reply was empty", "invalid"
    return None, problem, "invalid"
