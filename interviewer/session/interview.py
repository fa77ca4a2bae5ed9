"""The interviewer as a pure state machine: which question next, follow-ups, commands, the summary.

No I/O and no clock: the terminal (or a test) feeds it answers and commands and renders the
`Reply` it gets back; grading is an injected function, so tests use a fake one. Everything is
deterministic for a seed, which is also what makes `--resume` possible: replaying a session's
stored outcomes rebuilds exactly the state it had, and so the same remaining plan.

    interview = Interview(cards, grade_fn, count=5, start_level="beginner", seed=7)
    reply = interview.start()                      # opening + first question
    reply = interview.answer("Dropout randomly…")  # a follow-up, or feedback
    reply = interview.proceed()                    # next question, or the summary
    reply = interview.command("hint")              # hint | skip | repeat | reference | quit
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Literal, cast

from interviewer.domain.grade import (
    ADEQUATE_AT,
    FLAG_DONT_KNOW,
    FLAG_EMPTY,
    FLAG_NO_REFERENCE,
    FLAG_OFF_TOPIC,
    STRONG_AT,
    Grade,
    dont_know_grade,
)
from interviewer.domain.levels import DEFAULT_LEVEL, LEVELS, UNRATED, normalize_level
from interviewer.grading import text as tx
from interviewer.session.phrasing import Phrasing
from interviewer.sources.rubric import FollowUp, Rubric

# Bank questions without a level are mostly mid-level; ranking them as intermediate keeps them in play.
UNRATED_RANK = 1
REVIEW_BELOW = 2.5  # such answers come back in later sessions (spaced repetition)

COMMANDS = ("hint", "skip", "repeat", "reference", "quit")
# A follow-up probes a point the candidate missed; it makes no sense when nothing was said at all.
# "I don't know" gets the key idea instead, and the session moves on (to an easier level).
_NO_FOLLOW_UP = frozenset({FLAG_EMPTY, FLAG_OFF_TOPIC, FLAG_NO_REFERENCE, FLAG_DONT_KNOW})
KEY_IDEA_LINES = 2

GradeFn = Callable[[Rubric, str], Grade]
Status = Literal["graded", "skipped", "revealed"]
TurnKind = Literal["answer", "follow-up", "skip", "reveal"]


class SelectionError(ValueError):
    """The requested topics or level select nothing; the message is one line for the user."""


class Phase(str, Enum):
    ASKING = "asking"
    FOLLOW_UP = "follow-up"
    FEEDBACK = "feedback"
    DONE = "done"


# ---- the question pool --------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """A question the session may ask: its rubric, the topic shown, and its level (None: unrated)."""

    rubric: Rubric
    topic: str
    level: str | None

    @property
    def id(self) -> str:
        return self.rubric.question_id

    @property
    def group(self) -> str | None:
        return self.rubric.group

    @property
    def rank(self) -> int:
        return LEVELS.index(self.level) if self.level in LEVELS else UNRATED_RANK


def askable(rubric: Rubric) -> bool:
    """Only questions the grader can score are worth asking in a mock interview."""
    return rubric.has_reference or bool(rubric.key_points)


def build_pool(
    rubrics: Sequence[Rubric], bank_topics: Mapping[str, str | None], topics: Sequence[str] = ()
) -> list[Card]:
    """The askable questions whose topic contains a requested topic. The topic is the rubric's (one
    of the taxonomy in rubric.TOPICS); only a rubric without one falls back to its bank's heading, so
    a question is listed, matched and shown under one topic.

    Raises SelectionError naming the topic that matched nothing, or saying nothing is askable.
    """
    cards = []
    matched: set[str] = set()
    wanted = [t.strip().lower() for t in topics if t.strip()]
    labels = {r.question_id: r.topic or bank_topics.get(r.question_id) or "general" for r in rubrics}
    for rubric in rubrics:
        label = labels[rubric.question_id]
        hits = {t for t in wanted if t in label.lower()}
        matched |= hits
        if wanted and not hits:
            continue
        if askable(rubric):
            cards.append(Card(rubric, label, normalize_level(rubric.difficulty)))
    unknown = [t for t in wanted if t not in matched]
    if unknown:
        known = sorted(set(labels.values()))
        raise SelectionError(f"unknown topic {unknown[0]!r}: known topics are {', '.join(known)}")
    if not cards:
        which = f" for topic {', '.join(topics)}" if wanted else ""
        raise SelectionError(f"no questions match{which}: none has a reference answer to grade against yet")
    return cards


def plan_order(cards: Iterable[Card], seed: int) -> list[str]:
    """The seeded order questions are drawn in (within a level); stored so --resume keeps it."""
    ids = sorted(c.id for c in cards)
    random.Random(seed).shuffle(ids)
    return ids


def parse_command(line: str) -> str | None:
    """`hint`, `/hint`, `:hint`, `Hint.` → "hint"; anything else is part of an answer."""
    word = line.strip().lower().lstrip("/:").rstrip(".!?")
    return word if word in COMMANDS else None


# ---- what the interviewer hands back ------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """A question now awaiting an answer (a main question or a follow-up)."""

    card: Card
    text: str
    intro: str
    number: int
    total: int
    follow_up: bool = False
    repeated: bool = False
    review: bool = False


@dataclass
class Result:
    """How one question went: the grade that counts, and how it was reached."""

    card: Card
    number: int
    target_level: str
    status: Status
    grade: Grade | None = None
    first_grade: Grade | None = None
    answer: str = ""
    follow_up: FollowUp | None = None
    follow_up_answer: str | None = None
    timed_out: bool = False
    hints: int = 0
    review: bool = False

    @property
    def score(self) -> float | None:
        return self.grade.score if self.grade is not None and self.status == "graded" else None


@dataclass(frozen=True)
class Feedback:
    result: Result
    opener: str
    added: list[str] = field(default_factory=list)  # key points the follow-up answer added
    level_note: str = ""
    new_level: str | None = None
    key_idea: list[str] = field(default_factory=list)  # for "I don't know": the reference's gist


@dataclass(frozen=True)
class Turn:
    """One exchange to persist as it happens; `final` turns settle their question."""

    number: int
    question_id: str
    topic: str
    level: str
    target_level: str
    kind: TurnKind
    question: str
    answer: str
    graded_answer: str
    grade: Grade | None
    final: bool
    timed_out: bool = False
    hints: int = 0
    review: bool = False


@dataclass(frozen=True)
class TopicScore:
    topic: str
    mean: float
    answered: int


@dataclass(frozen=True)
class Summary:
    results: list[Result]
    mean: float | None
    by_topic: list[TopicScore]
    strongest: Result | None
    weakest: Result | None
    review_points: list[str]
    corrections: list[tuple[str, str]]
    come_back: list[Result]
    closing: str

    @property
    def graded(self) -> list[Result]:
        return [r for r in self.results if r.score is not None]


@dataclass
class Reply:
    """What to show, in this order: lines, feedback, reference, hint, summary, then the question."""

    lines: list[str] = field(default_factory=list)
    feedback: Feedback | None = None
    reference: str | None = None
    hint: str | None = None
    summary: Summary | None = None
    ask: Ask | None = None
    turns: list[Turn] = field(default_factory=list)


# ---- the state machine ----------------------------------------------------------------------------


@dataclass
class _Current:
    card: Card
    number: int
    target_level: str
    review: bool
    ask: Ask
    answer: str = ""
    first_grade: Grade | None = None
    follow_up: FollowUp | None = None
    hints: int = 0
    hinted: set[int] = field(default_factory=set)
    timed_out: bool = False


class Interview:
    def __init__(
        self,
        cards: Sequence[Card],
        grade: GradeFn,
        *,
        count: int = 5,
        start_level: str | None = None,
        seed: int = 0,
        order: Sequence[str] | None = None,
        reviews: Sequence[str] = (),
        phrasing: Phrasing | None = None,
    ) -> None:
        self.cards = {c.id: c for c in cards}
        self.grade_fn = grade
        self.count = count
        self.level = normalize_level(start_level) or DEFAULT_LEVEL
        ranked = [q for q in (order if order is not None else plan_order(cards, seed)) if q in self.cards]
        # Questions added to the bank since the plan was stored go last, so an old plan stays valid.
        self.order = ranked + [q for q in plan_order(cards, seed) if q not in set(ranked)]
        self.reviews = [q for q in reviews if q in self.cards]
        self.review_slots = max(1, count // 2) if self.reviews else 0
        self.say = phrasing or Phrasing(seed)
        self.phase = Phase.ASKING
        self.results: list[Result] = []
        self.asked = 0
        self.quit = False  # ended by `quit` (or a closed input), not by running out of questions
        self._asked_ids: set[str] = set()
        self._groups: set[str] = set()
        self._current: _Current | None = None
        self._last: Result | None = None
        self._started = False

    # -- resuming --------------------------------------------------------------------------------

    def restore(
        self,
        question_id: str,
        status: Status,
        grade: Grade | None = None,
        answer: str = "",
        review: bool = False,
    ) -> None:
        """Replay a stored outcome (before `start`), moving the level exactly as it moved then."""
        card = self.cards.get(question_id)
        self.asked += 1
        self._asked_ids.add(question_id)
        if card is None:  # the rubric is gone since; the question still used its slot
            return
        if card.group:
            self._groups.add(card.group)
        result = Result(card, self.asked, self.level, status, grade=grade, answer=answer, review=review)
        self.results.append(result)
        self._last = result
        self._adjust_level(result)

    # -- the flow -------------------------------------------------------------------------------

    def start(self) -> Reply:
        self._started = True
        if self.asked:
            opening = self.say.say("resume", number=self.asked + 1, total=self.count)
        else:
            opening = self.say.say("opening", questions=plural(self.count, "question"))
        return self._next(Reply(lines=[opening]))

    def answer(self, text: str, timed_out: bool = False) -> Reply:
        """The candidate's answer to the question or follow-up now asked."""
        cur = self._require_current()
        language = tx.answer_language(text)
        if language is not None and not timed_out:
            # Not graded, not counted: the same question waits for an answer in English.
            note = (
                f"That looks like {language}. I can only grade answers in English; could you try in English?"
            )
            return Reply(ask=replace(cur.ask, intro=note, repeated=True))
        reply = Reply(lines=[self.say.say("timeout")] if timed_out else [])
        cur.timed_out = cur.timed_out or timed_out
        if self.phase == Phase.FOLLOW_UP:
            return self._answer_follow_up(cur, text, reply)
        cur.answer = text
        rubric = cur.card.rubric
        # "I don't know", "no idea", "pass": nothing to grade, so no wait for the grading model.
        if tx.is_dont_know(text):
            grade = dont_know_grade(rubric.question_id, [k.text for k in rubric.key_points])
        else:
            grade = self.grade_fn(rubric, text)
        cur.first_grade = grade
        follow_up = follow_up_for(cur.card.rubric, grade)
        if follow_up is None:
            reply.turns.append(self._turn(cur, "answer", text, text, grade, final=True))
            return self._finish(cur, "graded", grade, reply)
        reply.turns.append(self._turn(cur, "answer", text, text, grade, final=False))
        cur.follow_up = follow_up
        self.phase = Phase.FOLLOW_UP
        cur.ask = Ask(
            cur.card,
            follow_up.question,
            self.say.say("follow-up"),
            cur.number,
            self.count,
            follow_up=True,
            review=cur.review,
        )
        reply.ask = cur.ask
        return reply

    def proceed(self) -> Reply:
        """After feedback: the next question, or the summary when the session is complete."""
        if self.phase != Phase.FEEDBACK:
            raise RuntimeError(f"proceed() during {self.phase.value}")
        return self._next(Reply())

    def command(self, name: str) -> Reply:
        handler = {
            "hint": self._hint,
            "skip": self._skip,
            "repeat": self._repeat,
            "reference": self._reference,
            "quit": self._quit,
        }.get(name)
        if handler is None:
            raise ValueError(f"unknown command {name!r}")
        return handler()

    def summary(self) -> Summary:
        return summarize(self.results, self.say.say("closing"))

    @property
    def current(self) -> Ask | None:
        return self._current.ask if self._current is not None and self.phase in _ANSWERING else None

    # -- steps ------------------------------------------------------------------------------------

    def _answer_follow_up(self, cur: _Current, text: str, reply: Reply) -> Reply:
        first = cur.first_grade
        if tx.is_blank(text) or tx.is_dont_know(text):  # nothing added: the first answer's grade stands
            reply.turns.append(self._turn(cur, "follow-up", text, cur.answer, first, final=True))
            return self._finish(cur, "graded", first, reply, follow_up_answer=text)
        # Graded together: the follow-up completes the first answer, it is not a new one.
        combined = f"{cur.answer.rstrip()}\n\n{text.strip()}"
        grade = self.grade_fn(cur.card.rubric, combined)
        reply.turns.append(self._turn(cur, "follow-up", text, combined, grade, final=True))
        return self._finish(cur, "graded", grade, reply, follow_up_answer=text)

    def _finish(
        self,
        cur: _Current,
        status: Status,
        grade: Grade | None,
        reply: Reply,
        follow_up_answer: str | None = None,
    ) -> Reply:
        result = Result(
            cur.card,
            cur.number,
            cur.target_level,
            status,
            grade=grade,
            first_grade=cur.first_grade if cur.follow_up else None,
            answer=cur.answer,
            follow_up=cur.follow_up,
            follow_up_answer=follow_up_answer,
            timed_out=cur.timed_out,
            hints=cur.hints,
            review=cur.review,
        )
        self.results.append(result)
        self._last = result
        self._current = None
        self.phase = Phase.FEEDBACK
        if status != "graded":
            self._adjust_level(result)
            return reply
        before = self.level
        self._adjust_level(result)
        added = []
        if result.first_grade is not None and grade is not None:
            added = [p for p in grade.covered if p not in result.first_grade.covered]
        note = ""
        if self.level != before:
            note = self.say.say("up" if LEVELS.index(self.level) > LEVELS.index(before) else "down")
        idea = key_idea(result.card.rubric) if grade is not None and FLAG_DONT_KNOW in grade.flags else []
        reply.feedback = Feedback(
            result, self._opener(grade), added, note, self.level if note else None, idea
        )
        return reply

    def _next(self, reply: Reply) -> Reply:
        picked = self._pick() if self.asked < self.count else None
        if picked is None:
            self.phase = Phase.DONE
            self._current = None
            reply.summary = self.summary()
            return reply
        card, review = picked
        self.asked += 1
        self._asked_ids.add(card.id)
        if card.group:
            self._groups.add(card.group)
        intro = self._intro(card, review, pending=reply)
        ask = Ask(card, card.rubric.prompt, intro, self.asked, self.count, review=review)
        self._current = _Current(card, self.asked, self.level, review, ask)
        self.phase = Phase.ASKING
        reply.ask = ask
        return reply

    def _intro(self, card: Card, review: bool, pending: Reply) -> str:
        if review:
            return self.say.say("review")
        if not self.results and self.asked == 1:
            return self.say.say("first", topic=card.topic)
        if self._last is not None and self._last.card.topic == card.topic:
            return self.say.say("same topic", topic=card.topic)
        return self.say.say("next", topic=card.topic)

    def _pick(self) -> tuple[Card, bool] | None:
        """Due reviews first (up to half the session), then the nearest level in seeded order.

        Returns the card and whether it was picked as a review."""
        free = [self.cards[q] for q in self.order if self._available(q)]
        if not free:
            return None
        reviews_asked = sum(1 for r in self.results if r.review)
        if reviews_asked < self.review_slots:
            for q in self.reviews:
                if self._available(q):
                    return self.cards[q], True
        target = LEVELS.index(self.level)
        position = {q: i for i, q in enumerate(self.order)}
        return min(free, key=lambda c: (abs(c.rank - target), position[c.id])), False

    def _available(self, question_id: str) -> bool:
        card = self.cards[question_id]
        return question_id not in self._asked_ids and not (card.group and card.group in self._groups)

    def _adjust_level(self, result: Result) -> None:
        score = result.score
        if score is None:
            return
        index = LEVELS.index(self.level)
        if score >= STRONG_AT:  # a strong answer moves up a level
            index = min(index + 1, len(LEVELS) - 1)
        elif score < ADEQUATE_AT:  # a weak answer moves down a level
            index = max(index - 1, 0)
        self.level = LEVELS[index]

    def _opener(self, grade: Grade | None) -> str:
        if grade is None:
            return self.say.say("no answer")
        return self.say.say(grade.band)

    # -- commands ---------------------------------------------------------------------------------

    def _hint(self) -> Reply:
        if self.phase not in _ANSWERING or self._current is None:
            return Reply(lines=["Nothing to hint right now; type `reference` to see the model answer."])
        cur = self._current
        point = self._hint_point(cur)
        if point is None:
            return Reply(hint=self.say.say("no hint"))
        cur.hinted.add(point)
        cur.hints += 1
        probe = cur.follow_up if self.phase == Phase.FOLLOW_UP else None
        return Reply(hint=f"{self.say.say('hint')} {hint_text(cur.card.rubric, point, probe)}")

    def _hint_point(self, cur: _Current) -> int | None:
        rubric = cur.card.rubric
        if self.phase == Phase.FOLLOW_UP and cur.follow_up is not None:
            candidates = [cur.follow_up.probes]
        else:
            missed = set(cur.first_grade.missed) if cur.first_grade else None
            candidates = [
                i
                for i, k in sorted(
                    enumerate(rubric.key_points), key=lambda p: (not p[1].essential, -p[1].weight)
                )
                if missed is None or k.text in missed
            ]
        for i in candidates:
            if i not in cur.hinted and i < len(rubric.key_points):
                return i
        return None

    def _skip(self) -> Reply:
        if self.phase == Phase.FEEDBACK:
            return self.proceed()
        if self.phase == Phase.DONE:
            return Reply(summary=self.summary())
        cur = self._require_current()
        reply = Reply(lines=[self.say.say("skip")])
        if self.phase == Phase.FOLLOW_UP:  # the first answer was graded; it stands
            reply.turns.append(self._turn(cur, "skip", "", cur.answer, cur.first_grade, final=True))
            return self._finish(cur, "graded", cur.first_grade, reply)
        reply.turns.append(self._turn(cur, "skip", "", "", None, final=True))
        self._finish(cur, "skipped", None, reply)
        return self._next(reply)

    def _repeat(self) -> Reply:
        if self._current is not None and self.phase in _ANSWERING:
            ask = self._current.ask
            return Reply(ask=replace(ask, intro="Sure, here it is again.", repeated=True))
        if self._last is not None:
            return Reply(lines=[f"The last question was: {self._last.card.rubric.prompt}"])
        return Reply(lines=["There's no question to repeat yet."])

    def _reference(self) -> Reply:
        if self.phase == Phase.FEEDBACK and self._last is not None:
            return Reply(reference=reference_text(self._last.card.rubric))
        if self.phase not in _ANSWERING or self._current is None:
            return Reply(lines=["There's no question to show a reference for yet."])
        cur = self._current
        graded = self.phase == Phase.FOLLOW_UP  # the first answer was graded before the reveal; it stands
        line = self.say.say("reveal after grading" if graded else "reveal")
        reply = Reply(lines=[line], reference=reference_text(cur.card.rubric))
        if graded:
            reply.turns.append(self._turn(cur, "reveal", "", cur.answer, cur.first_grade, final=True))
            return self._finish(cur, "graded", cur.first_grade, reply)
        reply.turns.append(self._turn(cur, "reveal", "", "", None, final=True))
        return self._finish(cur, "revealed", None, reply)

    def _quit(self) -> Reply:
        self.quit = True
        reply = Reply()
        cur = self._current
        if self.phase == Phase.FOLLOW_UP and cur is not None:  # the graded first answer counts
            reply.turns.append(self._turn(cur, "skip", "", cur.answer, cur.first_grade, final=True))
            self._finish(cur, "graded", cur.first_grade, reply)
            reply.feedback = None  # the summary that follows shows it; a level change note would jar
        elif self.phase == Phase.ASKING and cur is not None:
            # Not answered: give the slot back so a later session can still ask it.
            self.asked -= 1
        self._current = None
        self.phase = Phase.DONE
        reply.summary = self.summary()
        return reply

    # -- helpers ----------------------------------------------------------------------------------

    def _require_current(self) -> _Current:
        if self._current is None or self.phase not in _ANSWERING:
            raise RuntimeError(f"no question is awaiting an answer ({self.phase.value})")
        return self._current

    def _turn(
        self, cur: _Current, kind: TurnKind, answer: str, graded: str, grade: Grade | None, final: bool
    ) -> Turn:
        question = (
            cur.follow_up.question if kind == "follow-up" and cur.follow_up else cur.card.rubric.question
        )
        return Turn(
            number=cur.number,
            question_id=cur.card.id,
            topic=cur.card.topic,
            level=cur.card.level or UNRATED,
            target_level=cur.target_level,
            kind=kind,
            question=question,
            answer=answer,
            graded_answer=graded,
            grade=grade,
            final=final,
            timed_out=cur.timed_out,
            hints=cur.hints,
            review=cur.review,
        )


