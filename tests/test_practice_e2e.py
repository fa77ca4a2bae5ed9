"""`interviewer practice` as a person uses it: the real command in a pseudo-terminal (pexpect),
the real embedding model and index, INTERVIEWER_DATA_DIR in a tmp dir. Asserts on what the screen
shows and on what the transcript and the history hold.

The sessions are made predictable with --seed: the test asks the pure planner (the same code the
command runs) which question comes first, then answers from that question's rubric.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interviewer.domain.grade import Grade
from interviewer.session.history import DAY, History, read_transcript
from interviewer.session.interview import Card, Interview, Turn, build_pool, parse_command
from interviewer.surfaces.keyboard import Collected, Line, collect_answer
from interviewer.workspace import Workspace

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-e2e-DoNotStore-4f3a2b1c"
# The first grade of a process waits for the model (and rebuilds the index if the rubrics changed).
FIRST_GRADE_S = 240
# The answer prompt at the start of a line (the key reader redraws it: escape codes may come first).
PROMPT_RE = r"\n(?:\x1b\[[0-9;?]*[A-Za-z]|\r)*> "
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")


def plain(text: str) -> str:
    return ANSI.sub("", text)


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("INTERVIEWER_CRITIC", "OPENAI_API_KEY")}
    env.update(INTERVIEWER_DATA_DIR=str(data_dir), INTERVIEWER_HOME=str(ROOT), COLUMNS="220", LINES="60")
    # A fresh embedding cache: answers embedded by earlier runs must not spare the model its work.
    env.update(INTERVIEWER_CACHE_DIR=str(data_dir / "cache"))
    env.update(extra)
    return env


class Practice:
    """`python -m interviewer practice …` in a pty, with everything it printed kept for asserts."""

    def __init__(self, args: list[str], data_dir: Path, **env: str) -> None:
        self.started = time.monotonic()
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "interviewer", "practice", *args],
            cwd=str(ROOT),
            env=env_for(data_dir, **env),
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(60, 220),
            timeout=30,
            # A runner that started the tests in the background (`cmd &` without job control) passes
            # SIGINT on as ignored, and Ctrl-C would then do nothing in the child.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.log = io.StringIO()
        self.child.logfile_read = self.log

    def expect(self, pattern: str | list[str], timeout: float = 30) -> int:
        try:
            return self.child.expect(pattern, timeout=timeout)
        except (pexpect.EOF, pexpect.TIMEOUT) as exc:
            # The screen says far more than pexpect's buffer tail about what went wrong.
            raise AssertionError(
                f"{type(exc).__name__} waiting for {pattern!r}; screen:\n{self.screen[-3000:]}"
            ) from None

    def say(self, *lines: str) -> None:
        for line in lines:
            self.child.sendline(line)

    def answer(self, text: str) -> None:
        self.say(text, "", "")  # two empty lines send the answer

    @property
    def screen(self) -> str:
        """Everything shown so far, without colours and cursor moves."""
        return plain(self.log.getvalue())

    def finish(self, timeout: float = 30) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else 128 + self.child.signalstatus


@pytest.fixture(scope="module")
def pool() -> list[Card]:
    ws = Workspace(ROOT)
    return build_pool(ws.rubrics(), {q.id: q.topic for q in ws.questions()})


def first_card(pool: list[Card], seed: int) -> Card:
    def never(*_: object) -> Grade:
        raise AssertionError

    return Interview(pool, never, count=3, seed=seed).start().ask.card


def seed_with_follow_up(pool: list[Card]) -> tuple[int, Card]:
    """A seed whose first question has a follow-up probing an essential key point."""
    for seed in range(500):
        card = first_card(pool, seed)
        rubric = card.rubric
        probed = {f.probes for f in rubric.follow_ups if f.probes < len(rubric.key_points)}
        if any(rubric.key_points[p].essential for p in probed):
            return seed, card
    pytest.skip("no rubric has a follow-up on an essential point yet")


def db_rows(data_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data_dir / "history.sqlite3") as db:
        return db.execute(sql).fetchall()


def transcript_events(data_dir: Path) -> list[dict]:
    (path,) = (data_dir / "transcripts").glob("*.jsonl")
    return read_transcript(path)


# ---- the real thing -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_first_question_appears_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    help_run = subprocess.run(
        [sys.executable, "-m", "interviewer", "--help"], env=env_for(tmp_path), capture_output=True, text=True
    )
    help_s = time.monotonic() - started
    assert help_run.returncode == 0

    session = Practice(["--seed", "1", "--count", "2"], tmp_path)
    session.expect(r"Question 1 of 2")
    session.expect(r"\?")  # the question itself
    first_s = time.monotonic() - session.started
    print(f"\nseconds to first question: {first_s:.2f} (interviewer --help: {help_s:.2f})")
    assert first_s < help_s + 3.0, "the first question must not wait for the grading model"
    session.say("quit")
    session.expect("Summary")
    session.expect("No answers were scored")
    session.expect(r"Ended after 0 of 2 questions\. A session you quit is closed")
    assert session.finish() == 0


@pytest.mark.slow
def test_a_conversation_with_hint_follow_up_timeout_and_summary(tmp_path: Path, pool: list[Card]) -> None:
    seed, card = seed_with_follow_up(pool)
    rubric = card.rubric
    probed = {f.probes for f in rubric.follow_ups}
    # Partial: one point made, so the interviewer probes a missed essential one ("I don't know" would
    # get the key idea instead).
    unsure = next(k.text for i, k in enumerate(rubric.key_points) if i not in probed) + "."

    s = Practice(["--seed", str(seed), "--count", "4", "--time-limit", "6", "--no-review"], tmp_path)
    s.expect(re.escape(rubric.question))
    s.expect(r"\[\s*\d+s\] ")  # the countdown
    s.say("hint")
    s.expect("💡")
    s.expect(r"\[\s*\d+s\] ")
    hint = s.screen.split("💡", 1)[1].splitlines()[0]
    assert all(k.text not in hint for k in rubric.key_points), "a hint gives a gist, never the answer"

    s.answer(unsure)
    assert s.expect(["Follow-up", r"Score \d\.\d / 5"], timeout=FIRST_GRADE_S) == 0, "no follow-up was asked"
    which = s.expect([re.escape(f.question) for f in rubric.follow_ups])
    follow_up = rubric.follow_ups[which]
    probed_point = rubric.key_points[follow_up.probes].text
    s.answer(probed_point)
    s.expect(r"Score \d\.\d / 5")
    s.expect("Press Enter")
    screen = s.screen
    assert "The follow-up added:" in screen and probed_point in screen.split("The follow-up added:", 1)[1]
    assert "with the follow-up" in screen

    s.say("")  # next question
    s.expect(r"Question 2 of 4")
    s.expect(r"\[\s*\d+s\] ")
    s.child.send("Partly typed when the clock")  # no Enter: the clock runs out mid-line
    s.expect("Time's up|That's time|grading what's there", timeout=15)
    s.expect(r"Score \d\.\d / 5", timeout=30)
    s.expect("Press Enter")
    s.say("I also meant to say it cuts the compute.")  # after the grade: not added, but kept
    s.expect("already graded, so this was not added")
    s.say("reference")
    s.expect("Model answer")
    s.say("")

    s.expect(r"Question 3 of 4")
    s.expect(r"\[\s*\d+s\] ")
    shown = s.screen.split("Question 3 of 4", 1)[1]
    third = next(c for c in pool if c.rubric.question in shown).rubric
    model_answer = " ".join(third.reference.split())  # one line: an empty line would send it early
    s.answer(model_answer)
    while s.expect([r"Score (\d\.\d) / 5", "Follow-up"]) == 1:
        s.say("skip")  # its first grade stands
    assert float(s.child.match.group(1)) >= 2.25, "the model answer itself must not grade as weak"
    s.expect("Press Enter")
    s.say("")

    s.expect(r"Question 4 of 4")
    s.expect(r"\[\s*\d+s\] ")
    s.say("quit")
    s.expect("Summary")
    s.expect("Transcript:")
    summary = s.screen.split("Summary", 1)[1]
    assert re.search(r"Mean score \d\.\d / 5 over 3 answers", summary)
    assert "Points to review" in summary and "Strongest" in summary and "Weakest" in summary
    assert s.finish() == 0

    events = transcript_events(tmp_path)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "session" and "hint" in kinds and kinds[-1] == "summary"
    assert [e["text"] for e in events if e["event"] == "after-grading"] == [
        "I also meant to say it cuts the compute."
    ]
    turns = [e for e in events if e["event"] == "turn" and e["kind"] != "skip"]
    assert [t["kind"] for t in turns] == ["answer", "follow-up", "answer", "answer"]
    assert turns[0]["final"] is False and turns[1]["final"] is True and turns[0]["hints"] == 1
    assert turns[1]["question"] == follow_up.question
    assert turns[1]["graded_answer"] == f"{unsure}\n\n{probed_point}"  # graded together
    assert probed_point in turns[1]["grade"]["covered"]
    assert turns[1]["grade"]["score"] > turns[0]["grade"]["score"]
    assert turns[2]["timed_out"] is True and turns[2]["answer"] == "Partly typed when the clock"
    assert turns[3]["answer"] == model_answer
    assert any(e["event"] == "question" and e["follow_up"] for e in events)

    rows = db_rows(
        tmp_path, "SELECT kind, final, timed_out, score, grade_seconds FROM turns WHERE kind != 'skip'"
    )
    # (the model answer may still get a follow-up, skipped above: its first turn is then not final)
    assert [(r[0], r[2]) for r in rows] == [("answer", 0), ("follow-up", 0), ("answer", 1), ("answer", 0)]
    assert [r[1] for r in rows[:3]] == [0, 1, 1]
    assert all(r[3] is not None and r[4] is not None for r in rows)
    print(f"\ngrading seconds per turn (the first waits for the model): {[r[4] for r in rows]}")
    assert db_rows(tmp_path, "SELECT finished_at IS NOT NULL FROM sessions") == [(1,)]


@pytest.mark.slow
def test_dont_know_gets_the_key_idea_and_pasted_paragraphs_are_one_answer(
    tmp_path: Path, pool: list[Card]
) -> None:
    s = Practice(["--seed", "5", "--count", "2", "--no-review"], tmp_path)
    s.expect("Enter on an empty line twice")
    s.expect(r"Question 1 of 2")
    s.expect(PROMPT_RE)
    s.child.send("I don't know.\r\r\r")  # typed fast: the answer, then Enter on an empty line twice
    s.expect("The key idea:", timeout=10)  # no grading model needed, so no wait
    s.expect("Press Enter")
    assert "Follow-up" not in s.screen
    s.say("")

    s.expect(r"Question 2 of 2")
    s.expect(PROMPT_RE)
    shown = s.screen.split("Question 2 of 2", 1)[1]
    rubric = next(c for c in pool if c.rubric.question in shown).rubric
    paragraphs = [k.text + "." for k in rubric.key_points[:3]]
    # A bracketed paste of three paragraphs, newlines as a terminal sends them (\r).
    s.child.send("\x1b[200~" + "\r\r".join(paragraphs) + "\x1b[201~")
    s.child.send("\r")  # the end of the pasted line: not a send
    s.child.send("\r")  # one empty line: not a send either; the prompt says what will
    s.expect(re.escape("(Enter again to send) > "))
    assert "Score" not in s.screen.split("Question 2 of 2", 1)[1]
    s.child.send("\r")
    while s.expect([r"Score \d\.\d / 5", "Follow-up"], timeout=FIRST_GRADE_S) == 1:
        s.say("skip")  # its first grade stands
    s.expect("Press Enter")
    s.say("")
    s.expect("Summary")
    assert s.finish() == 0

    answers = [e["text"] for e in transcript_events(tmp_path) if e["event"] == "answer"]
    assert answers == ["I don't know.", "\n\n".join(paragraphs)]
    turns = db_rows(tmp_path, "SELECT kind, answer FROM turns ORDER BY id")
    assert [t[0] for t in turns][:2] == ["answer", "answer"] and turns[1][1] == "\n\n".join(paragraphs)


@pytest.mark.slow
def test_ctrl_c_saves_then_resume_carries_on_with_the_review_first(tmp_path: Path, pool: list[Card]) -> None:
    # A question answered poorly two days ago is due again.
    review = next(c for c in pool if c.rubric.key_points and c.rubric.has_reference)
    history = History.open(tmp_path)
    then = time.time() - 2 * DAY
    old = history.start_session({"count": 1}, {"order": [review.id]}, now=then)
    poor = Grade(question_id=review.id, score=1.0, band="weak")
    past = Turn(1, review.id, review.topic, "beginner", "beginner", "answer", "q", "a", "a", poor, True)
    history.record_turn(old, past, now=then)
    history.finish_session(old, now=then)
    history.close()

    s = Practice(["--seed", "7", "--count", "2"], tmp_path, OPENAI_API_KEY=SECRET)
    s.expect(r"Question 1 of 2 · .* · review")
    s.expect(re.escape(review.rubric.question))
    s.answer(f"{review.rubric.key_points[0].text}. My key is {SECRET}")
    if s.expect([r"Score \d\.\d / 5", "Follow-up"], timeout=FIRST_GRADE_S) == 1:
        s.say("skip")  # the first answer's grade stands
        s.expect(r"Score \d\.\d / 5")
    s.expect("Press Enter")
    s.say("")
    s.expect(r"Question 2 of 2")
    s.expect(PROMPT_RE)
    shown = s.screen.split("Question 2 of 2", 1)[1]
    second = next(c for c in pool if c.rubric.question in shown and c.id != review.id).rubric.question
    s.child.sendintr()  # Ctrl-C
    s.expect("Saved")
    assert s.finish() == 130
    assert "Traceback" not in s.screen
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM sessions WHERE finished_at IS NULL") == [(1,)]
    assert db_rows(tmp_path, "SELECT question_id, review FROM turns ORDER BY id")[-1] == (review.id, 1)

    r = Practice(["--resume", "--critic", "stub"], tmp_path)
    r.expect(r"Mock interview \(resumed\)")
    r.expect(r"Question 2 of 2")
    r.expect(re.escape(second))  # the same remaining plan
    r.answer("I would start from the definition and explain the main trade-offs involved.")
    if r.expect([r"Score \d\.\d / 5", "Follow-up"], timeout=FIRST_GRADE_S) == 1:
        r.say("skip")
        r.expect(r"Score \d\.\d / 5")
    r.expect("Press Enter")
    assert "Critic" in r.screen
    r.say("")
    r.expect(r"Mean score \d\.\d / 5(\x1b\[[0-9;]*m)* over 2 answers")
    assert r.finish() == 0

    assert db_rows(tmp_path, "SELECT COUNT(*) FROM sessions WHERE finished_at IS NULL") == [(0,)]
    for path in [tmp_path / "history.sqlite3", *(tmp_path / "transcripts").glob("*.jsonl")]:
        assert SECRET.encode() not in path.read_bytes(), f"secret written to {path}"
    events = transcript_events(tmp_path)
    assert [e["event"] for e in events].count("interrupted") == 1
    assert "resume" in [e["event"] for e in events]


def _synthesize(text: str, folder: Path) -> Path:
    """A spoken answer as a WAV: espeak-ng when installed, else the voice extra's piper voice."""
    wav = folder / "answer.wav"
    espeak = shutil.which("espeak-ng")
    if espeak is not None:
        subprocess.run([espeak, "-w", str(wav), text], check=True, capture_output=True)
        return wav
    from interviewer.surfaces import voice

    problems: list[str] = []
    make_speaker = voice._speaker_factory(problems)
    if make_speaker is None:
        pytest.skip(f"no speech synthesizer here: {problems}")
    voice.write_wav(wav, make_speaker().synthesize(text))
    return wav


