"""The Critic: prompt -> call -> parse -> one repair -> cache; it never raises."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from interviewer.critic.cache import CritiqueCache, cache_key
from interviewer.critic.parse import interpret
from interviewer.critic.prompt import REPAIR_PROMPT, build_messages
from interviewer.critic.redact import clip, redact
from interviewer.critic.schema import (
    VERDICT_SCHEMA,
    ChatError,
    ChatModel,
    ChatResult,
    Critique,
    CritiqueRequest,
)

log = logging.getLogger(__name__)

# How much of a bad reply is sent back in the repair request.
MAX_ECHO_CHARS = 2000


class Critic:
    """Prompt → call → parse → one repair → cache. Transport-agnostic; `critique` never raises."""

    def __init__(self, chat: ChatModel, cache: CritiqueCache | None = None) -> None:
        self.chat = chat
        self.cache = cache

    def __repr__(self) -> str:
        return f"Critic(chat={self.chat!r}, cache={'on' if self.cache else 'off'})"

    def critique(self, request: CritiqueRequest) -> Critique:
        name = str(getattr(self.chat, "name", "critic"))
        try:
            return self._critique(request, name)
        except Exception as exc:  # the last line of defence: a critic bug must not break grading
            log.debug("critic error: %s", type(exc).__name__)
            return Critique(
                failed=True, model=name, note=f"critic error ({type(exc).__name__}): {_safe(exc)}"
            )

    def _critique(self, request: CritiqueRequest, name: str) -> Critique:
        messages = build_messages(request)
        key = cache_key(name, messages, VERDICT_SCHEMA, getattr(self.chat, "server", None))
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return Critique(verdict=hit, model=name, cached=True, note=f"verdict {hit.score:g} (cached)")
        tokens = [0, 0]

        def call(convo: list[dict[str, Any]]) -> ChatResult | Critique:
            try:
                result = self.chat.complete(convo, VERDICT_SCHEMA)
            except ChatError as exc:
                return self._failed(name, f"critic unavailable: {_safe(exc)}", tokens, exc.kind)
            except Exception as exc:
                note = f"critic unavailable ({type(exc).__name__}): {_safe(exc)}"
                return self._failed(name, note, tokens, "error")
            tokens[0] += max(0, int(result.prompt_tokens or 0))
            tokens[1] += max(0, int(result.completion_tokens or 0))
            return result

        first = call(messages)
        if isinstance(first, Critique):
            return first
        verdict, problem, kind = interpret(first)
        if verdict is None:
            # One repair: show the model its own bad reply and ask for the verdict alone.
            echo = first.text or first.refusal or "(empty reply)"
            repair = [
                *messages,
                {"role": "assistant", "content": echo[:MAX_ECHO_CHARS]},
                {"role": "user", "content": REPAIR_PROMPT.format(problem=problem)},
            ]
            second = call(repair)
            if isinstance(second, Critique):
                second.note = f"{second.note} (after: {problem})"
                return second
            verdict, problem2, kind2 = interpret(second)
            if verdict is None:
                return self._failed(name, _failure_line(problem, kind, problem2, kind2), tokens)
        if self.cache is not None:
            self.cache.put(key, verdict, name)
        return Critique(
            verdict=verdict,
            model=name,
            note=f"verdict {verdict.score:g}" + (" after one repair" if problem else ""),
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
        )

    @staticmethod
    def _failed(name: str, note: str, tokens: list[int], failure: str = "") -> Critique:
        return Critique(
            failed=True,
            model=name,
            note=note,
            failure=failure,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
        )


def _safe(exc: BaseException) -> str:
    return clip(redact(str(exc)) or type(exc).__name__, 200)


def _failure_line(first: str, first_kind: str, second: str, kind: str) -> str:
    if kind == "refusal":
        times = "twice" if first_kind == "refusal" else "after a repair request"
        return f"critic refused to grade, {times} ({second.removeprefix('the model refused: ')})"
    if kind == "length":
        times = "twice" if first_kind == "length" else "after a repair request"
        return f"critic reply was cut off at the token limit, {times}"
    if first == second:
        return f"critic gave no usable verdict, even after a repair request: {second}"
    return f"critic gave no usable verdict: {first}; after a repair request: {second}"


def critique_many(
    critic: Critic, requests: Sequence[CritiqueRequest], max_workers: int = 4
) -> list[Critique]:
    """Critiques in the order of `requests`, at most `max_workers` calls in flight."""
    if not requests:
        return []
    workers = max(1, min(int(max_workers), len(requests)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="critic") as pool:
        return list(pool.map(critic.critique, requests))
