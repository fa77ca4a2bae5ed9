"""The terminal front end of `interviewer practice` and `interviewer progress`: thin, rich, no logic.

The interview itself is the pure state machine in `interview.py`; this module reads keys, renders
its replies, persists every turn as it happens and keeps the first question instant: the grader
(sentence-transformers + FAISS, 8–15 s to load) loads in a background thread while the candidate
reads and answers, and is only waited for when the first answer must be graded.
"""

from __future__ import annotations

import codecs
import contextlib
import math
import os
import secrets
import select
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from interviewer.domain.grade import Grade
from interviewer.session.history import History, Timings, Transcript, progress_rows, weakest_topics
from interviewer.session.interview import (
    LEVELS,
    Ask,
    Feedback,
    Interview,
    Phase,
    Reply,
    SelectionError,
    Summary,
    build_pool,
    normalize_level,
    parse_command,
    plan_order,
    plural,
)
from interviewer.session.phrasing import Phrasing
from interviewer.sources.rubric import Rubric
from interviewer.workspace import Workspace, user_data_dir

PROMPT = "> "
# After one empty line the prompt says how to send: a second empty line does it (or Ctrl-D), so a
# blank line between paragraphs never sends half an answer.
SEND_PROMPT = "(Enter again to send) > "
SEND_AFTER_EMPTY_LINES = 2
NEXT_PROMPT = "↵ "
PASTE_START, PASTE_END = "[200~", "[201~"  # bracketed paste, after ESC
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
BAND_STYLE = {
    "strong": "bold green",
    "adequate": "bold yellow",
    "weak": "bold red",
    "off-topic": "bold red",
    "no answer": "bold red",
    "no reference": "bold blue",
}


class OptionError(ValueError):
    """A bad option: one line, exit code 2."""


@dataclass
class PracticeOptions:
    topics: list[str] = field(default_factory=list)
    difficulty: str | None = None
    count: int = 5
    critic: str | None = None
    model: str | None = None
    no_cache: bool = False
    resume: bool = False
    time_limit: int | None = None
    review: bool = True
    voice: bool = False
    voice_in: list[Path] = field(default_factory=list)
    voice_out: Path | None = None
    seed: int | None = None


# ---- the grader, loaded in the background ---------------------------------------------------------


class GraderLoader:
    """Runs `ws.grader()` (and the model's first encode) in a thread started at session start."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._done = threading.Event()
        self._grader: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, name="grader-loader", daemon=True)

    def start(self) -> GraderLoader:
        self._thread.start()
        return self

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def _load(self) -> None:
        try:
            grader = self._ws.grader()
            # The index (and the disk cache of embeddings) may load without the model; answers will
            # need it, so load it and pay torch's slow first forward pass here, not in the first grade.
            for model in (getattr(grader, "embedder", None), getattr(grader, "judge", None)):
                warm_up = getattr(model, "warm_up", None)
                if callable(warm_up):
                    warm_up()
            self._grader = grader
        except BaseException as exc:  # re-raised in the main thread, where it can be reported
            self._error = exc
        finally:
            self._done.set()

    def get(self) -> Any:
        while not self._done.wait(0.1):  # short waits keep Ctrl-C responsive
            pass
        if self._error is not None:
            raise self._error
        return self._grader


@dataclass
class _Timing:
    wait_seconds: float = 0.0
    grade_seconds: float = 0.0


class Scorer:
    """The interview's grade function: the grader, then the critic if one was chosen."""

    def __init__(self, loader: GraderLoader, console: Console, critic: Any = None) -> None:
        self.loader = loader
        self.console = console
        self.critic = critic
        self.last = _Timing()

    def __call__(self, rubric: Rubric, answer: str) -> Grade:
        started = time.monotonic()
        if not self.loader.ready:
            with self.console.status("grading… (loading the grading model, first answer only)"):
                grader = self.loader.get()
        else:
            grader = self.loader.get()
        waited = time.monotonic() - started
        with self.console.status("grading…"):
            grade = grader.grade(rubric, answer)
            if self.critic is not None:
                grade = self._critique(rubric, answer, grade)
        self.last = _Timing(round(waited, 3), round(time.monotonic() - started, 3))
        return grade

    def _critique(self, rubric: Rubric, answer: str, grade: Grade) -> Grade:
        from interviewer.critic import blend, request_for

        critique = self.critic.critique(request_for(rubric, answer))
        blended = blend(grade, rubric, critique)
        feedback = getattr(getattr(critique, "verdict", None), "feedback", "") or ""
        if blended.critic is not None and not blended.critic.feedback and feedback:
            blended = blended.model_copy(
                update={"critic": blended.critic.model_copy(update={"feedback": feedback})}
            )
        return blended


