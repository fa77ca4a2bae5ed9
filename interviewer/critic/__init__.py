"""The optional LLM critic: a second opinion on a Grade, blended into it.

    critic = make_critic("openai", model="gpt-4o-mini")      # or "stub", or None for no critic
    critique = critic.critique(request_for(rubric, answer))   # never raises
    grade = blend(grade, rubric, critique)                     # new Grade; the old one is untouched

The prompt fences the candidate's answer with a nonce it cannot contain, so the answer cannot close
its fence and speak as the grader. The model reasons first and scores last; the reply is parsed
tolerantly (the last JSON object that validates as a Verdict), repaired once, and otherwise reported
as a failure: the grade then keeps its embedding score and says why. Transports are pluggable
(`ChatModel`): `OpenAIChatModel` for any OpenAI-compatible server, `StubChatModel` offline.

Layer 5, critic. May import: domain, sources, grading.
Modules: schema (data), redact, prompt, parse, cache, core (the Critic), blend (policy),
openai_chat (transport), stub (the offline `--critic stub`), factory (make_critic).
"""

from __future__ import annotations

from interviewer.critic.apply import apply_critic
from interviewer.critic.blend import CRITIC_MAX_RAISE, CRITIC_WEIGHT, NO_RAISE_FLAGS, blend
from interviewer.critic.cache import PROMPT_VERSION, CritiqueCache, cache_key, default_cache_dir
from interviewer.critic.core import Critic, critique_many
from interviewer.critic.factory import CRITIC_KINDS, make_critic
from interviewer.critic.openai_chat import OpenAIChatModel
from interviewer.critic.parse import parse_verdict
from interviewer.critic.prompt import (
    MAX_ANSWER_CHARS,
    MAX_REFERENCE_CHARS,
    build_messages,
    fence_nonce,
    request_for,
)
from interviewer.critic.redact import redact
from interviewer.critic.schema import (
    SCORE_MAX,
    TRANSPORT_FAILURES,
    VERDICT_SCHEMA,
    ChatError,
    ChatModel,
    ChatResult,
    CriticConfigError,
    Critique,
    CritiqueRequest,
    Verdict,
)
from interviewer.critic.stub import StubChatModel, stub_verdict

__all__ = [
    "CRITIC_KINDS",
    "CRITIC_MAX_RAISE",
    "CRITIC_WEIGHT",
    "MAX_ANSWER_CHARS",
    "MAX_REFERENCE_CHARS",
    "NO_RAISE_FLAGS",
    "PROMPT_VERSION",
    "SCORE_MAX",
    "TRANSPORT_FAILURES",
    "VERDICT_SCHEMA",
    "ChatError",
    "ChatModel",
    "ChatResult",
    "Critic",
    "CriticConfigError",
    "Critique",
    "CritiqueCache",
    "CritiqueRequest",
    "OpenAIChatModel",
    "StubChatModel",
    "Verdict",
    "apply_critic",
    "blend",
    "build_messages",
    "cache_key",
    "critique_many",
    "default_cache_dir",
    "fence_nonce",
    "make_critic",
    "parse_verdict",
    "redact",
    "request_for",
    "stub_verdict",
]
