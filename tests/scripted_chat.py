"""A scripted ChatModel for tests (as llm's MockModel): queued replies, every call recorded."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from interviewer.critic import ChatResult, StubChatModel


class ScriptedChatModel(StubChatModel):
    """Records every call (`prompts`, `schemas`); plays back queued responses (a str, a ChatResult, or
    an exception to raise) while it has any; otherwise replies as the offline stub does."""

    def __init__(
        self, responses: Iterable[str | ChatResult | BaseException] = (), name: str = "stub"
    ) -> None:
        super().__init__(name)
        self.prompts: list[list[dict[str, Any]]] = []
        self.schemas: list[dict[str, Any] | None] = []
        self._queue: deque[str | ChatResult | BaseException] = deque(responses)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ScriptedChatModel(name={self.name!r}, queued={len(self._queue)})"

    def queue(self, *responses: str | ChatResult | BaseException) -> None:
        with self._lock:
            self._queue.extend(responses)

    def complete(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None) -> ChatResult:
        with self._lock:
            self.prompts.append([dict(m) for m in messages])
            self.schemas.append(schema)
            item = self._queue.popleft() if self._queue else None
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ChatResult):
            return item
        if isinstance(item, str):
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
            return ChatResult(text=item, prompt_tokens=prompt_tokens, completion_tokens=len(item.split()))
        return super().complete(messages, schema)