def _make_critic(options: PracticeOptions, kind: str | None) -> Any:
    """The critic if one was chosen (option, else $INTERVIEWER_CRITIC); imported only then."""
    chosen = (kind or os.environ.get("INTERVIEWER_CRITIC") or "none").strip().lower()
    if chosen in ("", "none", "off", "no"):
        return None
    from interviewer.critic import make_critic

    return make_critic(chosen, model=options.model, no_cache=options.no_cache)


def _open_voice(options: PracticeOptions, notice: Callable[[str], None]) -> Any:
    # --voice-out alone asks for the voice path too (questions spoken to files), as voice.py reads it.
    if not (options.voice or options.voice_in or options.voice_out):
        return None
    try:
        from interviewer.surfaces.voice import open_voice
    except ImportError:
        notice("Voice support is not available here; continuing in text mode.")
        return None
    return open_voice(options.voice, list(options.voice_in), options.voice_out, notice)


# ---- keyboard ---------------------------------------------------------------------------------------


@dataclass
class Line:
    text: str
    eof: bool = False
    timed_out: bool = False


class Keyboard:
    """Reads lines. On a terminal, key by key (select + cbreak): a countdown can show, a half-typed line
    survives a timeout, and a bracketed paste arrives whole, its newlines kept as text, so pasted
    paragraphs stay one answer. On a pipe, plain lines."""

    def __init__(self, stdin: Any = None, stdout: Any = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.fd = self.stdin.fileno()
        self.tty = os.isatty(self.fd)
        self.closed = False
        self._typeahead = ""  # keys read past a submitted line (a paste), for the next line
        self._after_cr = False  # the last line ended with \r: a \n right after it is the same end
        self._pending = b""  # bytes read past a line on a pipe
        self._color = "NO_COLOR" not in os.environ
        if self.tty:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (importing it gives input() line editing)

    def read_line(self, prompt: str, deadline: float | None = None) -> Line:
        if not self.tty:
            return self._read_pipe(deadline)
        return self._read_keys(prompt, deadline)

    def edit(self, prompt: str, text: str) -> str:
        """Let the candidate correct a transcript; Enter alone accepts it as it is."""
        if self.tty:
            try:
                import readline

                readline.set_startup_hook(lambda: readline.insert_text(text))
                try:
                    return input(prompt)
                finally:
                    readline.set_startup_hook()
            except ImportError:
                pass
            except EOFError:
                return text
        line = self.read_line(prompt)
        return line.text if line.text.strip() else text

    # -- a pipe: no echo, no editing -------------------------------------------------------------

    def _read_pipe(self, deadline: float | None) -> Line:
        while b"\n" not in self._pending:
            if self.closed:
                break
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return Line("", timed_out=True)
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.closed = True
            self._pending += chunk
        if b"\n" in self._pending:
            line, self._pending = self._pending.split(b"\n", 1)
            return Line(line.decode("utf-8", "replace").rstrip("\r"))
        rest, self._pending = self._pending, b""
        return Line(rest.decode("utf-8", "replace"), eof=True)

    # -- a terminal, key by key ------------------------------------------------------------------

    def _read_keys(self, prompt: str, deadline: float | None) -> Line:
        import termios
        import tty

        saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)  # ISIG stays on: Ctrl-C still raises KeyboardInterrupt
        # Enter arrives as \r, a pasted or piped line end as \n or \r\n: see them as sent (no ICRNL),
        # so \r\n is one line end and \n\n an empty line, never the other way round.
        attrs = termios.tcgetattr(self.fd)
        attrs[0] &= ~termios.ICRNL
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.stdout.write("\x1b[?2004h")  # ask the terminal to bracket pastes
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        buf: list[str] = []
        escape_state = 0
        sequence = ""  # the escape sequence being read
        pasting = after_cr = False
        shown: int | None = -1  # the countdown second on screen; -1: redraw now
        try:
            while True:
                left = math.inf if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    self._draw(prompt, buf, 0)
                    self.stdout.write("\n")
                    self.stdout.flush()
                    return Line("".join(buf), timed_out=True)
                seconds = None if deadline is None else math.ceil(left)
                if shown != seconds:
                    self._draw(prompt, buf, seconds)
                    shown = seconds
                keys, self._typeahead = self._typeahead, ""
                if not keys:
                    # Wake when the second on the clock changes, or when a key arrives.
                    wait = None if seconds is None else max(0.02, left - (seconds - 1))
                    if not select.select([self.fd], [], [], wait)[0]:
                        continue
                    data = os.read(self.fd, 1024)
                    if not data:
                        self.closed = True
                        return Line("".join(buf), eof=True)
                    keys = decoder.decode(data)
                    # A \r\n comes in one write; a \n typed later after a \r is a line of its own.
                    self._after_cr = False
                for n, key in enumerate(keys):
                    if escape_state:  # swallow arrow keys and other escape sequences…
                        escape_state = _escape_step(escape_state, key)
                        sequence += key
                        if not escape_state:  # …but the paste brackets switch paste mode
                            pasting = {PASTE_START: True, PASTE_END: False}.get(sequence, pasting)
                        continue
                    if key == "\x1b":
                        escape_state, sequence = 1, ""
                    elif pasting:  # pasted text is text, newlines included: it never sends
                        if not (key == "\n" and after_cr):  # \r\n is one newline
                            _paste(buf, key)
                        after_cr = key == "\r"
                    elif key == "\n" and self._after_cr:  # the \n of a \r\n line end
                        self._after_cr = False
                    elif key in "\r\n":
                        self._after_cr = key == "\r"
                        self._typeahead = keys[n + 1 :]
                        self._submit(prompt, buf, seconds)
                        return Line("".join(buf))
                    elif key == "\x04":  # Ctrl-D
                        self._submit(prompt, buf, seconds)
                        return Line("".join(buf), eof=True)
                    else:
                        _edit(buf, key)
                    if key != "\r":
                        self._after_cr = False
                shown = -1  # redraw with the new text
        finally:
            self.stdout.write("\x1b[?2004l")
            self.stdout.flush()
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def _submit(self, prompt: str, buf: list[str], seconds: int | None) -> None:
        # Keys typed in one burst were never drawn: show the line as sent before moving on.
        self._draw(prompt, buf, seconds)
        self.stdout.write("\n")
        self.stdout.flush()

    def _draw(self, prompt: str, buf: list[str], seconds: int | None) -> None:
        width = shutil.get_terminal_size((80, 24)).columns
        clock = "" if seconds is None else f"[{seconds:>3}s] "
        room = max(10, width - len(clock) - len(prompt) - 1)
        # A long line scrolls sideways rather than wrapping the redraw; pasted newlines show as ↵.
        tail = "".join(buf).replace("\n", " ↵ ")[-room:]
        if clock and self._color:
            clock = ("\x1b[1;31m" if seconds <= 10 else "\x1b[33m") + clock + "\x1b[0m"
        self.stdout.write("\r\x1b[2K" + clock + prompt + tail)
        self.stdout.flush()


