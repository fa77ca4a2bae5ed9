"""Helpers for tests/test_voice.py: a known spoken answer, word error rate, and a fake sounddevice."""

from __future__ import annotations

import sys
import types
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np

QUESTION = "What is the vanishing gradient problem?"
# 41 words of interview-style prose with domain terms, so the round trip measures what a session sees.
ANSWER = (
    "When gradients are multiplied through many layers with small derivatives, they shrink exponentially, "
    "so the early layers barely learn. Residual connections, careful initialization, and activations like "
    "the rectified linear unit keep the gradient signal strong enough to reach the first layers."
)


def _words(text: str) -> list[str]:
    # Same normalisation as the jiwer pipeline below: lower case, punctuation deleted (so "co-adapting"
    # is one word either way), split on whitespace.
    kept = "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))
    return kept.split()


def edit_distance_wer(reference: str, hypothesis: str) -> float:
    """Word error rate by Levenshtein distance over words; the fallback when jiwer is absent."""
    ref, hyp = _words(reference), _words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(1, len(ref))


def word_error_rate(reference: str, hypothesis: str) -> float:
    try:
        import jiwer
    except ImportError:
        return edit_distance_wer(reference, hypothesis)
    normalise = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    return float(
        jiwer.wer(reference, hypothesis, reference_transform=normalise, hypothesis_transform=normalise)
    )


class FakePortAudioError(Exception):
    pass


def fake_sounddevice(
    *,
    input_rate: int | None = None,
    output_rate: int | None = None,
    microphone: np.ndarray | None = None,
    play: Callable[[np.ndarray, int], None] | None = None,
) -> types.ModuleType:
    """A stand-in for the sounddevice module; a device whose rate is None does not exist.

    The microphone yields `microphone` (at input_rate) and then silence, as a live one would.
    """
    module = types.ModuleType("sounddevice")
    rates = {"input": input_rate, "output": output_rate}
    played: list[tuple[np.ndarray, int]] = []

    def query_devices(device: Any = None, kind: str | None = None) -> dict[str, Any]:
        rate = rates.get(kind or "")
        if rate is None:
            # What PortAudio says when there is no default device.
            raise FakePortAudioError("Error querying device -1")
        return {
            "name": f"fake {kind}",
            f"max_{kind}_channels": 1,
            "default_samplerate": float(rate),
        }

    class InputStream:
        def __init__(self, samplerate: float, channels: int, dtype: str, blocksize: int) -> None:
            assert channels == 1 and dtype == "float32"
            self.samples = np.zeros(0, np.float32) if microphone is None else microphone.astype(np.float32)
            self.position = 0

        def __enter__(self) -> InputStream:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self, frames: int) -> tuple[np.ndarray, bool]:
            block = self.samples[self.position : self.position + frames]
            self.position += frames
            block = np.pad(block, (0, frames - len(block)))
            return block.reshape(-1, 1), False

    def _play(data: np.ndarray, samplerate: int) -> None:
        played.append((data, samplerate))
        if play is not None:
            play(data, samplerate)

    module.query_devices = query_devices  # type: ignore[attr-defined]
    module.InputStream = InputStream  # type: ignore[attr-defined]
    module.play = _play  # type: ignore[attr-defined]
    module.wait = lambda: None  # type: ignore[attr-defined]
    module.PortAudioError = FakePortAudioError  # type: ignore[attr-defined]
    module.played = played  # type: ignore[attr-defined]
    return module


class RaiseOnImport:
    """A sys.meta_path finder making `import NAME` raise `error`, as sounddevice does without PortAudio."""

    def __init__(self, name: str, error: BaseException) -> None:
        self.name, self.error = name, error

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == self.name:
            raise self.error
        return None


def forbid_import(monkeypatch: Any, name: str, error: BaseException) -> None:
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [RaiseOnImport(name, error), *sys.meta_path])
