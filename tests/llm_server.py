"""A small OpenAI-compatible chat server for tests: stdlib only, 127.0.0.1 only, bounded.

    with serve("ok") as base_url:            # base_url ends in /v1, ready for openai.OpenAI(base_url=...)
        ...                                  # base_url.requests: every request received, in order

The mode is chosen per server (`serve(mode)`) and may be overridden per request by the header
`X-Test-Mode` or by naming a mode as the model (`model="refusal"`), so one server can play every
failure the critic must survive:

    ok               200 with the verdict as JSON content
    slow             sleeps `slow_s` (past the client's timeout), then answers like ok
    429              first request of this mode: 429 with Retry-After: 1; later ones: ok
    429-long         always 429 with Retry-After: 3600 (a client must give up, not wait an hour)
    500              always 500
    500-once         first request of this mode: 500; later ones: ok
    invalid-json     200 whose content is prose, never JSON (the repair request gets prose too)
    bad-then-ok      prose first; a request carrying the critic's repair message gets the verdict
    refusal          200 with message.refusal set and no content
    refusal-text     200 whose content is an apology, no refusal field
    truncated        200 with finish_reason "length" and JSON cut mid-string
    no-schema        400 when the request has response_format; otherwise the verdict wrapped in
                     prose and a ```json fence after a decoy object
    strict-params    400 for `max_tokens` (wants max_completion_tokens) or a temperature other than 1,
                     as newer OpenAI reasoning models answer; otherwise ok
    echo-auth        401 whose error message repeats the Authorization header (a leaky server)
    garbage-body     200 with an HTML body instead of JSON

The server stops itself after `lifetime_s` or `max_requests`, and on leaving the `with` block.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = (
    "ok",
    "slow",
    "429",
    "429-long",
    "500",
    "500-once",
    "invalid-json",
    "bad-then-ok",
    "refusal",
    "refusal-text",
    "truncated",
    "no-schema",
    "strict-params",
    "echo-auth",
    "garbage-body",
)

DEFAULT_VERDICT: dict[str, Any] = {
    "reasoning": "The answer says dropout is disabled at inference but never explains the scaling.",
    "covered": ["dropout is disabled at inference"],
    "missed": ["activations are scaled by the keep probability during training"],
    "factual_errors": [],
    "feedback": "Correct on inference; explain how inverted dropout rescales activations.",
    "score": 2.5,
}

# The critic's repair message starts with this phrase; bad-then-ok keys on it.
REPAIR_MARKER = "could not be used"


class ServerURL(str):
    """The base URL (ending in /v1), carrying the records of what the server received."""

    requests: list[dict[str, Any]]
    server: _Server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a sleeping "slow" handler must not hold up shutdown

    def __init__(self, mode: str, verdict: dict[str, Any], slow_s: float, max_requests: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.verdict = verdict
        self.slow_s = slow_s
        self.max_requests = max_requests
        self.records: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is expected here (mode "slow"); stay quiet.
        return


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        return

    # ---- plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        content_type = "text/html" if isinstance(payload, bytes) else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        error = {"message": message, "type": "invalid_request_error", "code": None, "param": None, **extra}
        self._send(status, {"error": error}, headers)

    def _admit(self) -> bool:
        with self.server.lock:
            return len(self.server.records) < self.server.max_requests

    # ---- endpoints ----------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": mode, "object": "model", "created": 0, "owned_by": "test"} for mode in MODES]
            self._send(200, {"object": "list", "data": data})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1_000_000))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        if not self._admit():
            self._error(503, "test server request budget spent")
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._error(400, "body is not JSON")
            return
        mode = self.headers.get("X-Test-Mode") or (body.get("model") if body.get("model") in MODES else None)
        mode = mode or self.server.mode
        with self.server.lock:
            nth = self.server.counts.get(mode, 0)
            self.server.counts[mode] = nth + 1
            self.server.records.append(
                {
                    "path": self.path,
                    "mode": mode,
                    "headers": {
                        k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"
                    },
                    "body": body,
                }
            )
        self._answer(mode, nth, body)

    def _answer(self, mode: str, nth: int, body: dict[str, Any]) -> None:
        verdict_text = json.dumps(self.server.verdict)
        if mode == "slow":
            # Event.wait, not sleep: shutdown wakes it so the server never outlives its test.
            self.server.stopping.wait(self.server.slow_s)
            self._completion(body, verdict_text)
        elif mode == "429" and nth == 0 or mode == "429-long":
            wait = "1" if mode == "429" else "3600"
            self._error(429, "Rate limit reached, slow down", {"Retry-After": wait}, type="rate_limit_error")
        elif mode == "500" or (mode == "500-once" and nth == 0):
            self._error(500, "The server had an error while processing your request", type="server_error")
        elif mode == "invalid-json":
            self._completion(body, "The answer is pretty good overall, I would say a 4 out of 5.")
        elif mode == "bad-then-ok":
            last = str(body.get("messages", [{}])[-1].get("content", ""))
            text = verdict_text if REPAIR_MARKER in last else "Score: four. Reasoning: mostly right."
            self._completion(body, text)
        elif mode == "refusal":
            self._completion(body, None, refusal="I'm sorry, I can't help with that request.")
        elif mode == "refusal-text":
            self._completion(body, "I'm sorry, but I can't assist with grading this answer.")
        elif mode == "truncated":
            self._completion(body, verdict_text[: len(verdict_text) // 2], finish_reason="length")
        elif mode == "no-schema":
            if "response_format" in body:
                self._error(400, "response_format is not supported by this server", param="response_format")
            else:
                decoy = '{"note": "a decoy object, not a verdict"}'
                self._completion(
                    body, f"Here is a decoy {decoy}. My verdict:\n```json\n{verdict_text}\n```\nDone."
                )
        elif mode == "strict-params":
            if "max_tokens" in body:
                message = "Unsupported parameter: 'max_tokens' is not supported with this model. "
                self._error(400, message + "Use 'max_completion_tokens' instead.", param="max_tokens")
            elif body.get("temperature", 1) != 1:
                message = "Unsupported value: 'temperature' does not support 0 with this model."
                self._error(400, message + " Only the default (1) value is supported.", param="temperature")
            else:
                self._completion(body, verdict_text)
        elif mode == "echo-auth":
            self._error(401, f"Incorrect API key provided: {self.headers.get('Authorization')}")
        elif mode == "garbage-body":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>")
        else:  # ok, and 429 / 500-once after their first request
            self._completion(body, verdict_text)

    def _completion(
        self,
        body: dict[str, Any],
        content: str | None,
        refusal: str | None = None,
        finish_reason: str = "stop",
    ) -> None:
        prompt_words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion_words = len((content or refusal or "").split())
        self._send(
            200,
            {
                "id": f"chatcmpl-test-{len(self.server.records)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": str(body.get("model", "test")),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                        "finish_reason": finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_words,
                    "completion_tokens": completion_words,
                    "total_tokens": prompt_words + completion_words,
                },
            },
        )


@contextmanager
def serve(
    mode: str = "ok",
    *,
    verdict: dict[str, Any] | None = None,
    slow_s: float = 5.0,
    max_requests: int = 200,
    lifetime_s: float = 60.0,
) -> Iterator[ServerURL]:
    """Run the server on 127.0.0.1 (a free port) for the duration of the block."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
    server = _Server(mode, dict(verdict or DEFAULT_VERDICT), slow_s, max_requests)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    # A forgotten server must not live on: stop it after lifetime_s whatever happens.
    watchdog = threading.Timer(lifetime_s, _stop, args=(server,))
    watchdog.daemon = True
    watchdog.start()
    host, port = server.server_address[:2]
    url = ServerURL(f"http://{host}:{port}/v1")
    url.requests = server.records
    url.server = server
    try:
        yield url
    finally:
        watchdog.cancel()
        _stop(server)
        thread.join(timeout=5)


def _stop(server: _Server) -> None:
    with server.lock:  # the watchdog and the `with` block may both get here
        if server.stopping.is_set():
            return
        server.stopping.set()
    server.shutdown()
    server.server_close()
