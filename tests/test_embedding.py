"""The embedding model runs without sentence-transformers, with the same vectors (practice's first
feedback waits for the model to load, and that import alone cost seconds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from interviewer.grading.bert import Tokenizer
from interviewer.grading.embedding import (
    DEFAULT_MODEL,
    MeanPooledEncoder,
    NumpyMeanPooledEncoder,
    bundled_model_path,
)

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "Dropout randomly zeroes activations during training.",
    "",
    "Um, so basically pooling, like, shrinks the feature map and keeps the strongest response.",
    "word " * 400,  # past the 256-token limit: truncated, as sentence-transformers does
    "卷积层用共享权重的小滤波器扫描图像。",
]


def test_on_the_cpu_grading_imports_neither_torch_nor_transformers():
    """The models run in numpy on a CPU: a practice session's first answer is graded about a second
    after it starts, not after torch's 7-25 s import."""
    code = (
        "import sys; from interviewer.workspace import Workspace; g = Workspace.discover().grader(); "
        "grade = g.grade('000-03', 'Without a nonlinearity stacked layers collapse into one linear map.'); "
        "print(grade.score, type(g.embedder._model).__name__, type(g.judge._model).__name__, "
        "sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # No embedding disk cache: with the answer cached from an earlier run the model never loads.
        env={
            **os.environ,
            "INTERVIEWER_DEVICE": "cpu",
            "INTERVIEWER_BACKEND": "",
            "INTERVIEWER_NO_EMBED_CACHE": "1",
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1:] == ["NumpyMeanPooledEncoder", "NumpyBert", "[]"], done.stdout
    assert float(done.stdout.split()[0]) > 0


def test_numpy_vectors_equal_the_torch_vectors():
    path = bundled_model_path(DEFAULT_MODEL)
    expected = MeanPooledEncoder(path).encode(TEXTS, batch_size=2)
    got = NumpyMeanPooledEncoder(path).encode(TEXTS, batch_size=2)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


def test_token_batches_cover_every_row_once_within_the_budget():
    from transformers import AutoTokenizer

    path = bundled_model_path(DEFAULT_MODEL)
    pairs = [(t, "Dropout is turned off at inference.") for t in TEXTS] + [("short", "pair")] * 3
    tokenizer = Tokenizer(path, max_length=256)
    batches = tokenizer.batches(pairs, max_tokens=300, max_rows=2)
    assert sorted(i for rows, _ in batches for i in rows) == list(range(len(pairs)))
    reference = AutoTokenizer.from_pretrained(str(path))
    for rows, (ids, types, mask) in batches:
        assert len(rows) <= 2 and ids.size <= max(300, ids.shape[1])
        for row, i in enumerate(rows):
            want = reference(*pairs[i], truncation="longest_first", max_length=256)
            n = int(mask[row].sum())
            assert ids[row, :n].tolist() == want["input_ids"]
            assert types[row, :n].tolist() == want["token_type_ids"]
            assert not ids[row, n:].any()


def test_the_vectors_are_sentence_transformers_vectors():
    from sentence_transformers import SentenceTransformer

    path = bundled_model_path(DEFAULT_MODEL)
    expected = SentenceTransformer(str(path), device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    got = MeanPooledEncoder(path).encode(TEXTS, batch_size=2)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