@pytest.mark.slow
def test_a_spoken_answer_is_shown_and_can_be_edited_before_grading(tmp_path: Path) -> None:
    spoken = "Dropout randomly sets activations to zero during training, which reduces overfitting."
    wav = _synthesize(spoken, tmp_path)
    out = tmp_path / "spoken"

    s = Practice(
        ["--seed", "3", "--count", "1", "--no-review", "--voice-in", str(wav), "--voice-out", str(out)],
        tmp_path,
    )
    if s.expect(["Edit it, or press Enter to accept", "Voice off"], timeout=120) == 1:
        pytest.skip("the voice packages are not installed here")
    assert "You said:" in s.screen and "training" in s.screen.split("You said:", 1)[1].lower()
    s.say(" It also reduces variance.")  # the transcript is pre-filled: typing adds to it
    while s.expect([r"Score \d\.\d / 5", "type your answer instead"], timeout=FIRST_GRADE_S) == 1:
        s.say("skip")  # a follow-up, and no more recordings to answer it with
    s.expect("Press Enter")
    s.say("")
    s.expect("Summary")
    assert s.finish() == 0

    (answer,) = [e for e in transcript_events(tmp_path) if e["event"] == "answer"][:1]
    assert answer["text"].endswith("It also reduces variance.") and "training" in answer["text"].lower()
    assert sorted(p.suffix for p in out.iterdir())[:1] == [".wav"]  # the questions were spoken (to files)