def _escape_step(state: int, key: str) -> int:
    if state == 1:
        return 2 if key in "[O" else 0
    return 0 if "@" <= key <= "~" else 2


def _paste(buf: list[str], key: str) -> None:
    if key in "\r\n":
        buf.append("\n")
    elif key == "\t":
        buf.append(" ")
    elif key >= " ":
        buf.append(key)


def _edit(buf: list[str], key: str) -> None:
    if key in ("\x7f", "\x08"):
        if buf:
            buf.pop()
    elif key == "\x15":  # Ctrl-U
        buf.clear()
    elif key == "\x17":  # Ctrl-W
        while buf and buf[-1] == " ":
            buf.pop()
        while buf and buf[-1] != " ":
            buf.pop()
    elif key == "\t":
        buf.append(" ")
    elif key >= " ":
        buf.append(key)


@dataclass
class Collected:
    lines: list[str] = field(default_factory=list)
    command: str | None = None
    timed_out: bool = False
    closed: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


def collect_answer(keyboard: Keyboard, deadline: float | None, lines: list[str] | None = None) -> Collected:
    """Lines until two empty lines in a row, or Ctrl-D: one empty line is a paragraph break, kept.
    A line that is only a command word returns that command with the lines so far, so `hint` or
    `repeat` can carry on with the same answer."""
    got = Collected(list(lines or []))
    empty = 0  # empty lines in a row since the last text
    while True:
        line = keyboard.read_line(SEND_PROMPT if empty else PROMPT, deadline)
        if line.timed_out:
            if line.text.strip():
                got.lines.append(line.text)
            got.timed_out = True
            return got
        command = parse_command(line.text)
        if command:
            got.command = command
            return got
        if line.text.strip():
            got.lines += [""] * min(empty, 1) + [line.text]  # a paragraph break, then the text
            empty = 0
        elif got.lines:
            empty += 1
        if line.eof and keyboard.closed and not got.lines:
            got.closed = True
            return got
        if got.lines and (line.eof or empty >= SEND_AFTER_EMPTY_LINES):
            return got


