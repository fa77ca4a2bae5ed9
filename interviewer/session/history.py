"""Practice history: SQLite at `user_data_dir()/history.sqlite3`, plus a JSONL transcript per session.

Every turn is committed (SQLite) and fsynced (transcript) the moment it happens, so Ctrl-C or a
crash loses nothing that was graded. The database also drives `--resume` (a session's stored plan
and outcomes), spaced repetition (poor answers come back after 1, 3, 7… days) and `progress`.
Environment secrets (API keys, tokens) are scrubbed from everything written.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interviewer.domain.grade import Grade
from interviewer.domain.levels import LEVEL_ORDER
from interviewer.session.interview import REVIEW_BELOW, Status, Turn

DB_FILE = "history.sqlite3"
TRANSCRIPTS = "transcripts"
DAY = 86400.0
# Days until a poorly answered question is due again; each good review moves one step on, a poor one
# starts over, and a good review after the last step retires the question.
REVIEW_INTERVALS = (1, 3, 7, 14, 30)

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)
_MIN_SECRET_LEN = 6  # shorter values ("1", "true") would redact ordinary words
REDACTED = "[redacted]"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    config TEXT NOT NULL,
    plan TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    number INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    topic TEXT,
    level TEXT,
    target_level TEXT,
    kind TEXT NOT NULL,
    final INTEGER NOT NULL,
    review INTEGER NOT NULL DEFAULT 0,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    graded_answer TEXT NOT NULL,
    score REAL,
    band TEXT,
    grade TEXT,
    timed_out INTEGER NOT NULL DEFAULT 0,
    hints INTEGER NOT NULL DEFAULT 0,
    asked_at REAL,
    answered_at REAL,
    answer_seconds REAL,
    grade_seconds REAL,
    wait_seconds REAL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_session ON turns(session_id, id);
CREATE INDEX IF NOT EXISTS turns_by_question ON turns(question_id);
"""


# ---- secrets ------------------------------------------------------------------------------------


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they are secret, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v.strip()) >= _MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def redact(value: Any, secrets_: Iterable[str] | None = None) -> Any:
    """The value with every secret environment value replaced, in strings at any depth."""
    hidden = list(secret_values() if secrets_ is None else secrets_)
    if not hidden:
        return value
    return _redact(value, hidden)


def _redact(value: Any, hidden: list[str]) -> Any:
    if isinstance(value, str):
        for secret in hidden:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _redact(v, hidden) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, hidden) for v in value]
    return value


# ---- spaced repetition --------------------------------------------------------------------------


def next_due(results: Iterable[tuple[float, float]]) -> float | None:
    """When a question is next due, from its (time, score) results in time order; None: not due."""
    stage: int | None = None
    due: float | None = None
    for at, score in results:
        if score < REVIEW_BELOW:
            stage, due = 0, at + REVIEW_INTERVALS[0] * DAY
        elif stage is not None:
            stage += 1
            if stage >= len(REVIEW_INTERVALS):
                stage, due = None, None
            else:
                due = at + REVIEW_INTERVALS[stage] * DAY
    return due


# ---- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    id: str
    started_at: float
    finished_at: float | None
    config: dict[str, Any]
    plan: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """How a question ended in a session: its last stored turn."""

    session_id: str
    question_id: str
    number: int
    topic: str
    level: str
    status: Status
    grade: Grade | None
    answer: str
    at: float
    started_at: float
    review: bool = False

    @property
    def score(self) -> float | None:
        return self.grade.score if self.grade is not None else None


@dataclass
class Timings:
    asked_at: float | None = None
    answered_at: float | None = None
    answer_seconds: float | None = None
    grade_seconds: float | None = None
    wait_seconds: float | None = None  # of grade_seconds, how long the grader was still loading


# ---- the database -------------------------------------------------------------------------------


def new_session_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(3)}"


