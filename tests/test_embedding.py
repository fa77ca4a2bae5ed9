"""The embedding model runs without sentence-transformers, with the same vectors (practice's first
feedback waits for the model to load, and that import alone cost seconds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from interviewer.embedding import DEFAULT_MODEL, MeanPooledEncoder, bundled_model_path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "Dropout randomly zeroes activations during training.",
    "",
    "Um, so basically pooling, like, shrinks the feature map and keeps the strongest response.",
    "word " * 400,  # past the 256-token limit: truncated, as sentence-transformers does
    "卷积层用共享权重的小滤波器扫描图像。",
]


def test_loading_and_encoding_never_import_sentence_transformers():
    code = (
        "import sys; from interviewer.embedding import Embedder; e = Embedder(); e.warm_up(); "
        "v = e.encode(['a sentence']); print(v.shape, 'sentence_transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "False" and "(1, 384)" in done.stdout


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
