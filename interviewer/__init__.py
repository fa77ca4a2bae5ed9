"""interviewer: a mock interviewer and answer grader for deep-learning interviews.

The public API (see README, "Grading from Python"):

    from interviewer import Workspace

    ws = Workspace.discover()             # the folder with rubrics/ and corpus/
    grader = ws.grader()                  # loads the models (seconds)
    grade = grader.grade(grader.rubric("000-12"), "Dropout randomly zeroes activations ...")
    print(grade.score, grade.band, grade.missed)

The names load on first use, so `import interviewer` (and `interviewer --help`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Grade", "Grader", "InterviewerError", "Rubric", "Workspace"]

_HOMES = {
    "Grade": "interviewer.domain.grade",
    "Grader": "interviewer.grading.grader",
    "InterviewerError": "interviewer.domain.errors",
    "Rubric": "interviewer.sources.rubric",
    "Workspace": "interviewer.workspace",
}

if TYPE_CHECKING:
    from interviewer.domain.errors import InterviewerError
    from interviewer.domain.grade import Grade
    from interviewer.grading.grader import Grader
    from interviewer.sources.rubric import Rubric
    from interviewer.workspace import Workspace


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'interviewer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
