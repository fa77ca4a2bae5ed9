"""The curated public API: `interviewer.__all__`, one error base, and the README's Python example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import interviewer
from interviewer.critic import CriticConfigError
from interviewer.domain.errors import InterviewerError
from interviewer.grading.embedding import EmbeddingError
from interviewer.sources.bank import BankError
from interviewer.sources.labelled import EvalInputError
from interviewer.sources.rubric import RubricError
from interviewer.sources.tables import InputError
from interviewer.surfaces.cli import UserError

ROOT = Path(__file__).resolve().parent.parent


def test_all_names_resolve() -> None:
    assert sorted(interviewer.__all__) == ["Grade", "Grader", "InterviewerError", "Rubric", "Workspace"]
    for name in interviewer.__all__:
        assert getattr(interviewer, name).__name__ == name
    assert interviewer.InterviewerError is InterviewerError


def test_every_user_error_shares_one_base_and_keeps_its_builtin_one() -> None:
    for error in (BankError, RubricError, InputError, EvalInputError, CriticConfigError, UserError):
        assert issubclass(error, InterviewerError)
    assert issubclass(EmbeddingError, RuntimeError) and issubclass(InputError, ValueError)


def test_importing_the_package_loads_no_model_code() -> None:
    probe = "import sys, interviewer; print(sorted(m for m in ('numpy', 'pydantic') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_readme_example_grades_an_answer(capsys) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Grading from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    score, band, _ = capsys.readouterr().out.split(" ", 2)
    assert 0.0 <= float(score) <= 5.0 and band in ("strong", "adequate", "weak")
