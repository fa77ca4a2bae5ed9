"""A BERT encoder's forward pass in numpy: the bundled MiniLM (and the judge built on it) without torch.

Importing torch and transformers costs seconds (7–25 s on a busy 2-core machine), more than a practice
turn may take; numpy and `tokenizers` import in a tenth of a second. Inference needs nothing more than
matrix products, so the grader runs the same weights here, in float32, to within float rounding of
torch (a test holds the two together). Training still uses torch (`judge_train`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

Weights = dict[str, np.ndarray]


@dataclass(frozen=True)
class BertShape:
    layers: int
    heads: int
    hidden: int
    eps: float

    @classmethod
    def from_config(cls, path: Path) -> BertShape:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: not a BERT model with erf-GELU activations")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only absolute position embeddings are supported")
        return cls(
            layers=int(config["num_hidden_layers"]),
            heads=int(config["num_attention_heads"]),
            hidden=int(config["hidden_size"]),
            eps=float(config.get("layer_norm_eps", 1e-12)),
        )


# Abramowitz & Stegun 7.1.26 for erfc on |z|, halved: Φ(x) = 0.5 + sign(x)·(0.5 - these(t)·exp(-z²)).
_ERFC_HALF = tuple(c / 2 for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def gelu(x: np.ndarray) -> np.ndarray:
    """x·Φ(x) with the exact (erf) normal CDF, as BERT's "gelu"; overwrites and returns x.

    numpy has no erf (scipy's import alone costs more than this module), so erf is Abramowitz &
    Stegun 7.1.26, |error| < 1.5e-7: below float32 resolution here. In place, branch-free: these are
    the largest arrays of the forward pass."""
    z = np.abs(x)
    z *= np.float32(0.7071067811865476)  # |x|/√2
    gauss = np.square(z)
    np.negative(gauss, out=gauss)
    np.exp(gauss, out=gauss)  # exp(-z²)
    t = z
    t *= 0.3275911
    t += 1.0
    np.reciprocal(t, out=t)
    tail = t * _ERFC_HALF[0]
    for c in _ERFC_HALF[1:]:
        tail += c
        tail *= t
    tail *= gauss  # erfc(z)/2, the normal tail beyond |x|
    np.subtract(0.5, tail, out=tail)
    np.copysign(tail, x, out=tail)
    tail += 0.5  # Φ(x)
    x *= tail
    return x


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Normalizes the last axis of x in place, then scales and shifts; returns x."""
    x -= x.mean(-1, keepdims=True)
    var = np.square(x).mean(-1, keepdims=True)
    var += eps
    np.sqrt(var, out=var)
    x /= var
    x *= weight
    x += bias
    return x


def softmax_(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in place."""
    scores -= scores.max(-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(-1, keepdims=True)
    return scores


@cache
def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_cores(), thread_name_prefix="bert")


def in_parallel(fn: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    """fn over row blocks of the arrays, one per core, joined by rows. BLAS already spreads matrix
    products over the cores, but numpy's element-wise functions run on one; they release the GIL,
    so threads over row blocks halve the GELU, softmax and normalization time on two cores."""
    rows = len(arrays[0])
    if _cores() < 2 or rows < 2:
        return fn(*arrays)
    bounds = np.linspace(0, rows, min(_cores(), rows) + 1).astype(int)
    parts = _pool().map(lambda lo, hi: fn(*(a[lo:hi] for a in arrays)), bounds[:-1], bounds[1:])
    return np.concatenate(list(parts))


def _linear(x: np.ndarray, w: Weights, name: str) -> np.ndarray:
    return x @ w[f"{name}.weight.T"] + w[f"{name}.bias"]


def stripped(weights: Weights, prefix: str = "") -> Weights:
    """The tensors keyed without the model prefix (`bert.`)."""
    return {name.removeprefix(prefix): value for name, value in weights.items()}


def prepare(weights: Weights) -> Weights:
    """Float32 weights for `encode`: each dense matrix stored transposed and contiguous (`NAME.T`),
    so every product is one BLAS call."""
    out: Weights = {}
    for name, value in weights.items():
        array = np.asarray(value, dtype=np.float32)
        if name.endswith(".weight") and array.ndim == 2 and "embeddings" not in name:
            out[f"{name}.T"] = np.ascontiguousarray(array.T)
        else:
            out[name] = np.ascontiguousarray(array)
    return out


def fuse_attention(w: Weights, layers: int) -> Weights:
    """Each layer's query, key and value projections as one matrix (`attention.self.qkv`); the three
    separate ones are dropped."""
    for i in range(layers):
        p = f"encoder.layer.{i}.attention.self."
        parts = ("query", "key", "value")
        w[p + "qkv.weight.T"] = np.ascontiguousarray(np.hstack([w.pop(f"{p}{n}.weight.T") for n in parts]))
        w[p + "qkv.bias"] = np.concatenate([w.pop(f"{p}{n}.bias") for n in parts])
    return w


def encode(
    w: Weights,
    shape: BertShape,
    ids: np.ndarray,
    types: np.ndarray,
    mask: np.ndarray,
    first_only: bool = False,
) -> np.ndarray:
    """Last hidden states (batch × tokens × hidden) for padded token ids, as BertModel computes them.

    first_only: only the first token's ([CLS]) last state (batch × 1 × hidden), all a classifier
    reads. Its last layer then needs every token's keys and values but only [CLS]'s query,
    attention output and feed-forward: about a seventh of the work, the same numbers."""
    batch, length = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
        + w["embeddings.token_type_embeddings.weight"][types]
    )
    heads, size = shape.heads, shape.hidden // shape.heads
    flat = x.reshape(batch * length, shape.hidden)

    def norm(name: str) -> Callable[[np.ndarray], np.ndarray]:
        return lambda rows: layer_norm(rows, w[f"{name}.weight"], w[f"{name}.bias"], shape.eps)

    flat = in_parallel(norm("embeddings.LayerNorm"), flat)
    # Padding is masked with the most negative float, as transformers does: exp() of it is 0.
    bias = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)
    scale = np.float32(1.0 / np.sqrt(size))

    def attend_to(q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """Scaled dot-product attention for a block of rows, each (rows, heads, tokens, size)."""
        scores = q @ k.transpose(0, 1, 3, 2)
        scores *= scale
        scores += bias
        return softmax_(scores) @ v

    def attend(qkv: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """Attention for a block of rows; qkv is (rows, 3, heads, tokens, size)."""
        return attend_to(qkv[:, 0], qkv[:, 1], qkv[:, 2], bias)

    for i in range(shape.layers):
        p = f"encoder.layer.{i}."
        # Query, key and value in one product, then (batch, 3, heads, tokens, size) for attention.
        qkv = _linear(flat, w, p + "attention.self.qkv").reshape(batch, length, 3, heads, size)
        qkv = qkv.transpose(0, 2, 3, 1, 4)
        if first_only and i == shape.layers - 1:
            # Every token's keys and values, the first token's query; everything after, its row alone.
            context = in_parallel(attend_to, qkv[:, 0, :, :1], qkv[:, 1], qkv[:, 2], bias)
            flat = np.ascontiguousarray(flat.reshape(batch, length, shape.hidden)[:, 0])
            length = 1
        else:
            context = in_parallel(attend, qkv, bias)
        context = context.transpose(0, 2, 1, 3).reshape(batch * length, shape.hidden)
        attended = _linear(context, w, p + "attention.output.dense")
        attended += flat
        attended = in_parallel(norm(p + "attention.output.LayerNorm"), attended)
        inner = in_parallel(gelu, _linear(attended, w, p + "intermediate.dense"))
        flat = _linear(inner, w, p + "output.dense")
        flat += attended
        flat = in_parallel(norm(p + "output.LayerNorm"), flat)
    return flat.reshape(batch, length, shape.hidden)


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, then unit length: the sentence-transformers Pooling + Normalize modules."""
    m = mask[:, :, None].astype(np.float32)
    summed = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    return summed / np.clip(norms, 1e-12, None)


def classify(w: Weights, hidden: np.ndarray) -> np.ndarray:
    """BertForSequenceClassification's head: tanh pooler over [CLS], then the linear classifier → logits."""
    pooled = np.tanh(_linear(hidden[:, 0], w, "pooler.dense"))
    return _linear(pooled, w, "classifier")


def softmax(logits: np.ndarray) -> np.ndarray:
    return softmax_(np.array(logits, dtype=np.float32))


Tokens = tuple[np.ndarray, np.ndarray, np.ndarray]  # ids, token types, attention mask (rows × tokens)


class Tokenizer:
    """The model's fast tokenizer (tokenizer.json) through `tokenizers` alone: the same ids as
    transformers' AutoTokenizer, truncated longest-first; `batches` pads groups of similar length."""

    def __init__(self, path: Path, max_length: int) -> None:
        from tokenizers import Tokenizer as Fast

        self._fast = Fast.from_file(str(path / "tokenizer.json"))
        self._fast.no_padding()
        self._fast.enable_truncation(max_length=max_length, strategy="longest_first")

    def __call__(self, texts: list[str] | list[tuple[str, str]]) -> Tokens:
        rows = self._fast.encode_batch(texts)
        return _padded([(r.ids, r.type_ids) for r in rows])

    def batches(
        self, texts: list[str] | list[tuple[str, str]], max_tokens: int = 4096, max_rows: int = 64
    ) -> list[tuple[list[int], Tokens]]:
        """(row indices, padded tokens) per batch: rows sorted by token count and cut so that no batch
        computes more than max_tokens positions, padding included, nor pads a row to more than a
        quarter over its own length. A practice answer's two dozen short pairs and its one long pair
        then run apart, not all padded to the long one (3x less work)."""
        rows = [(r.ids, r.type_ids) for r in self._fast.encode_batch(texts)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
        out: list[tuple[list[int], Tokens]] = []
        group: list[int] = []
        for i in order:
            # Sorted ascending, so row i is the longest if it joins: the padded size is known.
            length = len(rows[i][0])
            shortest = len(rows[group[0]][0]) if group else length
            if group and (
                (len(group) + 1) * length > max_tokens
                or len(group) == max_rows
                or length > 1.25 * shortest + 4
            ):
                out.append((group, _padded([rows[j] for j in group])))
                group = []
            group.append(i)
        if group:
            out.append((group, _padded([rows[j] for j in group])))
        return out


def _padded(rows: list[tuple[list[int], list[int]]]) -> Tokens:
    length = max((len(ids) for ids, _ in rows), default=0)
    ids = np.zeros((len(rows), length), dtype=np.int64)
    types = np.zeros((len(rows), length), dtype=np.int64)
    mask = np.zeros((len(rows), length), dtype=np.int64)
    for i, (row_ids, row_types) in enumerate(rows):
        ids[i, : len(row_ids)] = row_ids
        types[i, : len(row_types)] = row_types
        mask[i, : len(row_ids)] = 1
    return ids, types, mask


class NumpyBert:
    """A BERT checkpoint (safetensors) loaded into numpy, with its tokenizer: `hidden` for texts or
    pairs. `overrides` (for instance the judge's tuned tensors) replace base tensors by name."""

    def __init__(
        self,
        path: Path,
        max_length: int,
        overrides: Weights | None = None,
        prefix: str = "",
        required: tuple[str, ...] = (),
    ) -> None:
        from safetensors.numpy import load_file

        self.shape = BertShape.from_config(path)
        weights = stripped(load_file(str(path / "model.safetensors")), prefix)
        for name, value in stripped(overrides or {}, prefix).items():
            known = weights.get(name)
            if known is None and name not in required:
                raise ValueError(f"unexpected tensor {name}")
            if known is not None and known.shape != value.shape:
                raise ValueError(f"{name} is {value.shape}, the base has {known.shape}")
            weights[name] = value
        expected = [f"encoder.layer.{self.shape.layers - 1}.output.LayerNorm.weight", *required]
        absent = [name for name in expected if name not in weights]
        if absent:
            raise ValueError(f"{path}: weights lack {', '.join(absent)}")
        self.weights = fuse_attention(prepare(weights), self.shape.layers)
        self.tokenizer = Tokenizer(path, max_length)

    def hidden(self, tokens: Tokens, first_only: bool = False) -> np.ndarray:
        return encode(self.weights, self.shape, *tokens, first_only=first_only)