def test_bad_options_give_one_line_and_exit_2(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "interviewer", "practice", *args],
            env=env_for(tmp_path),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )

    for args, message in [
        (["--topic", "quantum-basket-weaving"], "unknown topic 'quantum-basket-weaving'"),
        (["--difficulty", "impossible"], "unknown difficulty 'impossible'"),
        (["--resume"], "nothing to resume"),
    ]:
        done = run(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], done.stderr
        assert "Traceback" not in done.stderr + done.stdout


def test_piped_answers_work_without_a_terminal(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "interviewer", "practice", "--seed", "2", "--count", "1"],
        env=env_for(tmp_path),
        input="skip\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Question 1 of 1" in done.stdout and "Summary" in done.stdout


# ---- pieces of the front end (no model) ------------------------------------------------------------------


class ScriptedKeyboard:
    def __init__(self, *lines: Line) -> None:
        self.lines = list(lines)
        self.closed = False
        self.prompts: list[str] = []

    def read_line(self, prompt: str, deadline: float | None = None) -> Line:
        self.prompts.append(prompt)
        line = self.lines.pop(0)
        if line.eof and not line.text:
            self.closed = True
        return line


def test_collect_answer_reads_until_two_empty_lines() -> None:
    got = collect_answer(
        ScriptedKeyboard(Line(""), Line("first line"), Line("second"), Line(""), Line("")), None
    )
    assert got == Collected(["first line", "second"]) and got.text == "first line\nsecond"