# ---- the session --------------------------------------------------------------------------------------


@dataclass
class Setup:
    interview: Interview
    config: dict[str, Any]
    plan: dict[str, Any]
    session_id: str | None  # set when resuming
    time_limit: int | None
    critic_kind: str | None


class Practice:
    """One practice session in the terminal: render, read, persist; the Interview decides."""

    def __init__(
        self,
        setup: Setup,
        history: History,
        transcript: Transcript,
        session_id: str,
        scorer: Scorer,
        console: Console,
        keyboard: Keyboard,
        voice: Any = None,
    ) -> None:
        self.interview = setup.interview
        self.setup = setup
        self.history = history
        self.transcript = transcript
        self.session_id = session_id
        self.scorer = scorer
        self.console = console
        self.keyboard = keyboard
        self.voice = voice
        self.asked_at = time.time()
        self.asked_mono = time.monotonic()
        self.deadline: float | None = None

    def run(self) -> int:
        reply = self.interview.start()
        while True:
            self.show(reply)
            if reply.summary is not None:
                self.history.finish_session(self.session_id)
                return 0
            reply = self._after_feedback() if self.interview.phase == Phase.FEEDBACK else self._take_answer()

    # -- reading --------------------------------------------------------------------------------

    def _take_answer(self) -> Reply:
        lines: list[str] = []
        while True:
            got = self._listen() if self.voice is not None else None
            if got is None:
                got = collect_answer(self.keyboard, self.deadline, lines)
            if got.closed:
                return self.interview.command("quit")
            if got.command in ("hint", "repeat"):
                lines = got.lines  # keep what was typed and carry on with the same answer
                self.transcript.write(got.command, session=self.session_id, number=self._number())
                self.show(self.interview.command(got.command), keep_deadline=True)
                continue
            if got.command is not None:
                return self.interview.command(got.command)
            return self._grade(got)

    def _listen(self) -> Collected | None:
        try:
            heard = self.voice.listen(PROMPT)
        except Exception as exc:  # a broken microphone must not end the interview
            self._notice(f"Voice input failed ({type(exc).__name__}); type your answer instead.")
            self.voice = None
            return None
        if heard is None:
            self._notice("I didn't catch that; type your answer instead.")
            return None
        self.console.print(f"[dim]You said:[/dim] {escape(heard)}")
        edited = self.keyboard.edit("Edit it, or press Enter to accept: ", heard)
        command = parse_command(edited)
        return Collected([] if command else [edited], command=command)

    def _grade(self, got: Collected) -> Reply:
        answered_at, answered_mono = time.time(), time.monotonic()
        # Written before grading: an answer typed and then interrupted while grading is not lost.
        self.transcript.write(
            "answer", session=self.session_id, number=self._number(), text=got.text, timed_out=got.timed_out
        )
        self.scorer.last = _Timing()  # a blank follow-up answer is not graded: no stale timing
        reply = self.interview.answer(got.text, timed_out=got.timed_out)
        timing = self.scorer.last
        timings = Timings(
            asked_at=self.asked_at,
            answered_at=answered_at,
            answer_seconds=round(answered_mono - self.asked_mono, 3),
            grade_seconds=timing.grade_seconds,
            wait_seconds=timing.wait_seconds,
        )
        for turn in reply.turns:
            self._save(turn, timings)
        reply.turns = []
        return reply

    def _after_feedback(self) -> Reply:
        while True:
            line = self.keyboard.read_line(NEXT_PROMPT)
            if line.eof and self.keyboard.closed:
                return self.interview.command("quit")
            command = parse_command(line.text)
            if command is None and not line.text.strip():
                return self.interview.proceed()
            if command in ("skip",):
                return self.interview.proceed()
            if command is not None:
                reply = self.interview.command(command)
                if reply.summary is not None or reply.ask is not None:
                    return reply
                self.show(reply)
                continue
            self.console.print(
                "[dim]Press Enter for the next question, or type reference, repeat or quit.[/dim]"
            )

    # -- showing --------------------------------------------------------------------------------

    def show(self, reply: Reply, keep_deadline: bool = False) -> None:
        for turn in reply.turns:
            self._save(turn, Timings(asked_at=self.asked_at))
        for line in reply.lines:
            self.console.print(escape(line))
        if reply.feedback is not None:
            self._feedback(reply.feedback)
        if reply.reference is not None:
            self._reference(reply.reference)
        if reply.hint is not None:
            self.console.print(f"[cyan]💡 {escape(reply.hint)}[/cyan]")
            self.transcript.write("hint", session=self.session_id, number=self._number(), text=reply.hint)
        if reply.summary is not None:
            self._summary(reply.summary)
        if reply.ask is not None:
            self._ask(reply.ask, keep_deadline)
        elif self.interview.phase == Phase.FEEDBACK and reply.summary is None:
            self.console.print(
                "[dim]Press Enter for the next question (or type reference, repeat, quit).[/dim]"
            )

    def _ask(self, ask: Ask, keep_deadline: bool) -> None:
        self.console.print()
        if ask.follow_up:
            self.console.print(f"[bold magenta]Follow-up[/bold magenta] [dim]· {escape(ask.intro)}[/dim]")
        else:
            level = ask.card.level or "unrated"
            head = f"Question {ask.number} of {ask.total} · {ask.card.topic} · {level}"
            if ask.review:
                head += " · review"
            self.console.rule(f"[bold]{escape(head)}[/bold]", align="left")
            self.console.print(escape(ask.intro))
        self.console.print(f"[bold]{escape(ask.text)}[/bold]")
        if not ask.repeated:
            self.transcript.write(
                "question",
                session=self.session_id,
                number=ask.number,
                question_id=ask.card.id,
                text=ask.text,
                intro=ask.intro,
                follow_up=ask.follow_up,
                review=ask.review,
            )
        self._say(f"{ask.intro} {ask.text}")
        if not keep_deadline and not ask.repeated:
            self.asked_at, self.asked_mono = time.time(), time.monotonic()
            limit = self.setup.time_limit
            self.deadline = self.asked_mono + limit if limit else None
        if self.deadline is not None and self.voice is None:
            self.console.print(
                f"[dim]{self.setup.time_limit} seconds; the clock shows how long is left.[/dim]"
            )

    def _feedback(self, feedback: Feedback) -> None:
        result = feedback.result
        grade = result.grade
        if grade is None:
            return
        style = BAND_STYLE.get(grade.band, "bold")
        score = "no score" if grade.score is None else f"{grade.score:.1f} / 5"
        line = f"[{style}]Score {score} · {grade.band}[/{style}]"
        first = result.first_grade
        if (
            first is not None
            and first.score is not None
            and grade.score is not None
            and result.follow_up_answer
        ):
            line += f" [dim](first answer {first.score:.1f} → {grade.score:.1f} with the follow-up)[/dim]"
        self.console.print(line)
        self.console.print(escape(feedback.opener))
        if feedback.key_idea:
            self.console.print("[bold]The key idea:[/bold]")
            for line in feedback.key_idea:
                self.console.print(f"  {escape(line)}")
            self.console.print("[dim]Type `reference` for the full model answer.[/dim]")
            if feedback.level_note:
                self.console.print(f"[italic]{escape(feedback.level_note)}[/italic]")
            self._say(f"{feedback.opener} The key idea: {' '.join(feedback.key_idea)}")
            return
        essential = {k.text for k in result.card.rubric.key_points if k.essential}
        for point in grade.covered:
            self.console.print(f"  [green]✓[/green] {escape(point)}")
        for point in grade.missed:
            tag = " [dim](essential)[/dim]" if point in essential else ""
            self.console.print(f"  [red]✗[/red] {escape(point)}{tag}")
        for wrong in grade.contradictions:
            said, fact = escape(wrong.said), escape(wrong.fact)
            self.console.print(f"  [bold red]⚠ You said[/bold red] “{said}” [dim]In fact: {fact}[/dim]")
        corrections = {m.claim: m.correction for m in result.card.rubric.misconceptions}
        for claim in grade.misconceptions:
            fix = corrections.get(claim, "")
            self.console.print(
                f"  [bold red]⚠ Misconception:[/bold red] “{escape(claim)}” [dim]{escape(fix)}[/dim]"
            )
        if feedback.added:
            self.console.print("[magenta]The follow-up added:[/magenta]")
            for point in feedback.added:
                self.console.print(f"  [magenta]+[/magenta] {escape(point)}")
        elif first is not None and result.follow_up_answer:
            self.console.print("[dim]The follow-up didn't add a new key point.[/dim]")
        if grade.explanation:
            self.console.print(f"[dim]{escape(grade.explanation)}[/dim]")
        if grade.critic is not None:
            note = grade.critic
            if note.feedback:
                self.console.print(f"[blue]Critic:[/blue] {escape(note.feedback)}")
            if note.changed:
                self.console.print(f"[dim]{escape(note.changed[0].upper() + note.changed[1:])}[/dim]")
        if feedback.level_note:
            self.console.print(f"[italic]{escape(feedback.level_note)}[/italic]")
        self._say(f"{feedback.opener} {score}.")

    def _reference(self, text: str) -> None:
        self.console.print("[bold]Model answer[/bold]")
        self.console.print(escape(text), soft_wrap=False)
        self.transcript.write("reference", session=self.session_id, number=self._number())

    def _summary(self, summary: Summary) -> None:
        c = self.console
        c.print()
        c.rule("[bold]Summary[/bold]", align="left")
        graded = summary.graded
        not_graded = len(summary.results) - len(graded)
        if summary.mean is None:
            c.print("No answers were scored this time.")
        else:
            extra = f" ({not_graded} not scored)" if not_graded else ""
            answers = f"{len(graded)} answer{'s' if len(graded) != 1 else ''}"
            c.print(f"[bold]Mean score {summary.mean:.1f} / 5[/bold] over {answers}{extra}.")
        if summary.results:
            table = Table("#", "topic", "level", "score", "", box=None, pad_edge=False)
            for r in summary.results:
                score = f"{r.score:.1f}" if r.score is not None else "—"
                note = r.status if r.status != "graded" else (r.grade.band if r.grade else "")
                if r.follow_up_answer:
                    note += " (with follow-up)"
                table.add_row(str(r.number), escape(r.card.topic), r.card.level or "unrated", score, note)
            c.print(table)
        if len(summary.by_topic) > 1:
            c.print(
                "By topic: "
                + ", ".join(f"{escape(t.topic)} {t.mean:.1f} ({t.answered})" for t in summary.by_topic)
            )
        if summary.strongest is not None:
            r = summary.strongest
            c.print(f"[green]Strongest:[/green] {escape(r.card.rubric.prompt)} ({r.score:.1f})")
        if summary.weakest is not None:
            r = summary.weakest
            c.print(f"[red]Weakest:[/red] {escape(r.card.rubric.prompt)} ({r.score:.1f})")
        if summary.review_points:
            c.print("[bold]Points to review:[/bold]")
            for point in summary.review_points[:8]:
                c.print(f"  • {escape(point)}")
        for claim, correction in summary.corrections:
            c.print(f"[bold red]Unlearn:[/bold red] “{escape(claim)}” [dim]{escape(correction)}[/dim]")
        if summary.come_back:
            n = len(summary.come_back)
            plural = "s" if n != 1 else ""
            c.print(f"[dim]{n} question{plural} will come back for review in a later session.[/dim]")
        c.print(escape(summary.closing))
        c.print(f"[dim]Transcript: {self.transcript.path}[/dim]")
        self.transcript.write(
            "summary",
            session=self.session_id,
            mean=summary.mean,
            answered=len(graded),
            by_topic=[t.__dict__ for t in summary.by_topic],
            review_points=summary.review_points,
        )
        self._say(summary.closing)

    # -- helpers ---------------------------------------------------------------------------------

    def _save(self, turn: Any, timings: Timings) -> None:
        self.history.record_turn(self.session_id, turn, timings)
        self.transcript.turn(self.session_id, turn, timings)

    def _number(self) -> int:
        ask = self.interview.current
        return ask.number if ask is not None else self.interview.asked

    def _say(self, text: str) -> None:
        if self.voice is None:
            return
        try:
            self.voice.say(text)
        except Exception as exc:  # speech is a nicety: fall back to text rather than stop
            self._notice(f"Speech failed ({type(exc).__name__}); continuing in text.")
            self.voice = None

    def _notice(self, message: str) -> None:
        self.console.print(f"[dim]{escape(message)}[/dim]")