_ANSWERING = (Phase.ASKING, Phase.FOLLOW_UP)


# ---- pure helpers -------------------------------------------------------------------------------


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def follow_up_for(rubric: Rubric, grade: Grade) -> FollowUp | None:
    """The follow-up probing the weightiest ESSENTIAL key point the answer missed, if the rubric has one."""
    if _NO_FOLLOW_UP.intersection(grade.flags):
        return None
    missed = set(grade.missed)
    best: tuple[float, int, FollowUp] | None = None
    for n, follow_up in enumerate(rubric.follow_ups):
        if not 0 <= follow_up.probes < len(rubric.key_points):
            continue  # a follow-up pointing past the key points is a rubric typo; don't ask it
        point = rubric.key_points[follow_up.probes]
        if point.essential and point.text in missed:
            key = (point.weight, -n, follow_up)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


_HINT_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{3,}")


def hint_text(rubric: Rubric, point: int, probe: FollowUp | None = None) -> str:
    """A gentle pointer towards a key point: its follow-up question, else two of its key terms."""
    if probe is None:
        for follow_up in rubric.follow_ups:
            if follow_up.probes == point:
                return follow_up.question
    key_point = rubric.key_points[point].text
    asked = {w for text in (rubric.question, rubric.prompt) for w in tx.content_words(text)}
    asked |= set(tx.content_words(probe.question if probe else ""))
    terms: list[str] = []
    for word in _HINT_WORD.findall(key_point):
        lower = word.lower()
        if lower in asked or lower in tx.STOPWORDS or lower in (t.lower() for t in terms):
            continue
        terms.append(word)
    terms = sorted(terms, key=len, reverse=True)[:2]
    if not terms:
        return "Think about what else a complete answer would need to explain."
    quoted = " and ".join(f"“{t}”" for t in terms)
    return f"A complete answer would say something about {quoted}."


