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
def workspace():
    from interviewer.workspace import Workspace

    return Workspace(ROOT)


@pytest.fixture(scope="session")
def grader(workspace):
    """The real grader over the repo's rubrics (index rebuilt if stale). Loaded once per session."""
    return workspace.grader()