# ---- wiring ---------------------------------------------------------------------------------------------


def _bank_topics(ws: Workspace) -> dict[str, str | None]:
    try:
        return {q.id: q.topic for q in ws.questions()}
    except Exception:  # topics from the banks only widen topic matching; rubric topics still work
        return {}


def _new_setup(ws: Workspace, options: PracticeOptions, history: History) -> Setup:
    level = normalize_level(options.difficulty)
    if options.difficulty and level is None:
        raise OptionError(
            f"unknown difficulty {options.difficulty!r}: use beginner, intermediate or advanced"
        )
    if options.time_limit is not None and options.time_limit <= 0:
        raise OptionError("--time-limit must be a positive number of seconds")
    cards = build_pool(ws.rubrics(), _bank_topics(ws), options.topics)
    seed = options.seed if options.seed is not None else secrets.randbelow(1_000_000)
    reviews = history.due_reviews(questions=[c.id for c in cards]) if options.review else []
    config = {
        "topics": options.topics,
        "difficulty": level or LEVELS[0],
        "count": options.count,
        "time_limit": options.time_limit,
        "seed": seed,
        "review": options.review,
        "critic": options.critic,
    }
    plan = {"order": plan_order(cards, seed), "reviews": reviews}
    interview = Interview(
        cards,
        _unset_grader,
        count=options.count,
        start_level=level,
        seed=seed,
        order=plan["order"],
        reviews=reviews,
    )
    return Setup(interview, config, plan, None, options.time_limit, options.critic)