def key_idea(rubric: Rubric, lines: int = KEY_IDEA_LINES) -> list[str]:
    """The gist of the reference in a few lines: its weightiest essential key points, in rubric order
    (the first sentences of the reference when the rubric has no key points)."""
    ranked = sorted(enumerate(rubric.key_points), key=lambda p: (not p[1].essential, -p[1].weight, p[0]))[
        :lines
    ]
    picked = [k.text for _, k in sorted(ranked, key=lambda p: p[0])]
    if not picked and rubric.model_answer:
        picked = [u for u in tx.units(rubric.model_answer) if len(tx.words(u)) >= 4][:lines]
    return [p if p.endswith((".", "!", "?")) else f"{p}." for p in picked]


def reference_text(rubric: Rubric) -> str:
    if rubric.model_answer:
        return rubric.model_answer
    return "\n".join(f"- {k.text}" for k in rubric.key_points) or "No reference answer exists yet."


def summarize(results: Sequence[Result], closing: str = "") -> Summary:
    graded = [r for r in results if r.score is not None]
    mean = round(sum(cast(float, r.score) for r in graded) / len(graded), 2) if graded else None
    by_topic: dict[str, list[float]] = {}
    for r in graded:
        by_topic.setdefault(r.card.topic, []).append(cast(float, r.score))
    topics = sorted(
        (TopicScore(t, round(sum(s) / len(s), 2), len(s)) for t, s in by_topic.items()),
        key=lambda t: (-t.mean, t.topic),
    )
    # With one answer, or all alike, "strongest" and "weakest" would say nothing.
    strongest = weakest = None
    if len(graded) > 1 and len({r.score for r in graded}) > 1:
        strongest = max(graded, key=lambda r: (r.score, -r.number))
        weakest = min(graded, key=lambda r: (r.score, r.number))
    review_points: list[str] = []
    corrections: list[tuple[str, str]] = []
    for r in results:
        rubric = r.card.rubric
        if r.status != "graded" or r.grade is None:
            # Unanswered questions: their essential points are what to review.
            missed = [k.text for k in rubric.key_points if k.essential]
        else:
            essential = {k.text for k in rubric.key_points if k.essential}
            missed = [m for m in r.grade.missed if m in essential]
            by_claim = {m.claim: m.correction for m in rubric.misconceptions}
            corrections += [(c, by_claim.get(c, "")) for c in r.grade.misconceptions]
            corrections += [(c.said, c.fact) for c in r.grade.contradictions]
        review_points += [m for m in missed if m not in review_points]
    come_back = [
        r for r in results if r.status != "graded" or (r.score is not None and r.score < REVIEW_BELOW)
    ]
    return Summary(
        list(results), mean, topics, strongest, weakest, review_points, corrections, come_back, closing
    )
