"""A row's reference answers: `reference_answer`, then other acceptable answers in numbered columns.

A question often has more than one acceptable answer (a marking scheme's "or", Beetle's BEST, GOOD
and MINIMAL references). A row gives them as `reference_answer`, `reference_answer_2`, … (the same
columns in CSV, JSONL and Parquet); the answer is graded against each and keeps its best grade.
"""

from __future__ import annotations

import re

from interviewer.sources.tables import cell_text_or_none, column_key

REFERENCE = "reference_answer"
MAX_REFERENCES = 16  # each one is another grading of the answer
NUMBERED_REFERENCES = tuple(f"{REFERENCE}_{n}" for n in range(2, MAX_REFERENCES + 1))
REFERENCE_COLUMNS = (REFERENCE, *NUMBERED_REFERENCES)
_NUMBERED_LIKE = re.compile(rf"{REFERENCE}_\d+")


class ReferencesError(ValueError):
    """Reference answers that cannot be read; the message says which column and what to do."""


def _text(value: object, column: str) -> str | None:
    if isinstance(value, (list, tuple, dict)):
        raise ReferencesError(
            f"`{column}` must be text; give other acceptable answers as "
            f"`{NUMBERED_REFERENCES[0]}`, `{NUMBERED_REFERENCES[1]}`, …"
        )
    return cell_text_or_none(value)


def reference_answers(data: dict) -> list[str]:
    """The row's reference answers, `reference_answer` first, then the numbered ones in order; blank
    cells (a CSV row with fewer alternatives than its header) and repeats are left out. `data`'s keys
    are column names as the file writes them (matched by `column_key`), so that a misnumbered one is
    named so (`Reference_Answer_17`)."""
    return [text for _, text in named_reference_answers(data)]


def named_reference_answers(data: dict) -> list[tuple[str, str]]:
    """`reference_answers`, each with the column it came from (a repeat keeps the first one's)."""
    unknown = unknown_reference_columns([k for k in data if k is not None])
    if unknown:
        raise ReferencesError(unknown_column_message(unknown[0]))
    data = {column_key(k): v for k, v in data.items() if k is not None}
    first = _text(data.get(REFERENCE), REFERENCE)
    given = [(c, text) for c in NUMBERED_REFERENCES if c in data and (text := _text(data[c], c))]
    if given and first is None:
        raise ReferencesError(f"`{given[0][0]}` needs `{REFERENCE}` too (the first reference answer)")
    seen: set[str] = set()
    out = []
    for column, text in ([(REFERENCE, first)] if first else []) + given:
        spaced = " ".join(text.split())  # a repeat that differs only in spacing is the same answer
        if spaced not in seen:
            seen.add(spaced)
            out.append((column, text))
    return out


def unknown_column_message(column: str) -> str:
    return (
        f"unknown column `{column}`: other acceptable answers go in `{NUMBERED_REFERENCES[0]}` "
        f"… `{NUMBERED_REFERENCES[-1]}` (at most {MAX_REFERENCES} reference answers)"
    )


def unknown_reference_columns(columns: list[str]) -> list[str]:
    """Columns named like a numbered reference answer that is not one (`reference_answer_17`, `_02`),
    as the header writes them."""
    return [
        str(c).strip()
        for c in columns
        if _NUMBERED_LIKE.fullmatch(key := column_key(c)) and key not in NUMBERED_REFERENCES
    ]