def _resumed_setup(ws: Workspace, options: PracticeOptions, history: History) -> Setup:
    row = history.last_unfinished()
    if row is None:
        raise OptionError("nothing to resume: there is no unfinished practice session")
    config, plan = row.config, row.plan
    cards = build_pool(ws.rubrics(), _bank_topics(ws), config.get("topics") or [])
    interview = Interview(
        cards,
        _unset_grader,
        count=int(config.get("count") or 5),
        start_level=config.get("difficulty"),
        seed=int(config.get("seed") or 0),
        order=plan.get("order"),
        reviews=plan.get("reviews") or [],
        phrasing=Phrasing(int(config.get("seed") or 0) + 1),  # a new sitting: vary the phrasing
    )
    for outcome in history.outcomes(row.id):
        interview.restore(outcome.question_id, outcome.status, outcome.grade, outcome.answer, outcome.review)
    time_limit = options.time_limit if options.time_limit is not None else config.get("time_limit")
    return Setup(interview, config, plan, row.id, time_limit, options.critic or config.get("critic"))


def _unset_grader(rubric: Rubric, answer: str) -> Grade:
    raise RuntimeError("the grader is wired in after setup")


def _header(console: Console, setup: Setup, resumed: bool) -> None:
    config = setup.config
    topics = ", ".join(config.get("topics") or []) or "all topics"
    parts = [plural(setup.interview.count, "question"), topics, f"starting at {config.get('difficulty')}"]
    if setup.time_limit:
        parts.append(f"{setup.time_limit}s per answer")
    parts.append(f"seed {config.get('seed')}")
    title = "Mock interview (resumed)" if resumed else "Mock interview"
    console.print(f"[bold]{title}[/bold] [dim]· {' · '.join(escape(p) for p in parts)}[/dim]")
    console.print(
        "[dim]Answer in as many lines and paragraphs as you like (pasting is fine); to send it, press Enter "
        "on an empty line twice (or Ctrl-D). At any prompt: hint · skip · repeat · reference · quit[/dim]"
    )