def test_one_empty_line_is_a_paragraph_break_not_a_send() -> None:
    keys = ScriptedKeyboard(
        Line("Paragraph one."), Line(""), Line("Paragraph two."), Line(""), Line(""), Line("never read")
    )
    got = collect_answer(keys, None)
    assert got.text == "Paragraph one.\n\nParagraph two." and keys.lines == [Line("never read")]
    assert keys.prompts == ["> ", "> ", "(Enter again to send) > ", "> ", "(Enter again to send) > "]


def test_ctrl_d_sends_at_once() -> None:
    got = collect_answer(ScriptedKeyboard(Line("One line."), Line("", eof=True)), None)
    assert got.text == "One line." and not got.closed


def test_collect_answer_returns_commands_with_what_was_typed() -> None:
    got = collect_answer(ScriptedKeyboard(Line("half an answer"), Line("hint")), None)
    assert got.command == "hint" and got.lines == ["half an answer"]
    again = collect_answer(ScriptedKeyboard(Line("and the rest"), Line("", eof=True)), None, got.lines)
    assert again.text == "half an answer\nand the rest"


def test_collect_answer_keeps_a_half_typed_line_on_timeout() -> None:
    got = collect_answer(ScriptedKeyboard(Line("done line"), Line("half", timed_out=True)), 0.0)
    assert got.timed_out and got.text == "done line\nhalf"