class History:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=10)
        self.db.row_factory = sqlite3.Row
        # FULL: each commit is on disk before the next question appears.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    @classmethod
    def open(cls, data_dir: Path) -> History:
        return cls(data_dir / DB_FILE)

    def close(self) -> None:
        self.db.close()

    # -- writing --------------------------------------------------------------------------------

    def start_session(
        self, config: Mapping[str, Any], plan: Mapping[str, Any], now: float | None = None
    ) -> str:
        now = time.time() if now is None else now
        session_id = new_session_id(now)
        with self.db:
            self.db.execute(
                "INSERT INTO sessions (id, started_at, updated_at, config, plan) VALUES (?, ?, ?, ?, ?)",
                (session_id, now, now, _json(config), _json(plan)),
            )
        return session_id

    def record_turn(
        self, session_id: str, turn: Turn, timings: Timings | None = None, now: float | None = None
    ) -> None:
        now = time.time() if now is None else now
        t = timings or Timings()
        grade = turn.grade
        hidden = secret_values()
        with self.db:
            self.db.execute(
                """INSERT INTO turns (session_id, number, question_id, topic, level, target_level, kind,
                       final, review, question, answer, graded_answer, score, band, grade, timed_out, hints,
                       asked_at, answered_at, answer_seconds, grade_seconds, wait_seconds, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    session_id,
                    turn.number,
                    turn.question_id,
                    turn.topic,
                    turn.level,
                    turn.target_level,
                    turn.kind,
                    int(turn.final),
                    int(turn.review),
                    turn.question,
                    redact(turn.answer, hidden),
                    redact(turn.graded_answer, hidden),
                    grade.score if grade else None,
                    grade.band if grade else None,
                    _json(grade.model_dump(mode="json"), hidden) if grade else None,
                    int(turn.timed_out),
                    turn.hints,
                    t.asked_at,
                    t.answered_at,
                    t.answer_seconds,
                    t.grade_seconds,
                    t.wait_seconds,
                    now,
                ),
            )
            self.db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))

    def finish_session(self, session_id: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.db:
            self.db.execute(
                "UPDATE sessions SET finished_at = ?, updated_at = ? WHERE id = ?", (now, now, session_id)
            )

    # -- reading --------------------------------------------------------------------------------

    def session(self, session_id: str) -> SessionRow | None:
        row = self.db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session(row) if row else None

    def last_unfinished(self) -> SessionRow | None:
        row = self.db.execute(
            "SELECT * FROM sessions WHERE finished_at IS NULL ORDER BY started_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return _session(row) if row else None

    def turns(self, session_id: str) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM turns WHERE session_id = ? ORDER BY id", (session_id,)
        ).fetchall()

    def outcomes(self, session_id: str | None = None) -> list[Outcome]:
        """Each question's last turn per session, in the order the questions were first asked."""
        where, args = ("WHERE t.session_id = ?", (session_id,)) if session_id else ("", ())
        rows = self.db.execute(
            f"""SELECT t.*, s.started_at AS session_started
                FROM turns t JOIN sessions s ON s.id = t.session_id
                {where} ORDER BY s.started_at, t.id""",
            args,
        ).fetchall()
        last: dict[tuple[str, str], sqlite3.Row] = {}
        for row in rows:  # dicts keep first-insertion order: the order questions were asked
            last[(row["session_id"], row["question_id"])] = row
        return [_outcome(row) for row in last.values()]

    def due_reviews(self, now: float | None = None, questions: Iterable[str] | None = None) -> list[str]:
        """Question ids due for review at `now`, most overdue first."""
        now = time.time() if now is None else now
        allowed = set(questions) if questions is not None else None
        results: dict[str, list[tuple[float, float]]] = {}
        for outcome in self.outcomes():
            if allowed is not None and outcome.question_id not in allowed:
                continue
            if outcome.status == "graded" and outcome.score is None:
                continue  # ungradable (no reference): says nothing about what the candidate knows
            score = outcome.score if outcome.status == "graded" else 0.0
            results.setdefault(outcome.question_id, []).append((outcome.at, score or 0.0))
        due = {q: next_due(r) for q, r in results.items()}
        return sorted((q for q, d in due.items() if d is not None and d <= now), key=lambda q: (due[q], q))


def _json(value: Any, hidden: list[str] | None = None) -> str:
    return json.dumps(redact(value, hidden), ensure_ascii=False, sort_keys=True)


def _session(row: sqlite3.Row) -> SessionRow:
    return SessionRow(
        row["id"], row["started_at"], row["finished_at"], json.loads(row["config"]), json.loads(row["plan"])
    )


def _outcome(row: sqlite3.Row) -> Outcome:
    grade = Grade.model_validate_json(row["grade"]) if row["grade"] else None
    status: Status = "graded" if grade is not None else ("revealed" if row["kind"] == "reveal" else "skipped")
    return Outcome(
        session_id=row["session_id"],
        question_id=row["question_id"],
        number=row["number"],
        topic=row["topic"] or "general",
        level=row["level"] or "unrated",
        status=status,
        grade=grade,
        answer=row["answer"],
        at=row["created_at"],
        started_at=row["session_started"],
        review=bool(row["review"]),
    )


# ---- transcripts --------------------------------------------------------------------------------


class Transcript:
    """Append-only JSONL, one event a line, flushed and fsynced per event (Ctrl-C loses nothing)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")

    @classmethod
    def for_session(cls, data_dir: Path, session_id: str) -> Transcript:
        return cls(data_dir / TRANSCRIPTS / f"{session_id}.jsonl")

    def write(self, event: str, **fields: Any) -> None:
        record = {"event": event, "at": round(time.time(), 3), **fields}
        self._file.write(_json(record) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def turn(self, session_id: str, turn: Turn, timings: Timings | None = None) -> None:
        t = timings or Timings()
        self.write(
            "turn",
            session=session_id,
            number=turn.number,
            question_id=turn.question_id,
            topic=turn.topic,
            level=turn.level,
            target_level=turn.target_level,
            kind=turn.kind,
            final=turn.final,
            review=turn.review,
            question=turn.question,
            answer=turn.answer,
            graded_answer=turn.graded_answer,
            grade=turn.grade.model_dump(mode="json") if turn.grade else None,
            timed_out=turn.timed_out,
            hints=turn.hints,
            answer_seconds=_round(t.answer_seconds),
            grade_seconds=_round(t.grade_seconds),
            wait_seconds=_round(t.wait_seconds),
        )

    def close(self) -> None:
        self._file.close()


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def read_transcript(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- progress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressRow:
    topic: str
    level: str
    answered: int
    mean: float
    sessions: list[float]  # mean per session, oldest first
    last_at: float


def progress_rows(outcomes: Iterable[Outcome]) -> list[ProgressRow]:
    """Scores by topic and level, with the per-session means that show the trend."""
    cells: dict[tuple[str, str], dict[str, list[float]]] = {}
    last: dict[tuple[str, str], float] = {}
    for o in sorted(outcomes, key=lambda o: (o.started_at, o.at)):
        if o.status != "graded" or o.score is None:
            continue
        key = (o.topic, o.level)
        cells.setdefault(key, {}).setdefault(o.session_id, []).append(o.score)
        last[key] = max(last.get(key, 0.0), o.at)
    rows = []
    for (topic, level), by_session in cells.items():
        scores = [s for ss in by_session.values() for s in ss]
        means = [round(sum(ss) / len(ss), 2) for ss in by_session.values()]
        rows.append(
            ProgressRow(
                topic, level, len(scores), round(sum(scores) / len(scores), 2), means, last[(topic, level)]
            )
        )
    return sorted(rows, key=lambda r: (r.topic.lower(), LEVEL_ORDER.get(r.level, 9)))


def weakest_topics(outcomes: Iterable[Outcome], limit: int = 3) -> list[tuple[str, float, int]]:
    """(topic, mean, answers), lowest mean first."""
    scores: dict[str, list[float]] = {}
    for o in outcomes:
        if o.status == "graded" and o.score is not None:
            scores.setdefault(o.topic, []).append(o.score)
    ranked = sorted(
        ((t, round(sum(s) / len(s), 2), len(s)) for t, s in scores.items()), key=lambda x: (x[1], x[0])
    )
    return ranked[:limit]
