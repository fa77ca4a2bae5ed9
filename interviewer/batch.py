"""Batch grading of written answers: CSV or JSONL in, JSONL or CSV out, resumable.

Rows are read with their line numbers so a bad row is reported where it is and skipped; results are
appended and flushed chunk by chunk, so a crash or Ctrl-C loses at most the chunk in flight and a
re-run carries on after the last id written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ValidationError

from interviewer import files
from interviewer.models import Grade

MATCH_THRESHOLD = 0.6  # below this a free-text question is not confidently a bank question
CHUNK = 32
INPUT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json")
OUTPUT_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")
OUTPUT_FIELDS = [
    "id",
    "question_id",
    "matched_question",
    "match_similarity",
    "score",
    "band",
    "covered",
    "missed",
    "misconceptions",
    "contradictions",
    "flags",
    "explanation",
    "critic",
]


class InputError(ValueError):
    """An input or output file that cannot be used at all; the message says where and what to do."""


class AnswerRow(BaseModel):
    id: str
    answer: str
    question_id: str | None = None
    question: str | None = None
    reference_answer: str | None = None


@dataclass
class RowProblem:
    line: int
    row_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (id {self.row_id})" if self.row_id else "")
        return f"{where}: {self.message}"


@dataclass
class Parsed:
    line: int
    row: AnswerRow | None = None
    problem: RowProblem | None = None


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _to_row(line: int, data: dict) -> Parsed:
    data = {str(k).strip().lower(): v for k, v in data.items() if k is not None}
    row_id = _clean(data.get("id"))
    if row_id is None:
        return Parsed(line, problem=RowProblem(line, None, "missing `id`; give every row a unique id"))
    if "answer" not in data:
        return Parsed(line, problem=RowProblem(line, row_id, "missing `answer` column"))
    question_id, question = _clean(data.get("question_id")), _clean(data.get("question"))
    reference = _clean(data.get("reference_answer"))
    if not question_id and not question:
        return Parsed(line, problem=RowProblem(line, row_id, "needs `question_id` or `question`"))
    if reference and not question:
        message = "`reference_answer` needs the `question` text too"
        return Parsed(line, problem=RowProblem(line, row_id, message))
    try:
        row = AnswerRow(
            id=row_id.strip(),
            answer="" if data.get("answer") is None else str(data.get("answer")),
            question_id=question_id.strip() if question_id else None,
            question=question,
            reference_answer=reference,
        )
    except ValidationError as exc:
        return Parsed(line, problem=RowProblem(line, row_id, exc.errors()[0]["msg"]))
    return Parsed(line, row=row)


def read_text(path: Path, error: type[ValueError] = InputError) -> str:
    return files.read_text(path, error)


def csv_records(text: str, delimiter: str = ",") -> tuple[list[str] | None, Iterator[tuple[int, dict]]]:
    """The header and the rows of a CSV text, each row with the line it starts on.

    Unlike `csv.DictReader` this counts blank lines and quoted newlines, so a reported line number is
    the line an editor shows. Missing trailing fields are None; extra fields are dropped.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)

    def rows() -> Iterator[tuple[int, dict]]:
        start = reader.line_num + 1
        for values in reader:
            if values:
                yield start, {name: (values[i] if i < len(values) else None) for i, name in enumerate(header)}
            start = reader.line_num + 1

    return header, rows()


def jsonl_records(text: str) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line, object, None) for each non-blank line of a JSON Lines text, or (line, None, problem)."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON ({exc.msg})"
            continue
        if not isinstance(data, dict):
            yield number, None, "expected a JSON object"
            continue
        yield number, data, None