def test_collect_answer_on_a_closed_stream() -> None:
    assert collect_answer(ScriptedKeyboard(Line("", eof=True)), None).closed


def test_command_words_inside_sentences_are_answers() -> None:
    assert parse_command("skip connections let gradients flow") is None


def test_keys_typed_between_two_reads_are_kept() -> None:
    """Keys that arrive while no line is being read (Enter pressed twice quickly, typing while an
    answer is graded) must reach the next read: switching to key-by-key mode used to flush them."""
    import pty

    from interviewer.surfaces.keyboard import Keyboard

    master, slave = pty.openpty()
    try:
        with open(slave, closefd=False) as tty_in, open(os.devnull, "w") as screen:
            keyboard = Keyboard(tty_in, screen)
            os.write(master, b"first\r")
            assert keyboard.read_line("> ", time.monotonic() + 5) == Line("first")
            os.write(master, b"second\r")  # nobody is reading now
            time.sleep(0.05)
            assert keyboard.read_line("> ", time.monotonic() + 5) == Line("second")
    finally:
        os.close(master)
        os.close(slave)


def test_ctrl_c_delivered_to_another_thread_still_interrupts_a_read() -> None:
    """SIGINT from the terminal may land on any thread (the models' workers included); the main
    thread, waiting for a key with no clock, must still raise KeyboardInterrupt promptly."""
    import pty
    import threading

    from interviewer.surfaces.keyboard import Keyboard

    master, slave = pty.openpty()
    # Python's own Ctrl-C handler, whatever the runner left (a background start passes SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt_from_here() -> None:
        time.sleep(0.3)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # handled in this thread, not the main one
        time.sleep(3)
        os.write(master, b"late\r")  # unblocks a reader that missed it, so a failure cannot hang

    helper = threading.Thread(target=interrupt_from_here, daemon=True)
    started = time.monotonic()
    try:
        with open(slave, closefd=False) as tty_in, open(os.devnull, "w") as screen:
            helper.start()
            with pytest.raises(KeyboardInterrupt):
                Keyboard(tty_in, screen).read_line("> ")
            assert time.monotonic() - started < 1.5
    finally:
        helper.join()
        signal.signal(signal.SIGINT, previous)
        os.close(master)
        os.close(slave)


