"""The terminal front end of `interviewer practice`: rendering and wiring, no grading logic.

The interview itself is the pure state machine in `session/interview.py`; keys are read by
`keyboard.py` and `interviewer progress` lives in `progress.py`. This module renders the session's
replies, persists every turn as it happens and keeps the first question instant: the grader
(sentence-transformers + FAISS, 8–15 s to load) loads in a background thread while the candidate
reads and answers, and is only waited for when the first answer must be graded.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from interviewer.domain.grade import Grade
from interviewer.domain.levels import LEVELS, normalize_level
from interviewer.session.history import History, Timings, Transcript
from interviewer.session.interview import (
    Ask,
    Feedback,
    Interview,
    Phase,
    Reply,
    SelectionError,
    Summary,
    build_pool,
    parse_command,
    plan_order,
    plural,
)
from interviewer.session.phrasing import Phrasing
from interviewer.sources.rubric import Rubric
from interviewer.surfaces.keyboard import PROMPT, Collected, Keyboard, collect_answer
from interviewer.workspace import Workspace, user_data_dir

if TYPE_CHECKING:
    from interviewer.critic import Critic, Critique

NEXT_PROMPT = "↵ "
NEXT_HINT = "Press Enter for the next question, or type reference, repeat or quit."
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

    def __init__(self, loader: GraderLoader, console: Console, critic: Critic | None = None) -> None:
        self.loader = loader
        self.console = console
        self.critic = critic
        self.last = _Timing()
        # The grader's caches are not thread-safe: a prefetch and a grade take turns.
        self._lock = threading.Lock()

    def prefetch(self, rubric: Rubric) -> None:
        """While the candidate reads and answers, prepare the grader for this question (the judge's
        reading of its model answer, about 0.3 s on two cores), so the feedback does not wait for it."""

        def work() -> None:
            try:
                grader = self.loader.get()
                with self._lock:
                    grader.prepare([rubric])
            except Exception:  # noqa: BLE001 - a head start only: the grade reads the same and reports
                pass

        threading.Thread(target=work, name="grader-prefetch", daemon=True).start()

    def __call__(self, rubric: Rubric, answer: str) -> Grade:
        started = time.monotonic()
        if not self.loader.ready:
            with self.console.status("grading… (loading the grading model, first answer only)"):
                grader = self.loader.get()
        else:
            grader = self.loader.get()
        waited = time.monotonic() - started
        with self.console.status("grading…"):
            with self._lock:
                grade = grader.grade(rubric, answer)
            if self.critic is not None:
                grade = self._critique(self.critic, rubric, answer, grade)
        self.last = _Timing(round(waited, 3), round(time.monotonic() - started, 3))
        return grade

    @staticmethod
    def _critique(critic: Critic, rubric: Rubric, answer: str, grade: Grade) -> Grade:
        from interviewer.critic import apply_critic

        critiques: list[Critique] = []
        [blended] = apply_critic(critic, [(rubric, answer, grade)], workers=1, seen=critiques.append)
        if not critiques:  # an ungraded answer (no score) is not sent
            return blended
        critique = critiques[0]
        feedback = getattr(getattr(critique, "verdict", None), "feedback", "") or ""
        if blended.critic is not None and not blended.critic.feedback and feedback:
            blended = blended.model_copy(
                update={"critic": blended.critic.model_copy(update={"feedback": feedback})}
            )
        return blended


def _make_critic(options: PracticeOptions, kind: str | None) -> Critic | None:
    """The critic if one was chosen (option, else $INTERVIEWER_CRITIC)."""
    from interviewer.critic import make_critic

    return make_critic(kind, model=options.model, no_cache=options.no_cache)


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
            if len(line.text.split()) >= 3:
                # More on the answer, typed after it was graded: kept, and the candidate told so.
                self.transcript.write(
                    "after-grading", session=self.session_id, number=self._number(), text=line.text
                )
                self.console.print(
                    "[dim]That answer is already graded, so this was not added to it (the transcript "
                    f"keeps it). {NEXT_HINT}[/dim]"
                )
                continue
            self.console.print(f"[dim]{NEXT_HINT}[/dim]")

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
        if not ask.follow_up and not ask.repeated:
            self.scorer.prefetch(ask.card.rubric)
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
            if point in grade.loosely_covered:  # credited, on weak evidence: say it more precisely
                self._bullet("[yellow]~[/yellow]", f"{escape(point)} [dim](only loosely)[/dim]")
            else:
                self._bullet("[green]✓[/green]", escape(point))
        for point in grade.missed:
            tag = " [dim](essential)[/dim]" if point in essential else ""
            self._bullet("[red]✗[/red]", f"{escape(point)}{tag}")
        for wrong in grade.contradictions:
            said, fact = escape(wrong.said), escape(wrong.fact)
            self._bullet(
                "[bold red]⚠[/bold red]", f"[bold red]You said[/bold red] “{said}” [dim]In fact: {fact}[/dim]"
            )
        corrections = {m.claim: m.correction for m in result.card.rubric.misconceptions}
        for claim in grade.misconceptions:
            fix = corrections.get(claim, "")
            self._bullet(
                "[bold red]⚠[/bold red]",
                f"[bold red]Misconception:[/bold red] “{escape(claim)}” [dim]{escape(fix)}[/dim]",
            )
        if feedback.added:
            self.console.print("[magenta]The follow-up added:[/magenta]")
            for point in feedback.added:
                self._bullet("[magenta]+[/magenta]", escape(point))
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
                note: str = r.status if r.status != "graded" else (r.grade.band if r.grade else "")
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
                self._bullet("•", escape(point))
        for claim, correction in summary.corrections:
            c.print(f"[bold red]Unlearn:[/bold red] “{escape(claim)}” [dim]{escape(correction)}[/dim]")
        if summary.come_back:
            n = len(summary.come_back)
            plural = "s" if n != 1 else ""
            c.print(f"[dim]{n} question{plural} will come back for review in a later session.[/dim]")
        c.print(escape(summary.closing))
        if self.interview.quit and self.interview.asked < self.interview.count:
            # Quitting closes the session for good; a user who meant to pause should know before
            # `--resume` answers "nothing to resume".
            c.print(
                f"[dim]Ended after {self.interview.asked} of {self.interview.count} questions. A session "
                "you quit is closed: `interviewer practice` starts a new one (Ctrl-C instead keeps it "
                "open for `interviewer practice --resume`).[/dim]"
            )
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

    def _bullet(self, marker: str, text: str) -> None:
        """One feedback line, indented, its text wrapping under itself rather than under the marker
        (a long point wrapped to the left edge, where it read as a new line of feedback)."""
        row = Table.grid(padding=(0, 1))
        row.add_column(no_wrap=True)
        row.add_column()
        row.add_row(marker, text)
        self.console.print(Padding(row, (0, 0, 0, 2), expand=False))

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
