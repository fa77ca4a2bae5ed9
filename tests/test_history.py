"""Practice history: SQLite turns, transcripts, spaced repetition, secrets, and `progress`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from interviewer.domain.grade import Grade, band_for
from interviewer.session.history import (
    DAY,
    REDACTED,
    History,
    Timings,
    Transcript,
    next_due,
    progress_rows,
    read_transcript,
    redact,
    secret_values,
    weakest_topics,
)
from interviewer.session.interview import Turn

T0 = 1_700_000_000.0


def grade(qid: str, score: float | None) -> Grade:
    if score is None:
        return Grade(question_id=qid, score=None, band="no reference")
    return Grade(question_id=qid, score=score, band=band_for(score), covered=["a"], missed=["b"])


def turn(qid: str, score: float | None = 3.0, *, kind: str = "answer", final: bool = True, **kw) -> Turn:
    fields = {
        "number": 1,
        "question_id": qid,
        "topic": "cnn",
        "level": "beginner",
        "target_level": "beginner",
        "kind": kind,
        "question": f"What is {qid}?",
        "answer": f"answer to {qid}",
        "graded_answer": f"answer to {qid}",
        "grade": grade(qid, score) if kind in ("answer", "follow-up") else None,
        "final": final,
    }
    fields.update(kw)
    return Turn(**fields)


@pytest.fixture
def history(tmp_path: Path):
    h = History.open(tmp_path)
    yield h
    h.close()


# ---- sessions and turns --------------------------------------------------------------------------------


def test_turns_are_stored_with_grade_json_and_timings(history: History, tmp_path: Path) -> None:
    sid = history.start_session({"count": 2, "seed": 1}, {"order": ["q1", "q2"], "reviews": []}, now=T0)
    history.record_turn(
        sid, turn("q1", 4.0), Timings(asked_at=T0, answer_seconds=12.5, grade_seconds=0.4), now=T0 + 20
    )
    # A second connection (another process) sees it at once: each turn is committed as it happens.
    row = (
        sqlite3.connect(tmp_path / "history.sqlite3")
        .execute(
            "SELECT question_id, topic, level, answer, score, grade, answer_seconds, grade_seconds FROM turns"
        )
        .fetchone()
    )
    assert row[:5] == ("q1", "cnn", "beginner", "answer to q1", 4.0)
    assert Grade.model_validate_json(row[5]).covered == ["a"]
    assert row[6:] == (12.5, 0.4)


def test_last_unfinished_session_and_finishing(history: History) -> None:
    first = history.start_session({"n": 1}, {"order": []}, now=T0)
    second = history.start_session({"n": 2}, {"order": ["x"]}, now=T0 + 10)
    assert history.last_unfinished().id == second
    assert history.last_unfinished().plan == {"order": ["x"]}
    history.finish_session(second, now=T0 + 20)
    assert history.last_unfinished().id == first
    history.finish_session(first)
    assert history.last_unfinished() is None


def test_outcomes_take_each_questions_last_turn_in_asked_order(history: History) -> None:
    sid = history.start_session({}, {}, now=T0)
    history.record_turn(sid, turn("q2", 1.5, final=False), now=T0 + 1)  # first answer, follow-up pending
    history.record_turn(sid, turn("q2", 3.5, kind="follow-up"), now=T0 + 2)
    history.record_turn(sid, turn("q1", kind="skip", number=2), now=T0 + 3)
    history.record_turn(sid, turn("q3", 2.0, final=False, number=3), now=T0 + 4)  # interrupted mid-follow-up
    outcomes = history.outcomes(sid)
    assert [(o.question_id, o.status, o.score) for o in outcomes] == [
        ("q2", "graded", 3.5),
        ("q1", "skipped", None),
        ("q3", "graded", 2.0),
    ]


# ---- spaced repetition ------------------------------------------------------------------------------


def test_poor_answer_is_due_after_one_day_then_three_then_seven() -> None:
    assert next_due([(T0, 4.0)]) is None  # answered well: never scheduled
    assert next_due([(T0, 1.0)]) == T0 + 1 * DAY
    assert next_due([(T0, 1.0), (T0 + DAY, 4.0)]) == T0 + DAY + 3 * DAY
    assert next_due([(T0, 1.0), (T0 + DAY, 4.0), (T0 + 4 * DAY, 3.0)]) == T0 + 4 * DAY + 7 * DAY


def test_poor_review_starts_over_and_enough_good_reviews_retire_it() -> None:
    assert next_due([(T0, 1.0), (T0 + DAY, 4.0), (T0 + 4 * DAY, 2.0)]) == T0 + 5 * DAY
    good = [(T0 + i * DAY, 4.0) for i in range(1, 6)]
    assert next_due([(T0, 1.0), *good]) is None


def test_due_reviews(history: History) -> None:
    old = history.start_session({}, {}, now=T0)
    history.record_turn(old, turn("poor", 1.0), now=T0)
    history.record_turn(old, turn("skipped", kind="skip"), now=T0)
    history.record_turn(old, turn("good", 4.5), now=T0)
    history.record_turn(old, turn("noref", None), now=T0)
    history.record_turn(old, turn("later", 2.4), now=T0 + DAY)
    assert history.due_reviews(now=T0 + 0.5 * DAY) == []
    assert history.due_reviews(now=T0 + 1.2 * DAY) == ["poor", "skipped"]
    assert history.due_reviews(now=T0 + 3 * DAY) == ["poor", "skipped", "later"]
    assert history.due_reviews(now=T0 + 3 * DAY, questions=["later"]) == ["later"]
    # Answered well on review: not due tomorrow any more.
    new = history.start_session({}, {}, now=T0 + 2 * DAY)
    history.record_turn(new, turn("poor", 4.0), now=T0 + 2 * DAY)
    assert "poor" not in history.due_reviews(now=T0 + 3 * DAY)


# ---- secrets -----------------------------------------------------------------------------------------


def test_secret_env_values_never_reach_history_or_transcripts(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-Secret-9f8e7d6c5b"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("SHORT_TOKEN", "1")  # too short to redact safely
    sid = history.start_session({"critic": "openai", "note": f"key {secret}"}, {}, now=T0)
    leaky = turn("q1", 3.0, answer=f"my key is {secret}", graded_answer=f"my key is {secret}")
    history.record_turn(sid, leaky, now=T0)
    transcript = Transcript.for_session(tmp_path, sid)
    transcript.write("session", config={"env": secret})
    transcript.turn(sid, leaky)
    transcript.close()
    history.close()
    for path in [tmp_path / "history.sqlite3", transcript.path]:
        assert secret.encode() not in path.read_bytes(), path
    assert REDACTED in transcript.path.read_text()
    assert secret_values({"OPENAI_API_KEY": secret, "SHORT_TOKEN": "1", "HOME": "/root/x"}) == [secret]
    assert redact({"a": [f"x{secret}y"]}, [secret]) == {"a": [f"x{REDACTED}y"]}


# ---- transcripts -------------------------------------------------------------------------------------


def test_transcript_lines_are_on_disk_after_each_event(tmp_path: Path) -> None:
    transcript = Transcript.for_session(tmp_path, "s1")
    transcript.write("session", config={"count": 1})
    transcript.turn("s1", turn("q1", 2.0), Timings(answer_seconds=3.0, grade_seconds=0.25))
    # Read while still open: nothing waits for close() (Ctrl-C must lose nothing).
    events = read_transcript(tmp_path / "transcripts" / "s1.jsonl")
    assert [e["event"] for e in events] == ["session", "turn"]
    assert events[1]["grade"]["score"] == 2.0 and events[1]["answer_seconds"] == 3.0
    transcript.close()
    assert all(json.loads(line) for line in transcript.path.read_text().splitlines())


# ---- progress -----------------------------------------------------------------------------------------


def progress_history(history: History) -> None:
    s1 = history.start_session({}, {}, now=T0)
    history.record_turn(s1, turn("c1", 2.0), now=T0)
    history.record_turn(s1, turn("o1", 1.0, topic="optimization", level="advanced"), now=T0)
    s2 = history.start_session({}, {}, now=T0 + DAY)
    history.record_turn(s2, turn("c2", 4.0), now=T0 + DAY)
    history.record_turn(s2, turn("o2", 2.0, topic="optimization", level="advanced"), now=T0 + DAY)
    history.record_turn(s2, turn("d1", kind="skip", topic="data"), now=T0 + DAY)


def test_progress_by_topic_and_level_over_time(history: History) -> None:
    progress_history(history)
    rows = progress_rows(history.outcomes())
    assert [(r.topic, r.level, r.answered, r.mean, r.sessions) for r in rows] == [
        ("cnn", "beginner", 2, 3.0, [2.0, 4.0]),
        ("optimization", "advanced", 2, 1.5, [1.0, 2.0]),
    ]
    assert weakest_topics(history.outcomes()) == [("optimization", 1.5, 2), ("cnn", 3.0, 2)]


def test_run_progress_shows_a_table_names_weakest_topics_and_writes_a_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from interviewer.surfaces.progress import run_progress

    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    history = History.open(tmp_path)
    progress_history(history)
    history.close()
    plot = tmp_path / "plot.png"
    assert run_progress(None, plot) == 0
    out = capsys.readouterr().out
    assert "optimization" in out and "2.0 → 4.0" in out
    assert "Weakest topics: optimization (1.5 over 2)" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_progress_without_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from interviewer.surfaces.progress import run_progress

    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    assert run_progress(None, None) == 0
    assert "No practice history yet" in capsys.readouterr().out
