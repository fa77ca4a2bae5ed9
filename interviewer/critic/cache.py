"""Verdicts cached on disk, keyed by model, server, prompt and schema."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from interviewer.critic.schema import Verdict
from interviewer.sources.files import user_cache_dir

log = logging.getLogger(__name__)

# Bump when the prompt or schema changes, so cached verdicts of an older prompt are not reused.
PROMPT_VERSION = "critic-v1"


def default_cache_dir() -> Path:
    return user_cache_dir() / "critic"


def cache_key(
    model: str, messages: list[dict[str, Any]], schema: dict[str, Any] | None, server: str | None = None
) -> str:
    """Two servers may serve different models under one alias: the server is part of the key."""
    payload = json.dumps(
        {"v": PROMPT_VERSION, "model": model, "server": server, "messages": messages, "schema": schema},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class CritiqueCache:
    """Verdicts on disk, one JSON file per key. Unreadable entries are misses; write errors are ignored."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> Verdict | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            return Verdict.model_validate(data["verdict"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, verdict: Verdict, model: str) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            record = {"model": model, "prompt_version": PROMPT_VERSION, "verdict": verdict.model_dump()}
            tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        except OSError as exc:
            log.debug("critic cache write failed: %s", type(exc).__name__)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
