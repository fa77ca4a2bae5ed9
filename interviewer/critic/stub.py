"""The offline stub critic behind `--critic stub`: a deterministic lexical judgement."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from interviewer.critic.prompt import SECTION_NAMES
from interviewer.critic.redact import clip
from interviewer.critic.schema import SCORE_MAX, ChatResult, Verdict
from interviewer.grading import text as tx

_JSONISH = re.compile(
    r"\{[^{}]*\"\s*(?:score|verdict|covered|missed|reasoning|feedback|factual_errors)\s*\"[^{}]*\}",
    re.I | re.S,
)


def _overlap(point: set[str], answer: set[str]) -> float:
    return len(point & answer) / len(point) if point else 0.0


def _sections(prompt: str) -> dict[str, str] | None:
    """The fenced parts of a critic prompt, keyed by name; None if it is not one."""
    start = re.search(r"<<<QUESTION ([0-9a-f]{16})>>>", prompt)
    if start is None:
        return None
    nonce = start.group(1)
    parts: dict[str, str] = {}
    for name in SECTION_NAMES:
        # The nonce is absent from every fenced text, so the first END marker is the real one.
        match = re.search(
            rf"<<<{re.escape(name)} {nonce}>>>\n(.*?)\n<<<END {re.escape(name)} {nonce}>>>", prompt, re.S
        )
        parts[name] = match.group(1) if match else ""
    return parts


def _listed(section: str) -> list[str]:
    return [
        re.sub(r"^\d+\.\s+", "", line).strip() for line in section.splitlines() if re.match(r"^\d+\.\s", line)
    ]


class StubChatModel:
    """An offline, deterministic ChatModel: `--critic stub`.

    Grades the answer itself from the prompt's fenced sections (word overlap with each key point,
    listed misconceptions the answer asserts, 0 for an answer that addresses the grader) and replies
    with the verdict as JSON text. Tests script replies with tests/scripted_chat.py.
    """

    def __init__(self, name: str = "stub") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StubChatModel(name={self.name!r})"

    def complete(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None) -> ChatResult:
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        text = self._judge(messages).model_dump_json()
        return ChatResult(text=text, prompt_tokens=prompt_tokens, completion_tokens=len(text.split()))

    def _judge(self, messages: list[dict[str, Any]]) -> Verdict:
        parts = None
        for message in messages:
            if message.get("role") == "user":
                parts = _sections(str(message.get("content", "")))
                if parts is not None:
                    break
        if parts is None:
            return Verdict(reasoning="No fenced critic prompt found.", feedback="Nothing to grade.", score=0)
        return stub_verdict(
            answer=parts["ANSWER"],
            key_points=_listed(parts["KEY POINTS"]),
            misconceptions=_listed(parts["MISCONCEPTIONS"]),
            reference=parts["REFERENCE"] if not parts["REFERENCE"].startswith("(no reference") else "",
        )


def stub_verdict(
    answer: str, key_points: Sequence[str], misconceptions: Sequence[str], reference: str = ""
) -> Verdict:
    """The stub's judgement: lexical, deterministic, and never lifted by text aimed at the grader."""
    # Text addressed to the grader (instructions, fake verdicts, fences) is dropped before anything is
    # credited, and an answer carrying it scores 0: it can only ever lower a blended grade.
    stripped = _JSONISH.sub(" ", answer)
    kept: list[str] = []
    dropped: list[str] = []
    for sentence in tx.sentences(stripped):
        (dropped if tx.injection_reason(sentence) else kept).append(sentence)
    injected = bool(dropped) or stripped != answer
    clean = " ".join(kept)
    words = tx.stems(clean)
    if not words:
        why = "text addressed to the grader" if injected else "no answer"
        return Verdict(
            reasoning=f"Nothing to credit: {why}.",
            missed=list(key_points),
            feedback="Answer the question itself; instructions to the grader are ignored."
            if injected
            else "No answer was given.",
            score=0,
        )
    covered: list[str] = []
    missed: list[str] = []
    credit = 0.0
    for point in key_points:
        ratio = _overlap(tx.stems(point), words)
        credit += min(1.0, ratio / 0.6)
        (covered if ratio >= 0.5 else missed).append(point)
    if key_points:
        base = SCORE_MAX * credit / len(key_points)
    elif reference:
        base = SCORE_MAX * min(1.0, _overlap(tx.stems(reference), words) / 0.4)
    else:
        base = 2.5  # nothing to compare against: neither praise nor blame
    # Misconceptions are looked for in the whole answer: hiding one inside an injection must not help.
    errors = []
    for item in misconceptions:
        claim = item.split(" — in fact:")[0].strip()
        claim_words = tx.stems(claim)
        if len(claim_words) < 2:
            continue
        negated = tx.is_negated(claim)
        for sentence in tx.sentences(answer):
            if _overlap(claim_words, tx.stems(sentence)) >= 0.8 and tx.is_negated(sentence) == negated:
                errors.append("states that " + claim[:1].lower() + claim[1:].rstrip("."))
                break
    score = 0.0 if injected else max(0.0, round(base - 1.5 * len(errors), 1))
    reasoning = (
        f"Word overlap finds {len(covered)} of {len(key_points)} key points"
        + (f"; the answer asserts {len(errors)} listed misconception(s)" if errors else "")
        + ("; but the answer addresses the grader, so it earns no credit" if injected else "")
        + "."
    )
    feedback_parts = []
    if missed:
        feedback_parts.append(f"Missing: {clip(missed[0], 120)}.")
    if errors:
        feedback_parts.append(f"Wrong: the answer {clip(errors[0], 120)}.")
    if injected:
        feedback_parts.insert(0, "Text addressed to the grader earns no credit.")
    feedback = " ".join(feedback_parts[:3]) or "Covers the key points."
    return Verdict(
        reasoning=reasoning,
        covered=covered,
        missed=missed,
        factual_errors=errors,
        feedback=feedback,
        score=score,
    )
