"""Batch grading of written answers: CSV, JSONL or Parquet in, JSONL, CSV or Parquet out, resumable.

Rows are streamed: read, graded and written chunk by chunk, so memory stays flat however large the
file. Each row is read with where it is (line or Parquet row) so a bad row is reported and skipped.
Results are appended and flushed chunk by chunk, so a crash or Ctrl-C loses at most the chunk in
flight.

Resumption keys on what determines a result: every output row carries a `fingerprint` of the row's
id, answer, question fields, the rubric set, the grader's settings, its code and the critic's. A
re-run skips rows whose fingerprint is already in the output, grades the rest, and re-grades rows
whose fingerprint changed (an edited answer, a new rubric or calibration, another critic, another
version of interviewer). A re-graded row is appended, and the row it supersedes removed when the run
ends (the output is rewritten once, atomically); until then the last row of an id is the one that
counts, which is also how an interrupted run is read back.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import sys
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel, Field, ValidationError

from interviewer.domain.grade import FLAG_CRITIC_FAILED, Grade
from interviewer.grading.resolve import (
    OWN_LABEL,
    REFERENCES_UNREAD,
    SHORT_REFERENCE,
    UNKNOWN_ID,
    Resolution,
    needs_match,
    resolve_rubric,
    short_reference_message,
)
from interviewer.sources import files
from interviewer.sources.references import (
    REFERENCE_COLUMNS,
    ReferencesError,
    named_reference_answers,
)
from interviewer.sources.rubric import Rubric

if TYPE_CHECKING:
    from rich.console import Console

    from interviewer.critic import Critic, Critique
    from interviewer.grading.examples import ExampleSet
    from interviewer.grading.grader import Grader
    from interviewer.workspace import Workspace
from interviewer.sources.tables import (
    STDIO,
    InputError,
    Record,
    cell_text,
    cell_text_or_none,
    column_conflict,
    column_key,
    csv_cells,
    csv_records,
    format_of,
    is_missing,
    jsonl_records,
    open_records,
    pyarrow_modules,
)

__all__ = [
    "InputError",
    "csv_records",
    "jsonl_records",
    "read_text",
    "run_batch",
    "done_ids",
    "OUTPUT_FIELDS",
]

# The columns a row is read from (any others are the user's own, kept out of grading).
ROW_COLUMNS = ("id", "answer", "question_id", "question", *REFERENCE_COLUMNS)
REQUIRED, ONE_OF = ("id", "answer"), ("question_id", "question")
CHUNK = 256  # rows graded together: one embedding batch and two judge passes
ADHOC_CACHE = 4096  # distinct (question, reference) rubrics kept built during a run
MAX_CRITIC_FAILURES = 5  # consecutive critic transport failures before a run stops (unless --keep-going)
OUTPUT_FIELDS = [
    "id",
    "question_id",
    "matched_question",
    "match_similarity",
    "matched_reference",
    "score",
    "band",
    "covered",
    "loosely_covered",
    "missed",
    "misconceptions",
    "contradictions",
    "flags",
    "explanation",
    "examples_estimate",
    "examples_weight",
    "critic",
    "fingerprint",
]


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


class AnswerRow(BaseModel):
    id: str
    answer: str
    question_id: str | None = None
    question: str | None = None
    reference_answer: str | None = None
    # reference_answer_2, …: other acceptable answers (the answer keeps its best grade).
    other_references: list[str] = Field(default_factory=list)
    # The column of each reference answer, in the same order (blank cells and repeats left out).
    reference_columns: list[str] = Field(default_factory=list)


@dataclass
class RowProblem:
    line: int
    row_id: str | None
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        where = f"{self.unit} {self.line}" + (f" (id {self.row_id})" if self.row_id else "")
        return f"{where}: {self.message}"


@dataclass
class Parsed:
    line: int
    row: AnswerRow | None = None
    problem: RowProblem | None = None


def _columns(data: dict) -> dict:
    """A record's values by column name, as matched (`column_key`)."""
    return {column_key(k): v for k, v in data.items() if k is not None}


def _to_row(line: int, data: dict, unit: str = "line") -> Parsed:
    columns = _columns(data)
    # Two of a JSONL row's keys read as one (a header is checked whole, before any row).
    conflict = column_conflict(data, ROW_COLUMNS) if len(columns) < len(data) else None
    written, data = data, columns

    def problem(row_id: str | None, message: str) -> Parsed:
        return Parsed(line, problem=RowProblem(line, row_id, message, unit))

    row_id = cell_text_or_none(data.get("id"))
    if conflict:
        return problem(row_id, conflict)
    if row_id is None:
        return problem(None, "missing `id`; give every row a unique id")
    if "answer" not in data:
        return problem(row_id, "missing `answer` column")
    question_id, question = (
        cell_text_or_none(data.get("question_id")),
        cell_text_or_none(data.get("question")),
    )
    try:
        # The columns as the file writes them, so a misnumbered one is named so (`Reference_Answer_17`).
        named = named_reference_answers(written)
    except ReferencesError as exc:
        return problem(row_id, str(exc))
    references = [text for _, text in named]
    reference = references[0] if references else None
    if not question_id and not question:
        return problem(row_id, "needs `question_id` or `question`")
    if reference and not question:
        return problem(row_id, "`reference_answer` needs the `question` text too")
    try:
        row = AnswerRow(
            id=row_id.strip(),
            answer="" if is_missing(data.get("answer")) else cell_text(data.get("answer")),
            question_id=question_id.strip() if question_id else None,
            question=question,
            reference_answer=reference,
            other_references=references[1:],
            reference_columns=[column for column, _ in named],
        )
    except ValidationError as exc:
        return problem(row_id, exc.errors()[0]["msg"])
    return Parsed(line, row=row)