def read_rows(path: Path) -> Iterator[Parsed]:
    """Rows of a CSV or JSONL file with the line each starts on; problems instead of exceptions."""
    suffix = path.suffix.lower()
    if path.exists() and not path.is_dir() and suffix not in INPUT_SUFFIXES:
        raise InputError(f"{path}: unknown file type {suffix or '(none)'}; use .csv or .jsonl")
    text = read_text(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        for number, data, problem in jsonl_records(text):
            if problem:
                yield Parsed(number, problem=RowProblem(number, None, problem))
            else:
                yield _to_row(number, data)
    else:
        header, records = csv_records(text, delimiter="\t" if suffix == ".tsv" else ",")
        if not header:
            raise InputError(
                f"{path}: empty file; expected a header row with id, answer, question_id|question"
            )
        names = {h.strip().lower() for h in header}
        missing = [c for c in ("id", "answer") if c not in names]
        if not names & {"question_id", "question"}:
            missing.append("question_id or question")
        if missing:
            raise InputError(f"{path} line 1: the header has no {', '.join(missing)} column")
        for line, data in records:
            yield _to_row(line, data)


# ---- output ------------------------------------------------------------------------------------


def result_record(row: AnswerRow, grade: Grade, matched: str | None, similarity: float | None) -> dict:
    return {
        "id": row.id,
        "question_id": grade.question_id,
        "matched_question": matched,
        "match_similarity": similarity,
        "score": grade.score,
        "band": grade.band,
        "covered": grade.covered,
        "missed": grade.missed,
        "misconceptions": grade.misconceptions,
        "contradictions": [{"said": c.said, "fact": c.fact} for c in grade.contradictions],
        "flags": grade.flags,
        "explanation": grade.explanation,
        "critic": grade.critic.changed if grade.critic else None,
    }


def check_output(path: Path, input_path: Path | None = None) -> None:
    """Refuse an output the run could not write, before any work (or any truncation) happens."""
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"{path}: unknown output type {path.suffix or '(none)'}; use .jsonl or .csv")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a .jsonl or .csv file name")
    if input_path is not None and path.exists() and path.resolve() == input_path.resolve():
        raise InputError(f"{path}: the output would overwrite the input; choose another file")