def test_the_scorer_prepares_the_question_while_it_is_read_and_grades_after():
    """A question on screen starts the grader's preparation for it (the judge's reading of its model
    answer) in the background; an answer sent meanwhile waits for it instead of racing it on the
    grader's caches, and a preparation that fails costs nothing but the head start."""
    from rich.console import Console

    from interviewer.surfaces.terminal import Scorer

    events: list[str] = []

    class Grader:
        fail = False

        def prepare(self, rubrics):
            events.append(f"prepare {rubrics[0]}")
            time.sleep(0.3)
            if self.fail:
                raise RuntimeError("no floor")
            events.append("prepared")

        def grade(self, rubric, answer):
            events.append(f"grade {rubric}")
            return answer.upper()

    class Loader:
        ready = True
        grader = Grader()

        def get(self):
            return self.grader

    scorer = Scorer(Loader(), Console(file=io.StringIO()))  # type: ignore[arg-type]
    scorer.prefetch("q1")  # type: ignore[arg-type]
    time.sleep(0.05)
    assert scorer("q1", "an answer") == "AN ANSWER"  # type: ignore[arg-type]
    assert events == ["prepare q1", "prepared", "grade q1"]
    Loader.grader.fail = True
    scorer.prefetch("q2")  # type: ignore[arg-type]
    time.sleep(0.05)
    assert scorer("q2", "another") == "ANOTHER"  # type: ignore[arg-type]
    assert events[3:] == ["prepare q2", "grade q2"]
