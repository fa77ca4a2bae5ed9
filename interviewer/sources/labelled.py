"""Labelled answers (human grades 0-5) from CSV or JSONL: the dev set and any set a user brings."""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, Field

from interviewer.domain.errors import InterviewerError
from interviewer.sources.references import REFERENCE_COLUMNS, ReferencesError, reference_answers
from interviewer.sources.tables import cell_text, cell_text_or_none, column_conflict, column_key, is_missing


class EvalInputError(InterviewerError, ValueError):
    pass


class LabelledRow(BaseModel):
    id: str
    line: int
    source: str
    answer: str
    grade: float
    question_id: str | None = None
    question: str | None = None
    reference_answer: str | None = None
    other_references: list[str] = Field(default_factory=list)  # reference_answer_2, …
    category: str = "uncategorized"


# The columns a labelled row is read from.
LABELLED_COLUMNS = ("id", "answer", "grade", "question_id", "question", "category", *REFERENCE_COLUMNS)
DATASET_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")

# The public sets, as `../shared/benchmarks` lays them out: each set's folder and file.
SEMEVAL_DIR, SEMEVAL_FILE = "semeval2013", "semeval2013.csv"
# Every reference answer of each question, with Beetle's category for it.
SEMEVAL_REFERENCES_FILE = "semeval2013_reference_answers.csv"
SAF_DIR, SAF_FILE = "saf", "saf_communication_networks_english.csv"
SNLI_DIR, SNLI_FILE = "snli_subset", "snli_1.0_dev_test_prefix.csv"


def check_dataset(path: Path) -> None:
    """A labelled file the eval can read at all: exists, is a file, has a known type."""
    if not path.exists():
        raise EvalInputError(f"{path}: no such file")
    if path.is_dir():
        raise EvalInputError(f"{path}: is a folder, not a file")
    if path.suffix.lower() not in DATASET_SUFFIXES:
        raise EvalInputError(f"{path}: unknown file type {path.suffix or '(none)'}; use .csv or .jsonl")


def _records(path: Path) -> list[tuple[int, dict]]:
    """Each row's fields under their names as written."""
    from interviewer.sources.files import read_text
    from interviewer.sources.tables import csv_records, jsonl_records

    check_dataset(path)
    text = read_text(path, EvalInputError)
    is_csv = path.suffix.lower() == ".csv"
    if is_csv:
        header, records = csv_records(text, name=str(path))
        if not header:
            expected = "answer, grade, question_id|question"
            raise EvalInputError(f"{path}: empty file; expected a header row with {expected}")
        conflict = column_conflict(header, LABELLED_COLUMNS)  # a row's dict has merged them already
        if conflict:
            raise EvalInputError(f"{path} line 1: {conflict}")
    rows: list[tuple[int, dict]] = []
    for number, data, problem in records if is_csv else jsonl_records(text):
        if problem:
            raise EvalInputError(f"{path} line {number}: {problem}")
        assert data is not None  # a row without a problem holds its fields
        conflict = None if is_csv else column_conflict(data, LABELLED_COLUMNS)
        if conflict:
            raise EvalInputError(f"{path} line {number}: {conflict}")
        rows.append((number, data))
    return rows


def _text(value: object) -> str | None:
    """A field as stripped text, None when absent or blank (a number id such as 12 becomes "12")."""
    text = None if isinstance(value, (dict, list)) else cell_text_or_none(value)
    return text.strip() if text else None


def load_labelled(paths: list[Path]) -> list[LabelledRow]:
    rows: list[LabelledRow] = []
    for path in paths:
        for number, written in _records(path):
            where = f"{path} line {number}"
            # Column names and JSON keys are matched as `interviewer grade` matches them (`column_key`).
            data = {column_key(k): v for k, v in written.items()}
            try:
                grade = float(data["grade"])
            except (KeyError, TypeError, ValueError):
                raise EvalInputError(f"{where}: needs a numeric `grade` 0–5") from None
            if not 0 <= grade <= 5 or math.isnan(grade):
                raise EvalInputError(f"{where}: grade {grade} is outside 0–5")
            question_id, question = _text(data.get("question_id")), _text(data.get("question"))
            try:
                references = reference_answers(written)  # a misnumbered column named as written
            except ReferencesError as exc:
                raise EvalInputError(f"{where}: {exc}") from None
            reference = references[0].strip() if references else None
            if not (question_id or question):
                raise EvalInputError(f"{where}: needs `question_id` or `question`")
            if reference and not question:
                raise EvalInputError(f"{where}: `reference_answer` needs the `question` text too")
            if "answer" not in data:
                raise EvalInputError(f"{where}: needs an `answer` field (it may be empty)")
            answer = data.get("answer")
            rows.append(
                LabelledRow(
                    id=_text(data.get("id")) or f"{path.stem}:{number}",
                    line=number,
                    source=str(path),
                    answer="" if is_missing(answer) else cell_text(answer),
                    grade=grade,
                    question_id=question_id,
                    question=question,
                    reference_answer=reference,
                    other_references=references[1:],
                    category=_text(data.get("category")) or "uncategorized",
                )
            )
    if not rows:
        raise EvalInputError(f"no labelled rows in {', '.join(map(str, paths))}")
    return rows


def dev_set_paths(evals_dir: Path) -> list[Path]:
    folder = evals_dir / "dev"
    paths = sorted(folder.glob("*.jsonl")) + sorted(folder.glob("*.csv"))
    if not paths:
        raise EvalInputError(f"no dev set in {folder}; expected *.jsonl files")
    return paths
