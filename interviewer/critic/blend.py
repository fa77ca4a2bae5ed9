"""Blending a critique into a Grade: the policy for how far a critic may move a score."""

from __future__ import annotations

import math
from typing import Any

from interviewer.critic.redact import clip
from interviewer.critic.schema import SCORE_MAX, Critique, Verdict
from interviewer.domain.grade import (
    FLAG_CRITIC_FAILED,
    FLAG_INJECTION,
    GUARD_FLAGS,
    CriticNote,
    Grade,
    band_for,
)
from interviewer.sources.rubric import Rubric

# Share of the final score given to the critic's verdict; to be tuned on the dev set.
CRITIC_WEIGHT = (
    0.2  # measured on the dev set with the stub critic: Spearman 0.855 → 0.865, QWK flat; 0.3+ loses QWK
)
# The most a critic may lift the grader's score: a lying or injected critic cannot turn an answer
# around, whatever weight it is given. It never lifts an answer in which no key point was found.
CRITIC_MAX_RAISE = 1.0
# An answer addressed to the grader is never lifted by the critic either: the LLM is what it targets.
NO_RAISE_FLAGS = GUARD_FLAGS | {FLAG_INJECTION}


def blend(grade: Grade, rubric: Rubric, critique: Critique, weight: float = CRITIC_WEIGHT) -> Grade:
    """A new Grade with the critic's verdict blended in; the input grade is not modified.

    Failure keeps the embedding score and says why. A guarded grade (or one addressed to the
    grader) may be lowered but never raised, and keeps its band.
    """
    if not 0.0 <= weight <= 1.0 or math.isnan(weight):
        raise ValueError(f"critic weight must be within 0..1, got {weight}")
    embedding = grade.score
    if embedding is None:  # callers blend scored grades only (see apply_critic)
        raise ValueError("a grade without a score cannot be blended")
    base: dict[str, Any] = {
        "critic": "llm",
        "model": critique.model or None,
        "embedding_score": embedding,
        "cached": critique.cached,
        "prompt_tokens": critique.prompt_tokens,
        "completion_tokens": critique.completion_tokens,
    }
    verdict = critique.verdict
    if critique.failed or verdict is None:
        note = critique.note or "critic gave no verdict"
        flags = grade.flags if FLAG_CRITIC_FAILED in grade.flags else [*grade.flags, FLAG_CRITIC_FAILED]
        critic_note = CriticNote(
            **base,
            final_score=embedding,
            failed=True,
            changed=f"{note}; kept the embedding score {embedding:.1f}",
        )
        return grade.model_copy(update={"flags": flags, "critic": critic_note})

    blended = round((1.0 - weight) * embedding + weight * verdict.score, 1)
    blended = min(SCORE_MAX, max(0.0, blended))  # only float noise can reach past the ends
    held = [f"the grade is flagged {flag}" for flag in sorted(NO_RAISE_FLAGS.intersection(grade.flags))]
    if not grade.covered and blended > embedding:
        held.append("the grader found no key point covered")
    final = min(blended, embedding) if held else min(blended, round(embedding + CRITIC_MAX_RAISE, 1))
    band = grade.band if grade.guarded else band_for(final)
    changed = _changed_line(grade, rubric, verdict, embedding, blended, final, held)
    critic_note = CriticNote(
        **base,
        verdict_score=verdict.score,
        final_score=final,
        changed=changed,
        feedback=clip(verdict.feedback, 600),
        factual_errors=[clip(e, 300) for e in verdict.factual_errors],
        covered=[clip(c, 300) for c in verdict.covered],
        missed=[clip(m, 300) for m in verdict.missed],
    )
    return grade.model_copy(update={"score": final, "band": band, "critic": critic_note})


def _changed_line(
    grade: Grade,
    rubric: Rubric,
    verdict: Verdict,
    embedding: float,
    blended: float,
    final: float,
    held: list[str],
) -> str:
    if blended > embedding and held:
        return (
            f"critic would raise {embedding:.1f} → {blended:.1f}, but {' and '.join(held)}: kept {final:.1f}"
        )
    if blended > final > embedding:
        return (
            f"critic raised {embedding:.1f} → {final:.1f} (it said {blended:.1f}; a critic lifts a "
            f"grade by at most {CRITIC_MAX_RAISE:g}): {_why_higher(verdict, grade)}"
        )
    if final < embedding:
        return f"critic lowered {embedding:.1f} → {final:.1f}: {_why_lower(verdict, rubric)}"
    if final > embedding:
        return f"critic raised {embedding:.1f} → {final:.1f}: {_why_higher(verdict, grade)}"
    return f"critic agreed: {embedding:.1f} stays (verdict {verdict.score:g})"


def _why_lower(verdict: Verdict, rubric: Rubric) -> str:
    if verdict.factual_errors:
        return clip(verdict.factual_errors[0], 120)
    if verdict.missed:
        # Name an essential key point if the critic found one missing: that is what costs most.
        essential = {" ".join(k.text.lower().split()) for k in rubric.key_points if k.essential}
        missed = sorted(verdict.missed, key=lambda m: " ".join(m.lower().split()) not in essential)
        return "misses " + clip(missed[0], 110)
    return clip(verdict.feedback, 120) or f"verdict {verdict.score:g} of 5"


def _why_higher(verdict: Verdict, grade: Grade) -> str:
    # Prefer a point the embedding grader thought missing: that is what the critic adds.
    missed = {" ".join(m.lower().split()) for m in grade.missed}
    newly = [c for c in verdict.covered if " ".join(c.lower().split()) in missed]
    if newly:
        return "credits " + clip(newly[0], 110)
    if verdict.covered:
        return "credits " + clip(verdict.covered[0], 110)
    return clip(verdict.feedback, 120) or f"verdict {verdict.score:g} of 5"
