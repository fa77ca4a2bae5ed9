"""Shared fixtures: the real corpus, rubrics, embedding model and FAISS index (only the LLM is faked)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory, monkeypatch):
    """Transcripts, history and caches of a test never touch the user's own folders."""
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path_factory.getbasetemp() / "data"))


@pytest.fixture(scope="session")
def mpnet_base():
    """Skips a test that needs the mpnet base where its part packages are not installed (make mpnet)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from interviewer.grading.judge import MPNET_PARTS

    try:
        for name in MPNET_PARTS:
            distribution(name)
    except PackageNotFoundError:
        pytest.skip("the mpnet part packages are not installed (make mpnet)")


@pytest.fixture(scope="session")
def workspace():
    """The repo's workspace on the backend batch surfaces choose (torch when installed): the suite
    grades hundreds of answers, which torch reads about 2x faster than numpy here. Practice's numpy
    path is held to the same numbers by tests/test_judge.py and tests/test_embedding.py."""
    from interviewer.grading.embedding import throughput_backend
    from interviewer.workspace import Workspace

    return Workspace(ROOT, backend=throughput_backend())


@pytest.fixture(scope="session")
def grader(workspace):
    """The real grader over the repo's rubrics (index rebuilt if stale). Loaded once per session."""
    return workspace.grader()