def done_ids(path: Path) -> set[str]:
    """Ids already written by an earlier run; a torn last line (crash mid-write) is dropped."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        # Keep everything up to the last complete line (CSV and JSONL alike); the torn row is graded again.
        cut = raw.rfind(b"\n") + 1
        with path.open("r+b") as handle:
            handle.truncate(cut)
        raw = raw[:cut]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        message = "existing output is not UTF-8; move it away or choose another file"
        raise InputError(f"{path}: {message}") from None
    ids: set[str] = set()
    if path.suffix.lower() == ".csv":
        for record in csv.DictReader(io.StringIO(text, newline="")):
            if record.get("id"):
                ids.add(record["id"])
        return ids
    for line in text.splitlines():
        try:
            ids.add(str(json.loads(line)["id"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return ids


class ResultWriter:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.csv = path is not None and path.suffix.lower() == ".csv"
        if path is not None:
            check_output(path)
        self.handle: TextIO
        if path is None:
            self.handle = sys.stdout
        else:
            new = not path.exists() or path.stat().st_size == 0
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.handle = path.open("a", encoding="utf-8", newline="")
            except OSError as exc:
                raise InputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
            if self.csv and new:
                csv.writer(self.handle).writerow(OUTPUT_FIELDS)

    def write(self, records: list[dict]) -> None:
        for record in records:
            if self.csv:
                # Lists as JSON arrays: a key point may itself contain "; " or a comma.
                flat = {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else ("" if v is None else v)
                    for k, v in record.items()
                }
                csv.writer(self.handle).writerow([flat.get(k, "") for k in OUTPUT_FIELDS])
            else:
                self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.handle.flush()
        if self.path is not None:
            os.fsync(self.handle.fileno())

    def close(self) -> None:
        if self.path is not None:
            self.handle.close()


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class BatchSummary:
    graded: int = 0
    skipped_done: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


def resolve(grader, row: AnswerRow, line: int):
    """The rubric a row is graded against: bank question by id, by retrieval, or ad hoc."""
    from interviewer.grading import adhoc_rubric

    if row.question_id:
        if row.question_id not in grader.index.rubrics:
            return (
                None,
                None,
                None,
                RowProblem(
                    line, row.id, f"unknown question_id {row.question_id!r}; see `interviewer questions`"
                ),
            )
        return grader.rubric(row.question_id), None, None, None
    if row.reference_answer:
        try:
            return adhoc_rubric(row.question, row.reference_answer), None, None, None
        except ValidationError:
            return (
                None,
                None,
                None,
                RowProblem(
                    line, row.id, "`reference_answer` is too short to grade against; give a sentence or more"
                ),
            )
    matched, similarity = grader.match_question(row.question)
    if not matched or similarity < MATCH_THRESHOLD:
        return (
            None,
            matched,
            similarity,
            RowProblem(
                line,
                row.id,
                f"no bank question matches {row.question[:60]!r} (best {matched} at {similarity:.2f}); "
                "add `reference_answer` to grade it against your own reference",
            ),
        )
    return grader.rubric(matched), matched, similarity, None


def run_batch(
    ws, input_path: Path, output: Path | None, critic=None, workers: int = 4, console=None
) -> BatchSummary:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = console or Console(stderr=True, highlight=False)
    if output is not None:
        check_output(output, input_path)
    parsed = list(read_rows(input_path))
    summary = BatchSummary()
    already = done_ids(output) if output is not None else set()
    seen: dict[str, int] = {}
    todo: list[Parsed] = []
    for item in parsed:
        if item.problem:
            summary.errors.append(item.problem)
            continue
        row = item.row
        if row.id in seen:
            first = seen[row.id]
            summary.errors.append(RowProblem(item.line, row.id, f"duplicate id (first on line {first})"))
            continue
        seen[row.id] = item.line
        if row.id in already:
            summary.skipped_done += 1
            continue
        todo.append(item)

    def report(problem: RowProblem) -> None:
        # User text (ids, questions, paths) is escaped: `[/x]` in an id must print, not break markup.
        console.print(f"[yellow]skipped[/yellow] {escape(f'{input_path}: {problem}')}", soft_wrap=True)

    for problem in summary.errors:
        report(problem)
    if summary.skipped_done:
        console.print(escape(f"Resuming: {summary.skipped_done} rows already in {output}."), soft_wrap=True)
    if not todo:
        if not parsed:
            raise InputError(f"{input_path}: no rows found")
        return summary

    grader = ws.grader()
    writer = ResultWriter(output)
    progress = Progress(
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=output is None and not console.is_terminal,
    )
    try:
        with progress:
            task = progress.add_task("grade", total=len(todo))
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start : start + CHUNK]
                jobs = []
                for item in chunk:
                    rubric, matched, similarity, problem = resolve(grader, item.row, item.line)
                    if problem:
                        summary.errors.append(problem)
                        report(problem)
                        continue
                    jobs.append((item.row, rubric, matched, similarity))
                grades = grader.grade_many([(rubric, row.answer) for row, rubric, _, _ in jobs])
                if critic is not None:
                    grades = _apply_critic(critic, jobs, grades, workers, summary)
                records = [
                    result_record(row, g, matched, similarity)
                    for (row, _, matched, similarity), g in zip(jobs, grades, strict=True)
                ]
                writer.write(records)
                summary.graded += len(records)
                summary.scores += [g.score for g in grades if g.score is not None]
                progress.advance(task, len(chunk))
    finally:
        writer.close()
    mean = sum(summary.scores) / len(summary.scores) if summary.scores else 0.0
    tokens = ""
    if critic is not None:
        tokens = f", critic tokens {summary.prompt_tokens} in / {summary.completion_tokens} out"
    console.print(
        escape(
            f"Graded {summary.graded} answers (mean {mean:.2f}), {len(summary.errors)} rows skipped{tokens}"
            + (f" → {output}" if output else "")
        ),
        soft_wrap=True,
    )
    return summary


def _apply_critic(critic, jobs, grades: list[Grade], workers: int, summary: BatchSummary) -> list[Grade]:
    from interviewer.critic import blend, critique_many, request_for

    pending = [i for i, g in enumerate(grades) if g.score is not None]
    requests = [request_for(jobs[i][1], jobs[i][0].answer) for i in pending]
    critiques = critique_many(critic, requests, max_workers=workers)
    out = list(grades)
    for i, critique in zip(pending, critiques, strict=True):
        summary.prompt_tokens += critique.prompt_tokens
        summary.completion_tokens += critique.completion_tokens
        out[i] = blend(grades[i], jobs[i][1], critique)
    return out
