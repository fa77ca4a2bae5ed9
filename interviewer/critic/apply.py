"""Applying the critic to graded answers: the one path `grade`, `eval` and `practice` share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from interviewer.critic.blend import blend
from interviewer.critic.core import Critic, critique_many
from interviewer.critic.prompt import request_for
from interviewer.critic.schema import Critique
from interviewer.domain.grade import Grade
from interviewer.sources.rubric import Rubric


def apply_critic(
    critic: Critic,
    items: Sequence[tuple[Rubric, str, Grade]],
    workers: int = 4,
    seen: Callable[[Critique], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[Grade]:
    """The grades of (rubric, answer, grade) items with the critic's verdicts blended in.

    Only scored grades are sent, `workers` calls at a time in item order; `seen` is called with each
    critique in order. When `stop()` turns true after a window, the items not yet sent are dropped:
    the list returned then ends with the last item of that window.
    """
    from interviewer.grading.grader import graded_against

    # Each answer is critiqued against the reference answer it was graded against, not the first.
    items = [(graded_against(rubric, grade), answer, grade) for rubric, answer, grade in items]
    out = [grade for _, _, grade in items]
    pending = [i for i, grade in enumerate(out) if grade.score is not None]
    step = max(1, workers)
    for start in range(0, len(pending), step):
        window = pending[start : start + step]
        requests = [request_for(items[i][0], items[i][1]) for i in window]
        for i, critique in zip(window, critique_many(critic, requests, max_workers=workers), strict=True):
            if seen is not None:
                seen(critique)
            out[i] = blend(items[i][2], items[i][0], critique)
        if stop is not None and stop():
            return out[: window[-1] + 1]
    return out
