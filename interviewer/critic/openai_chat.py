"""The OpenAI-compatible transport, with retries and redacted errors."""

from __future__ import annotations

import math
import threading
import time
from email.utils import mktime_tz, parsedate_tz
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from interviewer.critic.redact import clip, redact
from interviewer.critic.schema import ChatError, ChatResult


class OpenAIChatModel:
    """Any OpenAI-compatible chat endpoint through the official `openai` client.

    Deterministic settings (temperature 0, a seed); JSON-schema structured output, dropped for plain
    text if the server rejects it (remembered per instance; parsing is tolerant either way).
    Retries 429 (honouring Retry-After up to `max_retry_after_s`), 5xx and connection errors, at
    most `max_retries` times; timeouts are not retried (a slow server stays slow). Errors become
    ChatError with a redacted one-line message: the key never leaves this object.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        max_retry_after_s: float = 20.0,
        backoff_s: float = 0.5,
        temperature: float = 0.0,
        seed: int | None = 0,
        max_tokens: int = 800,
    ) -> None:
        import openai  # deferred: the stub and "none" critics must work without network libraries

        self.name = model
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.max_retry_after_s = float(max_retry_after_s)
        self.backoff_s = float(backoff_s)
        self._secret = api_key or ""
        self._base_url = base_url
        # Optional request parameters; one the server rejects is dropped (or renamed) and remembered.
        self._options: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if seed is not None:
            self._options["seed"] = seed
        self.schema_supported = True
        self._lock = threading.Lock()
        self._openai = openai
        # max_retries=0: retries are ours, so Retry-After is capped and every attempt is counted.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=self.timeout, max_retries=0
        )

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.name!r}, base_url={_public_url(self._base_url)!r})"

    @property
    def server(self) -> str:
        """Where verdicts come from, without credentials: part of the verdict cache key."""
        return _public_url(self._base_url or str(self._client.base_url)) or ""

    def complete(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None) -> ChatResult:
        attempt = 0
        adaptations = 0
        while True:
            with self._lock:
                kwargs = dict(self._options)
                use_schema = schema is not None and self.schema_supported
            if use_schema:
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "verdict", "schema": schema, "strict": True},
                }
            try:
                response = self._client.chat.completions.create(
                    model=self.name, messages=cast(Any, messages), **kwargs
                )
                return self._result(response)
            except ChatError:
                raise
            except self._openai.APITimeoutError:
                raise ChatError(
                    f"request to {self.name} timed out after {self.timeout:g} s", "timeout"
                ) from None
            except self._openai.APIConnectionError as exc:
                if attempt >= self.max_retries:
                    where = _public_url(self._base_url) or "the API"
                    raise ChatError(
                        f"cannot reach {where} after {attempt + 1} attempts ({self._safe(exc)})", "connection"
                    ) from None
                delay = self._backoff(attempt)
            except self._openai.APIStatusError as exc:
                status = exc.status_code
                if status in (400, 422) and adaptations < 4 and self._adapt(exc, use_schema):
                    adaptations += 1  # not an attempt: the request itself changed
                    continue
                if status not in (408, 429) and status < 500:
                    raise ChatError(f"HTTP {status} from {self.name}: {self._detail(exc)}", "http") from None
                wait = _retry_after(exc.response.headers if exc.response is not None else {})
                if wait is not None and wait > self.max_retry_after_s:
                    raise ChatError(
                        f"rate limited (HTTP {status}): the server asked to wait {wait:g} s, "
                        f"more than the {self.max_retry_after_s:g} s allowed",
                        "rate-limit",
                    ) from None
                if attempt >= self.max_retries:
                    what = "rate limited" if status == 429 else "server error"
                    raise ChatError(
                        f"{what} (HTTP {status}) from {self.name} after {attempt + 1} attempts", "http"
                    ) from None
                delay = wait if wait is not None else self._backoff(attempt)
            except Exception as exc:  # a reply the client could not make sense of, say
                raise ChatError(
                    f"unexpected reply from {self.name} ({type(exc).__name__})", "protocol"
                ) from None
            attempt += 1
            time.sleep(max(0.0, delay))

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_s * (2**attempt), 8.0)

    def _result(self, response: Any) -> ChatResult:
        choices = getattr(response, "choices", None)
        if not choices:
            raise ChatError(f"reply from {self.name} has no choices", "protocol")
        choice = choices[0]
        message = choice.message
        usage = getattr(response, "usage", None)
        return ChatResult(
            text=message.content or "",
            finish_reason=choice.finish_reason,
            refusal=getattr(message, "refusal", None) or None,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )

    def _adapt(self, exc: Any, used_schema: bool) -> bool:
        """Drop or rename the optional parameter a 400 complains about; False if none applies."""
        text = f"{self._detail(exc)} {getattr(exc, 'param', '') or ''}".lower()
        with self._lock:
            if "max_tokens" in text and "max_tokens" in self._options:
                # Newer OpenAI models want max_completion_tokens instead.
                self._options["max_completion_tokens"] = self._options.pop("max_tokens")
                return True
            for option in ("seed", "temperature"):
                if option in text and option in self._options:
                    del self._options[option]
                    return True
            if used_schema:
                # Any other 400 to a structured-output request: try plain text before giving up.
                self.schema_supported = False
                return True
        return False

    def _detail(self, exc: Any) -> str:
        body = getattr(exc, "body", None)
        message = body.get("message") if isinstance(body, dict) else None
        return clip(redact(str(message or getattr(exc, "message", "") or exc), [self._secret]), 160)

    def _safe(self, exc: BaseException) -> str:
        return clip(redact(str(exc), [self._secret]), 120)


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asked us to wait (Retry-After-Ms, Retry-After seconds or HTTP date)."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            parsed = parsedate_tz(value)
            if parsed is None:
                return None
            seconds = mktime_tz(parsed) - time.time()
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except (TypeError, ValueError, OverflowError):
        return None


def _public_url(url: str | None) -> str | None:
    """The URL without credentials or query (either may hold a key)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