def run_practice(ws: Workspace, options: PracticeOptions) -> int:
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    data_dir = user_data_dir()
    history = History.open(data_dir)
    transcript: Transcript | None = None
    practice: Practice | None = None
    try:
        try:
            setup = (
                _resumed_setup(ws, options, history) if options.resume else _new_setup(ws, options, history)
            )
        except (OptionError, SelectionError) as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)  # one line, however long
            return EXIT_USAGE
        # Validated: start loading the grader now, while the candidate reads the first question.
        loader = GraderLoader(ws).start()
        critic = _make_critic(options, setup.critic_kind)
        scorer = Scorer(loader, console, critic)
        setup.interview.grade_fn = scorer
        session_id = setup.session_id or history.start_session(setup.config, setup.plan)
        transcript = Transcript.for_session(data_dir, session_id)
        transcript.write(
            "resume" if setup.session_id else "session",
            session=session_id,
            config=setup.config,
            plan=setup.plan,
        )
        _header(console, setup, resumed=bool(setup.session_id))
        voice = _open_voice(options, lambda m: console.print(f"[dim]{escape(m)}[/dim]"))
        practice = Practice(setup, history, transcript, session_id, scorer, console, Keyboard(), voice)
        return practice.run()
    except KeyboardInterrupt:
        saved = len(history.turns(practice.session_id)) if practice is not None else 0
        if transcript is not None:
            transcript.write("interrupted", saved=saved)
        what = (
            "nothing was answered yet"
            if not saved
            else f"{saved} turn{'s are' if saved != 1 else ' is'} in your history"
        )
        console.print(f"\nSaved: {what}; `interviewer practice --resume` carries on from here.")
        return EXIT_INTERRUPTED
    finally:
        if transcript is not None:
            transcript.close()
        history.close()