def read_text(path: Path, error: type[ValueError] = InputError) -> str:
    return files.read_text(path, error)


def parse_record(record: Record) -> Parsed:
    if record.problem or record.data is None:
        row_id = None if record.data is None else row_id_of(record.data)
        problem = RowProblem(record.number, row_id, record.problem or "empty row", record.unit)
        return Parsed(record.number, problem=problem)
    return _to_row(record.number, record.data, record.unit)


def row_id_of(data: dict) -> str | None:
    """The id of a row read but not to be graded (a JSONL line that is not UTF-8), however its column
    is spelled ("ID"), so that the row is named by it."""
    parsed = _to_row(0, data)
    if parsed.problem is not None:
        return parsed.problem.row_id
    return parsed.row.id if parsed.row is not None else None


def parse_records(records: Iterator[Record]) -> Iterator[Parsed]:
    return map(parse_record, records)


def read_rows(source: Path | str, fmt: str | None = None) -> Iterator[Parsed]:
    """Rows of a CSV, JSONL or Parquet file (or `-`, stdin), streamed; problems instead of exceptions.
    An unusable file (missing, wrong type, no header) raises InputError before the first row."""
    records = open_records(source, fmt, required=REQUIRED, one_of=ONE_OF, read=ROW_COLUMNS)
    return parse_records(records)


# ---- graded examples -----------------------------------------------------------------------------


@dataclass
class ExampleRow:
    line: int
    row: AnswerRow
    grade: float
    unit: str = "line"


