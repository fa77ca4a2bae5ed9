"""Building the critic named on the command line or in INTERVIEWER_CRITIC."""

from __future__ import annotations

import math
import os

from interviewer.critic.cache import CritiqueCache
from interviewer.critic.core import Critic
from interviewer.critic.openai_chat import OpenAIChatModel
from interviewer.critic.redact import redact
from interviewer.critic.schema import CriticConfigError
from interviewer.critic.stub import StubChatModel

CRITIC_KINDS = ("none", "stub", "openai")


def make_critic(kind: str | None, model: str | None = None, no_cache: bool = False) -> Critic | None:
    """The critic named by `kind` (else env INTERVIEWER_CRITIC, else none); None means no critic.

    openai reads OPENAI_API_KEY and OPENAI_BASE_URL, the model from `model` or INTERVIEWER_MODEL,
    and the timeout in seconds from INTERVIEWER_CRITIC_TIMEOUT (default 60). The stub is offline
    and free, so it is not cached.
    """
    chosen = (kind or os.environ.get("INTERVIEWER_CRITIC") or "none").strip().lower()
    if chosen in ("none", "off", "no", ""):
        return None
    if chosen == "stub":
        return Critic(StubChatModel())
    if chosen != "openai":
        raise CriticConfigError(f"unknown critic {chosen!r}: use one of {', '.join(CRITIC_KINDS)}")
    model_name = (model or os.environ.get("INTERVIEWER_MODEL") or "").strip()
    api_key = os.environ.get("OPENAI_API_KEY", "").strip() or None
    base_url = os.environ.get("OPENAI_BASE_URL", "").strip() or None
    missing = []
    if not model_name:
        missing.append("a model (set INTERVIEWER_MODEL or pass --model)")
    if api_key is None and base_url is None:
        missing.append(
            "credentials (set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server)"
        )
    if missing:
        raise CriticConfigError("the openai critic needs " + " and ".join(missing))
    raw_timeout = os.environ.get("INTERVIEWER_CRITIC_TIMEOUT", "60")
    try:
        timeout = float(raw_timeout)
        if not math.isfinite(timeout) or timeout <= 0:
            raise ValueError
    except ValueError:
        raise CriticConfigError(
            f"INTERVIEWER_CRITIC_TIMEOUT must be a positive number of seconds, not {raw_timeout!r}"
        ) from None
    try:
        chat = OpenAIChatModel(model_name, base_url=base_url, api_key=api_key, timeout=timeout)
    except Exception as exc:  # e.g. a malformed base URL; never echo the key
        raise CriticConfigError(
            f"cannot set up the openai critic: {redact(str(exc), [api_key or ''])}"
        ) from None
    return Critic(chat, cache=None if no_cache else CritiqueCache())