# ---- progress -------------------------------------------------------------------------------------------


def run_progress(ws: Workspace, plot_path: Path | None) -> int:
    console = Console(highlight=False)
    data_dir = user_data_dir()
    history = History.open(data_dir)
    try:
        outcomes = history.outcomes()
        due = history.due_reviews()
    finally:
        history.close()
    rows = progress_rows(outcomes)
    if not rows:
        console.print("No practice history yet: run `interviewer practice` first.")
        return 0
    table = Table("topic", "level", "answers", "mean", "per session", "last", box=None)
    for row in rows:
        when = time.strftime("%Y-%m-%d", time.localtime(row.last_at))
        table.add_row(
            escape(row.topic), row.level, str(row.answered), f"{row.mean:.1f}", trend(row.sessions), when
        )
    console.print(table)
    weakest = weakest_topics(outcomes)
    if weakest:
        names = ", ".join(f"{escape(t)} ({m:.1f} over {n})" for t, m, n in weakest)
        console.print(f"[bold]Weakest topics:[/bold] {names}")
    if due:
        console.print(
            f"{len(due)} question{'s' if len(due) != 1 else ''} due for review in your next session."
        )
    path = plot_path or data_dir / "progress.png"
    try:
        write_progress_plot(outcomes, path)
    except ImportError:
        console.print("[dim]Install matplotlib for the progress plot.[/dim]")
    else:
        console.print(f"Plot: {path}")
    return 0


_SPARKS = "▁▂▃▄▅▆▇█"


def trend(means: list[float], last: int = 8) -> str:
    """Per-session means as a sparkline (0–5) and first → latest: '▂▅▇ 1.5 → 4.2'."""
    if not means:
        return ""
    spark = "".join(_SPARKS[min(len(_SPARKS) - 1, int(m / 5 * len(_SPARKS)))] for m in means[-last:])
    if len(means) == 1:
        return f"{spark} {means[0]:.1f}"
    return f"{spark} {means[0]:.1f} → {means[-1]:.1f}"


def write_progress_plot(outcomes: list[Any], path: Path) -> None:
    """Mean score per session for each topic over time, and overall (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import datetime

    import matplotlib.pyplot as plt

    graded = [o for o in outcomes if o.status == "graded" and o.score is not None]
    series: dict[str, dict[float, list[float]]] = {}
    for o in graded:
        series.setdefault(o.topic, {}).setdefault(o.started_at, []).append(o.score)
        series.setdefault("all topics", {}).setdefault(o.started_at, []).append(o.score)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=100)
    for topic, by_session in sorted(series.items(), key=lambda kv: (kv[0] == "all topics", kv[0])):
        xs = sorted(by_session)
        ys = [sum(by_session[x]) / len(by_session[x]) for x in xs]
        style = {"color": "black", "linewidth": 2.5} if topic == "all topics" else {"alpha": 0.8}
        ax.plot([datetime.fromtimestamp(x) for x in xs], ys, marker="o", label=topic, **style)
    ax.axhspan(3.75, 5, color="green", alpha=0.06)
    ax.axhspan(0, 2.25, color="red", alpha=0.06)
    ax.set_ylim(0, 5)
    ax.set_ylabel("mean score (0–5)")
    ax.set_title("Practice scores by topic over time")
    ax.legend(fontsize="small", loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