@dataclass
class ExamplesFile:
    """The rows of an `--examples` file that can be used, what was wrong with the others, and a digest
    of the usable ones (it joins every fingerprint: other examples, other grades)."""

    name: str
    rows: list[ExampleRow]
    problems: list[RowProblem]

    @property
    def digest(self) -> str:
        payload = json.dumps(
            [
                # The id too: it is named in explanations and left out of its own reading.
                [*_row_key(e.row), e.grade]
                for e in self.rows
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _example_grade(value: object) -> float | None:
    try:
        grade = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return grade if math.isfinite(grade) and 0.0 <= grade <= 5.0 else None


def check_examples(examples: Path | None, input_path: Path | str, output: Path | str | None) -> None:
    """Refuse an examples file that the run would read twice (stdin) or write over (the output)."""
    if examples is None:
        return
    if str(examples) == STDIO:
        if str(input_path) == STDIO:
            raise InputError("--examples - and INPUT - cannot both read stdin; give the examples as a file")
        return
    if not is_stdout(output) and Path(examples).resolve() == Path(str(output)).resolve():
        raise InputError(f"{examples}: is also the output; write the grades to another file")


def read_examples(source: Path | str, fmt: str | None = None) -> ExamplesFile:
    """Answers graded by hand: the grading input's columns plus `grade` (0–5). Rows that cannot be
    used are problems (line and id), the rest are kept; a file with none usable is an InputError."""
    records = open_records(source, fmt, required=(*REQUIRED, "grade"), one_of=ONE_OF, read=ROW_COLUMNS)
    name = "<stdin>" if str(source) == STDIO else str(source)
    rows: list[ExampleRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for record in records:
        parsed = parse_record(record)
        if parsed.problem is not None:
            problems.append(parsed.problem)
            continue
        assert parsed.row is not None and record.data is not None  # a Parsed holds a row or a problem
        data = _columns(record.data)
        where = (parsed.line, parsed.row.id)
        grade = _example_grade(data.get("grade"))
        if grade is None:
            got = cell_text_or_none(data.get("grade"))
            why = "missing `grade`" if got is None else f"`grade` must be a number from 0 to 5 (got {got!r})"
            problems.append(
                RowProblem(*where, f"{why}: give each example the grade it earned, 0-5", record.unit)
            )
        elif not parsed.row.answer.strip():
            problems.append(
                RowProblem(*where, "empty `answer`: an example needs the answer that was graded", record.unit)
            )
        elif parsed.row.id in seen:
            problems.append(
                RowProblem(
                    *where, f"duplicate id (first on {record.unit} {seen[parsed.row.id]})", record.unit
                )
            )
        else:
            seen[parsed.row.id] = parsed.line
            rows.append(ExampleRow(parsed.line, parsed.row, grade, record.unit))
    if not rows:
        first = f" (first: {problems[0]})" if problems else ""
        raise InputError(
            f"{name}: no usable graded example{first}; each row needs `id`, `answer`, `grade` 0-5 "
            "and the question"
        )
    return ExamplesFile(name, rows, problems)


def build_examples(
    grader: Grader, resolver: RubricResolver, examples: ExamplesFile
) -> tuple[ExampleSet, list[RowProblem], dict[str, RowTally]]:
    """Each example resolved to its rubric as a graded row would be, embedded once, grouped by
    question; then a fixed sample of them graded by its rubric, to fit how much the examples weigh
    (`grading/examples.py`)."""
    from interviewer.grading.examples import GradedExample, fit_sample

    jobs = [Job(e.line, e.row, "", e.unit) for e in examples.rows]
    resolved, problems = resolver.resolve(jobs)
    grades = {e.row.id: e.grade for e in examples.rows}
    pairs = [
        (r.rubric, GradedExample(r.job.row.answer, grades[r.job.row.id], r.job.row.id)) for r in resolved
    ]
    built = grader.example_set(pairs)
    sample = [pairs[i] for i in fit_sample([example.id for _, example in pairs])]
    graded = grader.grade_many([(rubric, example.answer) for rubric, example in sample])
    notes: dict[str, RowTally] = {}
    for r in resolved:
        tally(notes, r.note, r.job.row.id)
    return grader.fit_examples(built, sample, graded), problems, notes


# ---- fingerprints --------------------------------------------------------------------------------


def critic_identity(critic: Critic | None) -> str:
    """What about the critic determines a verdict: its transport, model, server and blending."""
    if critic is None:
        return "none"
    from interviewer.critic import CRITIC_MAX_RAISE, CRITIC_WEIGHT

    chat = getattr(critic, "chat", critic)
    server = getattr(chat, "server", "") or ""
    return f"{type(chat).__name__}:{getattr(chat, 'name', '')}@{server} w{CRITIC_WEIGHT} r{CRITIC_MAX_RAISE}"


def code_digest(package: Path) -> str:
    """sha256 of the package's source and settings files (its .py and .json, by relative path): a
    grader change re-grades a resumed run's rows, which no version number would say when it is not
    bumped (the restated-question fix changed SciEntsBank grades without touching the calibration).
    The judge's weights are named by its version instead (hashing them here would cost seconds)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in {".py", ".json"} and p.is_file()):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run_settings(ws: Workspace, critic: Critic | None = None, examples: ExamplesFile | None = None) -> str:
    """Everything besides the row that determines a result, without loading any model."""
    from interviewer.grading.calibration import load_calibration
    from interviewer.grading.embedding import Embedder
    from interviewer.grading.grader import MAX_ANSWER_CHARS
    from interviewer.grading.judge import CrossEncoderJudge
    from interviewer.sources.rubric import content_hash

    judge = CrossEncoderJudge()
    settings = {
        "rubrics": content_hash(ws.rubrics()),
        "calibration": load_calibration().version,
        "embedder": Embedder().model_name,
        # bf16 reads move some probabilities by up to 0.03: a run in the other precision re-grades.
        "judge": (judge.name + ("+bf16" if ws.precision == "bf16" else "")) if judge.available else "none",
        "max_chars": MAX_ANSWER_CHARS,
        "critic": critic_identity(critic),
        "code": code_digest(Path(__file__).resolve().parent.parent),
    }
    if examples is not None:  # absent without examples, so the fingerprints of earlier runs still hold
        settings["examples"] = examples.digest
    return json.dumps(settings, sort_keys=True)


def _row_key(row: AnswerRow) -> list:
    """What a row is graded from; other acceptable answers only where given, so the fingerprints
    of rows without them are as before, and their columns only where not numbered in a run from
    `reference_answer` (the output names the column: moving an answer to another one re-grades)."""
    key = [row.id, row.answer, row.question_id, row.question, row.reference_answer]
    if not row.other_references:
        return key
    in_a_run = list(REFERENCE_COLUMNS[: len(row.reference_columns)])
    columns = [row.reference_columns] if row.reference_columns != in_a_run else []
    return key + [row.other_references] + columns


def fingerprint(row: AnswerRow, settings: str) -> str:
    payload = json.dumps([*_row_key(row), settings], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ---- output ------------------------------------------------------------------------------------


def result_record(
    row: AnswerRow, grade: Grade, rubric: Rubric, matched: str | None, similarity: float | None, fp: str = ""
) -> dict:
    """A graded row's output record; `rubric` is the one it was graded against."""
    return {
        "id": row.id,
        "question_id": grade.question_id,
        "matched_question": matched,
        "match_similarity": similarity,
        "matched_reference": matched_reference(row, grade, rubric),
        "score": grade.score,
        "band": grade.band,
        "covered": grade.covered,
        "loosely_covered": grade.loosely_covered,
        "missed": grade.missed,
        "misconceptions": grade.misconceptions,
        "contradictions": [{"said": c.said, "fact": c.fact} for c in grade.contradictions],
        "flags": grade.flags,
        "explanation": grade.explanation,
        # What the graded examples (`--examples`) suggest; None where none were blended in.
        "examples_estimate": grade.signals.get("examples_estimate"),
        # Its share of the score (0 where they were not let lift it, or no example is close).
        "examples_weight": grade.signals.get("examples_weight"),
        "critic": grade.critic.changed if grade.critic else None,
        "fingerprint": fp,
    }


def matched_reference(row: AnswerRow, grade: Grade, rubric: Rubric) -> str | None:
    """The column of the reference answer a row was graded against, where it was graded against the
    several it gives and the guards did not decide its grade. None otherwise: one reference (nothing
    to tell), or a `question_id` that chose a bank rubric over the row's references."""
    if grade.score is None or grade.guarded:
        return None
    if len(row.reference_columns) < 2 or len(rubric.other_references) + 1 != len(row.reference_columns):
        return None
    return row.reference_columns[grade.matched_reference]


def is_stdout(path: Path | str | None) -> bool:
    return path is None or str(path) == STDIO


def check_output(path: Path | str | None, input_path: Path | str | None = None, mkdir: bool = False) -> None:
    """Refuse an output the run could not write, before any work (or any truncation) happens."""
    if path is None or is_stdout(path):
        return
    path = Path(path)
    format_of(path, writing=True)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a .jsonl, .csv or .parquet file name")
    if (
        input_path is not None
        and not is_stdout(input_path)
        and path.exists()
        and path.resolve() == Path(input_path).resolve()
    ):
        raise InputError(f"{path}: the output would overwrite the input; choose another file")
    parent = path.parent
    if not parent.exists() and not mkdir:
        raise InputError(f"{path}: no folder {parent}; create it, or pass --mkdir to have it created")
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{path}: {parent} is not a folder")


@dataclass
class Prior:
    """A row an earlier run wrote: what it was graded from, and whether its critic fell back."""

    fingerprint: str | None
    fell_back: bool


def _drop_torn_tail(path: Path) -> None:
    """A crash mid-write leaves a torn last line: cut the file back to its last complete line."""
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            block = handle.read(end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return
            end = start
        handle.truncate(0)


def _fell_back(flags: object) -> bool:
    if isinstance(flags, str):
        try:
            flags = json.loads(flags) if flags else []
        except json.JSONDecodeError:
            return False
    return isinstance(flags, list) and FLAG_CRITIC_FAILED in flags


def _text_rows(path: Path) -> Iterator[dict]:
    """The rows of a JSONL or CSV output, streamed (unparseable lines are passed over)."""
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                yield from csv.DictReader(handle)
            return
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(data, dict):
                    yield data
    except UnicodeDecodeError:
        message = "existing output is not UTF-8; move it away or choose another file"
        raise InputError(f"{path}: {message}") from None


class ResultStore:
    """Where results go: stdout, or a file appended to and flushed chunk by chunk.

    JSONL and CSV are appended in place. Parquet cannot be appended to, so a Parquet output is
    written through a JSONL journal beside it (`OUT.parquet.partial.jsonl`) and rewritten, with the
    rows it already held, when the run ends: an interrupted run leaves the journal, and the next run
    reads both.
    """

    def __init__(self, path: Path | str | None, mkdir: bool = False) -> None:
        self.path = None if path is None or is_stdout(path) else Path(path)
        self.mkdir = mkdir
        self.format = "jsonl" if self.path is None else format_of(self.path, writing=True)
        self.live = self.path
        if self.path is not None and self.format == "parquet":
            self.live = self.path.with_name(self.path.name + ".partial.jsonl")
        self.handle: TextIO | None = None
        self.superseded = 0  # rows of an id written more than once (the last one counts)

    # -- reading back ----------------------------------------------------------------------------

    def prior(self) -> dict[str, Prior]:
        """Rows already written, by id (the last of an id wins); a torn last line is dropped."""
        found: dict[str, Prior] = {}
        if self.path is None:
            return found
        for data in self._existing_rows():
            if not data.get("id"):
                continue
            key = str(data["id"])
            if key in found:
                self.superseded += 1
            found[key] = Prior(data.get("fingerprint") or None, _fell_back(data.get("flags")))
        return found

    def _existing_rows(self) -> Iterator[dict]:
        assert self.path is not None and self.live is not None
        if self.format == "parquet" and self.path.exists():
            yield from _parquet_rows(self.path, columns=["id", "fingerprint", "flags"])
        if self.live.exists() and self.live.stat().st_size:
            _drop_torn_tail(self.live)
            if self.format == "csv" and _csv_header(self.live) != OUTPUT_FIELDS:
                # Written by a version with other columns: rewrite it with these first, so rows
                # appended now line up (its rows, lacking a fingerprint, are graded again).
                _compact(self.live, "csv")
            yield from _text_rows(self.live)

    # -- writing ---------------------------------------------------------------------------------

    def _open(self) -> TextIO:
        if self.handle is not None:
            return self.handle
        if self.live is None:
            self.handle = sys.stdout
            return self.handle
        if self.mkdir:
            try:
                self.live.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"{self.live.parent}: cannot be created ({exc.strerror or exc})") from None
        new = not self.live.exists() or self.live.stat().st_size == 0
        try:
            self.handle = self.live.open("a", encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError(f"{self.live}: cannot be written ({exc.strerror or exc})") from None
        if self.format == "csv" and new:
            csv.writer(self.handle).writerow(OUTPUT_FIELDS)
        return self.handle

    def write(self, records: list[dict]) -> None:
        handle = self._open()
        for record in records:
            if self.format == "csv":
                # Lists as JSON arrays: a key point may itself contain "; " or a comma.
                csv.writer(handle).writerow(csv_cells(record, OUTPUT_FIELDS))
            else:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        if self.live is not None:
            os.fsync(handle.fileno())

    def close(self, finish: bool = True) -> None:
        """Close the file; when `finish`, leave one row per id (and write the Parquet file)."""
        if self.handle is not None and self.live is not None:
            self.handle.close()
        self.handle = None
        if not finish or self.path is None:
            return
        if self.format == "parquet":
            if self.live is not None and self.live.exists():
                _write_parquet(self.path, self.live)
        elif self.superseded:
            _compact(self.path, self.format)
            self.superseded = 0


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


def _compact(path: Path, fmt: str) -> None:
    """Rewrite a JSONL or CSV output keeping the last row of each id, atomically (two streamed passes)."""
    last: dict[str, int] = {}
    for n, data in enumerate(_text_rows(path)):
        last[str(data.get("id"))] = n
    tmp = path.with_name(path.name + ".compacting")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(OUTPUT_FIELDS)
        for n, data in enumerate(_text_rows(path)):
            if last.get(str(data.get("id"))) != n:
                continue
            if writer is not None:
                writer.writerow([data.get(k, "") for k in OUTPUT_FIELDS])
            else:
                handle.write(json.dumps(data, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _parquet_rows(path: Path, columns: list[str] | None = None) -> Iterator[dict]:
    pa, pq = pyarrow_modules()
    try:
        parquet = pq.ParquetFile(path)
        present = [c for c in (columns or parquet.schema_arrow.names) if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(batch_size=8192, columns=present):
            yield from batch.to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: existing output is not a readable Parquet file ({exc})") from None


def parquet_schema():
    pa, _ = pyarrow_modules()
    text_list = pa.list_(pa.string())
    return pa.schema(
        [
            ("id", pa.string()),
            ("question_id", pa.string()),
            ("matched_question", pa.string()),
            ("match_similarity", pa.float64()),
            ("matched_reference", pa.string()),
            ("score", pa.float64()),
            ("band", pa.string()),
            ("covered", text_list),
            ("loosely_covered", text_list),
            ("missed", text_list),
            ("misconceptions", text_list),
            ("contradictions", pa.list_(pa.struct([("said", pa.string()), ("fact", pa.string())]))),
            ("flags", text_list),
            ("explanation", pa.string()),
            ("examples_estimate", pa.float64()),
            ("examples_weight", pa.float64()),
            ("critic", pa.string()),
            ("fingerprint", pa.string()),
        ]
    )


def _write_parquet(path: Path, journal: Path, group: int = 8192) -> None:
    """The Parquet output: its earlier rows not superseded, then the journal's (last of an id wins),
    streamed in row groups into a temporary file that replaces the output atomically."""
    pa, pq = pyarrow_modules()
    schema = parquet_schema()
    last: dict[str, int] = {}
    for n, data in enumerate(_text_rows(journal)):
        last[str(data.get("id"))] = n
    tmp = path.with_name(path.name + ".writing")
    writer = pq.ParquetWriter(tmp, schema)
    try:
        buffer: list[dict] = []

        def flush() -> None:
            if buffer:
                writer.write_table(pa.Table.from_pylist(buffer, schema=schema), row_group_size=group)
                buffer.clear()

        if path.exists():
            for data in _parquet_rows(path):
                if str(data.get("id")) not in last:
                    buffer.append(data)
                    if len(buffer) >= group:
                        flush()
        for n, data in enumerate(_text_rows(journal)):
            if last.get(str(data.get("id"))) == n:
                buffer.append({k: data.get(k) for k in OUTPUT_FIELDS})
                if len(buffer) >= group:
                    flush()
        flush()
    finally:
        writer.close()
    os.replace(tmp, path)
    journal.unlink()


def done_ids(path: Path) -> set[str]:
    """Ids already written by an earlier run; a torn last line (crash mid-write) is dropped."""
    return set(ResultStore(path).prior())


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class BatchOptions:
    fmt: str | None = None  # input format when the suffix (or stdin) does not say
    retry_fallbacks: bool = False  # re-grade rows whose critic fell back
    keep_going: bool = False  # do not stop on a critic outage
    mkdir: bool = False  # create the output's folder
    max_critic_failures: int = MAX_CRITIC_FAILURES
    chunk: int = CHUNK
    examples: Path | None = None  # answers already graded by hand (`--examples`)


@dataclass
class RowTally:
    """How many rows something happened to, and the first few ids to name: flat in memory however
    many rows it is."""

    count: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, row_id: str) -> None:
        self.count += 1
        if len(self.first) < 3:
            self.first.append(row_id)

    def __str__(self) -> str:
        ids = ", ".join(self.first) + (", …" if self.count > len(self.first) else "")
        return f"{plural(self.count, 'row')} ({ids})"


def tally(notes: dict[str, RowTally], kind: str | None, row_id: str) -> None:
    if kind:
        notes.setdefault(kind, RowTally()).add(row_id)


@dataclass
class BatchSummary:
    graded: int = 0
    skipped_done: int = 0
    regraded: int = 0
    fallbacks: int = 0
    truncated: int = 0
    stopped: str | None = None  # why the run stopped early
    errors: list[RowProblem] = field(default_factory=list)
    score_sum: float = 0.0
    scored: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Rows read in a way the user may not expect (resolve.REFERENCES_UNREAD, OWN_LABEL), told once.
    notes: dict[str, RowTally] = field(default_factory=dict)

    def note(self, kind: str | None, row_id: str) -> None:
        tally(self.notes, kind, row_id)

    @property
    def mean(self) -> float:
        return self.score_sum / self.scored if self.scored else 0.0

    @property
    def failed(self) -> bool:
        """Exit 1: a row fell back, the run stopped early, or nothing could be graded."""
        nothing = bool(self.errors) and self.graded == 0 and self.skipped_done == 0
        return bool(self.fallbacks or self.stopped or nothing)


@dataclass
class Job:
    line: int
    row: AnswerRow
    fingerprint: str
    unit: str = "line"
    from_csv: bool = False  # only a CSV row can be the rest of an answer cut at a line break


@dataclass
class Resolved:
    job: Job
    rubric: Rubric
    matched: str | None = None
    similarity: float | None = None
    note: str | None = None  # resolve.REFERENCES_UNREAD or OWN_LABEL, where one applies


class RubricResolver:
    """The rubric each row is graded against: bank question by id, by retrieval, or ad hoc.

    Ad-hoc rubrics are built once per distinct (question, reference) and kept for the run (the
    grader keeps their vectors), so a thousand answers to one question cost one rubric."""

    def __init__(self, grader: Grader) -> None:
        self.grader = grader
        self.adhoc: OrderedDict[tuple[str, str, tuple[str, ...]], Rubric] = OrderedDict()

    def adhoc_rubric(self, question: str, reference: str, others: Sequence[str] = ()) -> Rubric:
        from interviewer.grading.grader import adhoc_rubric

        key = (question, reference, tuple(others))
        if key in self.adhoc:
            self.adhoc.move_to_end(key)
            return self.adhoc[key]
        rubric = adhoc_rubric(question, reference, others=others)
        self.adhoc[key] = rubric
        while len(self.adhoc) > ADHOC_CACHE:
            self.adhoc.popitem(last=False)
        return rubric

    def resolve(self, jobs: list[Job]) -> tuple[list[Resolved], list[RowProblem]]:
        each = self.resolve_each(jobs)
        return [r for r in each if isinstance(r, Resolved)], [p for p in each if isinstance(p, RowProblem)]

    def resolve_each(self, jobs: list[Job]) -> list[Resolved | RowProblem]:
        """Each job's rubric, or why it has none, in the jobs' order."""
        resolved: list[Resolved | RowProblem | None] = [None] * len(jobs)
        by_text: list[int] = []

        def settle(i: int, found: Resolution) -> None:
            job = jobs[i]
            if found.rubric is not None:
                resolved[i] = Resolved(job, found.rubric, found.matched, found.similarity, found.note)
            else:
                resolved[i] = RowProblem(job.line, job.row.id, _unresolved(job, found), job.unit)

        for i, job in enumerate(jobs):
            row = job.row
            if needs_match(row.question_id, row.reference_answer):
                by_text.append(i)
                continue
            found = resolve_rubric(
                self.grader,
                row.question_id,
                row.question,
                row.reference_answer,
                adhoc=self.adhoc_rubric,
                other_references=row.other_references,
            )
            settle(i, found)
        questions = [jobs[i].row.question or "" for i in by_text]
        matches = self.grader.match_questions(questions) if by_text else []
        for i, match in zip(by_text, matches, strict=True):
            row = jobs[i].row
            settle(i, resolve_rubric(self.grader, None, row.question, None, match=match))
        return [r for r in resolved if r is not None]


def _unresolved(job: Job, found: Resolution) -> str:
    """Why a row has no rubric, in `interviewer grade`'s words."""
    row = job.row
    if found.problem == UNKNOWN_ID:
        return (
            f"unknown question_id {row.question_id!r}; see `interviewer questions`, or add `question` "
            "and `reference_answer` to grade it against your own reference"
        )
    if found.problem == SHORT_REFERENCE:
        return short_reference_message(found)
    message = (
        f"no bank question matches {(row.question or '')[:60]!r} (best {found.matched or 'none'} at "
        f"{found.similarity or 0.0:.2f}); add `reference_answer` to grade it against your own reference"
    )
    return message + CONTINUED_HINT if _continues_a_row(job) else message


# A line break inside an unquoted CSV answer ends its row there: the answer is graded cut short, and
# the rest of it reads as a row of its own whose "question" is a piece of the answer.
CONTINUED_HINT = (
    "; if this line continues the answer above it (a line break in an unquoted answer), put that "
    "answer in double quotes: it may have been graded cut short"
)


def _continues_a_row(job: Job) -> bool:
    """Whether a row that matched no question reads like the rest of an answer cut at a line break:
    below another row, an id of several words, and a "question" that starts mid-sentence (lower case
    after any spaces) and asks nothing. Ids like "student 7" or questions like "explain dropout" alone
    are not enough."""
    question = (job.row.question or "").strip()
    mid_sentence = question[:1].islower() and not question.endswith("?")
    return job.from_csv and job.line > 2 and " " in job.row.id.strip() and mid_sentence


class CriticStreak:
    """Consecutive critic transport failures (server down, refused, timing out), in row order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.last = ""

    def see(self, critique: Critique) -> None:
        if critique.failed and critique.unavailable:
            self.count += 1
            self.last = critique.note
        elif not critique.failed:
            self.count = 0

    @property
    def tripped(self) -> bool:
        return self.limit > 0 and self.count >= self.limit


def run_batch(
    ws: Workspace,
    input_path: Path | str,
    output: Path | str | None,
    critic: Critic | None = None,
    workers: int = 4,
    console: Console | None = None,
    options: BatchOptions | None = None,
) -> BatchSummary:
    from rich.console import Console
    from rich.markup import escape

    options = options or BatchOptions()
    console = console or Console(stderr=True, highlight=False)
    source = "<stdin>" if str(input_path) == STDIO else str(input_path)
    check_output(output, input_path, mkdir=options.mkdir)
    check_examples(options.examples, input_path, output)
    store = ResultStore(output, mkdir=options.mkdir)
    rows = read_rows(input_path, options.fmt)
    examples = read_examples(options.examples) if options.examples else None
    prior = store.prior()
    settings = run_settings(ws, critic, examples)
    summary = BatchSummary()
    streak = CriticStreak(0 if options.keep_going else options.max_critic_failures)

    def say(text: str) -> None:
        # User text (ids, questions, paths) is escaped: `[/x]` in an id must print, not break markup.
        console.print(escape(text), soft_wrap=True)

    def report(problem: RowProblem) -> None:
        summary.errors.append(problem)
        console.print(f"[yellow]skipped[/yellow] {escape(f'{source}: {problem}')}", soft_wrap=True)

    # Problems found while reading wait for those the resolver finds in the same rows (when their
    # chunk is graded), so the skipped rows are told in file order.
    held: list[RowProblem] = []

    def report_held(upto: float, found: Sequence[RowProblem] = ()) -> None:
        due = sorted([*(p for p in held if p.line <= upto), *found], key=lambda p: p.line)
        held[:] = [p for p in held if p.line > upto]
        for problem in due:
            report(problem)

    state: dict[str, Any] = {"grader": None, "resolver": None, "rows": 0, "examples": None}
    progress = _progress(console, disable=is_stdout(output) and not console.is_terminal)

    def grade_chunk(jobs: list[Job]) -> None:
        if state["grader"] is None:
            loaded = ws.grader()
            state["grader"], state["resolver"] = loaded, RubricResolver(loaded)
            if examples is not None:
                state["examples"] = load_examples(loaded, state["resolver"], examples, say)
        grader, resolver = state["grader"], state["resolver"]
        resolved, problems = resolver.resolve(jobs)
        report_held(jobs[-1].line, problems)
        items = [(r.rubric, r.job.row.answer) for r in resolved]
        grades = grader.grade_many(items)
        if state["examples"] is not None:
            grades = grader.with_examples(items, grades, state["examples"])
        if critic is not None:
            resolved, grades = _apply_critic(critic, resolved, grades, workers, summary, streak)
        records = []
        for r, g in zip(resolved, grades, strict=True):
            records.append(result_record(r.job.row, g, r.rubric, r.matched, r.similarity, r.job.fingerprint))
            if r.job.row.id in prior:
                summary.regraded += 1
                store.superseded += 1
            if g.score is not None:
                summary.score_sum += g.score
                summary.scored += 1
            summary.fallbacks += bool(g.critic and g.critic.failed)
            summary.truncated += "truncated" in g.flags
            summary.note(r.note, r.job.row.id)
        if records:
            store.write(records)
        summary.graded += len(records)
        progress.advance(task, len(jobs))

    source_format = format_of_source(input_path, options.fmt)
    unit = "row" if source_format in ("parquet", "xlsx") else "line"
    seen: dict[str, int] = {}
    pending: list[Job] = []
    finished = False
    try:
        with progress:
            task = progress.add_task("grade", total=None)
            for item in rows:
                state["rows"] += 1
                if item.problem:
                    held.append(item.problem)
                    continue
                row = item.row
                assert row is not None  # a Parsed holds a row or a problem
                if row.id in seen:
                    first = f"duplicate id (first on {unit} {seen[row.id]})"
                    held.append(RowProblem(item.line, row.id, first, unit))
                    continue
                seen[row.id] = item.line
                fp = fingerprint(row, settings)
                old = prior.get(row.id)
                retry = options.retry_fallbacks and old is not None and old.fell_back
                if old is not None and old.fingerprint == fp and not retry:
                    summary.skipped_done += 1
                    continue
                pending.append(Job(item.line, row, fp, unit, from_csv=source_format == "csv"))
                if len(pending) >= options.chunk:
                    grade_chunk(pending)
                    pending = []
                    if streak.tripped:
                        break
            if pending and not streak.tripped:
                grade_chunk(pending)
            finished = True
    except KeyboardInterrupt:
        report_held(math.inf)
        say_notes(summary.notes, say)
        # Ctrl-C: the graded rows are already written (the finally closes the store unfinished); say
        # so, and how to go on, before exiting 130.
        where = "written to stdout" if is_stdout(output) else f"saved in {output}"
        again = "" if is_stdout(output) else "; run the same command again to grade the rest"
        say(f"Interrupted: {plural(summary.graded, 'answer')} graded this run, {where}{again}.")
        raise
    finally:
        report_held(math.inf)  # whatever ends the run, every bad row read is told
        store.close(finish=finished)
    if streak.tripped:
        summary.stopped = (
            f"Stopped after {plural(streak.count, 'consecutive critic failure')} ({streak.last}); "
            "rows not yet graded are left for a re-run (or pass --keep-going)"
        )
    if state["rows"] == 0:
        raise InputError(f"{source}: no rows found")
    if summary.skipped_done:
        say(f"Resuming: {plural(summary.skipped_done, 'row')} already in {output}.")
    if summary.fallbacks:
        say(
            f"{plural(summary.fallbacks, 'answer')} kept the embedding grade because the critic failed; "
            "re-run with --retry-fallbacks to try the critic again."
        )
    if summary.stopped:
        say(summary.stopped)
    say_notes(summary.notes, say)
    extras = []
    if summary.regraded:
        extras.append(f"{summary.regraded} re-graded (answer, rubric or settings changed)")
    if summary.truncated:
        extras.append(f"{summary.truncated} truncated")
    if summary.fallbacks:
        extras.append(f"{plural(summary.fallbacks, 'critic fallback')}")
    if critic is not None:
        extras.append(f"critic tokens {summary.prompt_tokens} in / {summary.completion_tokens} out")
    say(
        # A mean over no answer would read as "they all scored 0".
        f"Graded {plural(summary.graded, 'answer')}"
        + (f" (mean {summary.mean:.2f}), " if summary.scored else ", ")
        + f"{plural(len(summary.errors), 'row')} skipped"
        + "".join(f", {e}" for e in extras)
        + ("" if is_stdout(output) else f" → {output}")
    )
    return summary


def say_notes(notes: dict[str, RowTally], say: Any, source: str = "", examples: bool = False) -> None:
    """One line per way rows were read that the user may not expect; `source` names the file (for
    examples, which are taken as examples of a question, not graded)."""
    for kind, rows in notes.items():
        if kind == REFERENCES_UNREAD:
            taken = f"{'taken as examples of' if examples else 'graded against'} the bank question"
            say(
                f"{source}{rows} gave a bank question_id and reference answers: {taken}, their reference "
                "answers unread; leave question_id out (or use an id of your own) to use them."
            )
        elif kind == OWN_LABEL:
            taken = "taken as examples of the question" if examples else "graded against the references"
            say(
                f"{source}{rows} gave a question_id that is no bank id beside reference answers: read as "
                f"your own label and {taken} (for a bank question, see `interviewer questions`)."
            )


def load_examples(grader: Grader, resolver: RubricResolver, examples: ExamplesFile, say: Any) -> ExampleSet:
    """The examples built, their unusable rows told (they are skipped, not fatal), and a line on use."""
    from interviewer.grading.examples import FIT_AT_LEAST, NEAR_SPAN

    built, unresolved, notes = build_examples(grader, resolver, examples)
    problems = sorted([*examples.problems, *unresolved], key=lambda p: p.line)
    if not built.questions:
        raise InputError(f"{examples.name}: no graded example matches a question (first: {problems[0]})")
    for problem in problems:
        say(f"example skipped: {examples.name}: {problem}")
    say_notes(notes, say, f"{examples.name}: ", examples=True)
    questions = plural(len(built.questions), "question")
    fitted = f"too few to fit: {built.share:.2f}"
    alike = len({float(g) for q in built.questions.values() for g in q.grades}) == 1
    if alike and len(built) >= FIT_AT_LEAST:
        fitted = f"all graded alike, nothing to fit: {built.share:.2f}"
    if built.fitted_on:  # of a fixed sample, those another example of their question could read
        fitted = f"fitted on {built.fitted_on} of them: {built.share:.2f}"
    near_from = built.trust.near_from
    closer = (
        f" and with an answer's closeness to them (none at similarity {near_from:.1f} or below, "
        f"all from {near_from + NEAR_SPAN:.1f})"
        if near_from is not None
        else ""
    )
    say(
        f"Graded examples: {plural(len(built), 'answer')} for {questions} from {examples.name}; "
        f"their share of a score ({fitted}) grows with their number per question{closer}."
    )
    return built


def format_of_source(source: Path | str, fmt: str | None) -> str:
    if fmt:
        return fmt
    if str(source) == STDIO:
        return "jsonl"
    try:
        return format_of(source)
    except InputError:
        return "csv"


def _progress(console, disable: bool):
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("grading"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
    )


def _apply_critic(
    critic: Critic,
    resolved: list[Resolved],
    grades: list[Grade],
    workers: int,
    summary: BatchSummary,
    streak: CriticStreak,
) -> tuple[list[Resolved], list[Grade]]:
    """The critic's verdicts blended in, `workers` calls at a time in row order. When the streak of
    transport failures trips, the rows not yet sent are dropped (left for a re-run)."""
    from interviewer.critic import apply_critic

    def seen(critique: Critique) -> None:
        summary.prompt_tokens += critique.prompt_tokens
        summary.completion_tokens += critique.completion_tokens
        streak.see(critique)

    items = [(r.rubric, r.job.row.answer, g) for r, g in zip(resolved, grades, strict=True)]
    out = apply_critic(critic, items, workers, seen=seen, stop=lambda: streak.tripped)
    return resolved[: len(out)], out
