"""Parse markdown question banks into Questions.

One parser reads every seed format: numbered bold items under topic/level headings,
`### N. question` headings with `Answer:` lines, `## Question N: title` sections whose
answers are whole markdown blocks, and bare numbered lists under plain level lines.
It knows nothing of rubrics or grading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from interviewer.domain.errors import InterviewerError
from interviewer.domain.levels import normalize_level
from interviewer.sources.files import read_text

BANK_SUFFIXES = (".md", ".txt", ".markdown")


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_QUESTION_HEADING = re.compile(r"^(#{1,6})\s+Question\s+(\d+)\s*[:.)-]\s*(.+?)\s*$", re.I)
_NUMBERED_HEADING = re.compile(r"^(#{1,6})\s+(\d+)[.)]\s+(.+?)\s*$")
_NUMBERED_BOLD = re.compile(r"^\s{0,3}(\d+)[.)]\s+\*\*(.+?)\*\*\s*$")
_NUMBERED_BOLD_OPEN = re.compile(r"^\s{0,3}(\d+)[.)]\s+\*\*(.+?)\s*$")
_BARE_NUMBERED = re.compile(r"^\s{0,3}(\d+)[.)]\s+(.+?)\s*$")
_ANSWER_PREFIX = re.compile(r"^\s*(\*\*)?\s*(answer|ans|a)\s*[:.]\s*(\*\*)?\s*", re.I)
_RULE = re.compile(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$")
_LEVEL_LINE = re.compile(
    r"^\s*(?:#{1,6}\s*)?\**\s*(basic|beginner|easy|intermediate|medium|advanced|hard|expert)"
    r"(?:\s+(?:level|questions?))?\s*:?\s*\**\s*$",
    re.I,
)
_GENERIC_HEADING = re.compile(r"(questions?|topics covered|contents|table of contents|overview)\s*$", re.I)


class BankError(InterviewerError, ValueError):
    """A bank that cannot be parsed; the message names the file and line."""


class Question(BaseModel):
    id: str
    bank: str
    number: int
    line: int
    text: str
    topic: str | None = None
    difficulty: str | None = None
    answer: str | None = None

    @property
    def has_reference(self) -> bool:
        return bool(self.answer)


def bank_key(bank: str) -> str:
    """Short, stable prefix for question ids: the stem's first `_` segment."""
    return bank.split("_", 1)[0].lower() or bank.lower()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _clean_inline(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    return text.strip().strip("*").strip()


@dataclass
class _Draft:
    number: int
    line: int
    text: str
    topic: str | None
    difficulty: str | None
    section: str | None
    body: list[str] = field(default_factory=list)
    open_title: bool = False  # a bold title that continues on the next line


def _detect_style(lines: list[str]) -> str:
    if any(_QUESTION_HEADING.match(line) for line in lines):
        return "question-heading"
    if any(_NUMBERED_HEADING.match(line) for line in lines):
        return "numbered-heading"
    if any(_NUMBERED_BOLD.match(line) or _NUMBERED_BOLD_OPEN.match(line) for line in lines):
        return "numbered-bold"
    return "bare"


def _answer_text(body: list[str]) -> str | None:
    lines = [line for line in body if not _RULE.match(line)]
    # Drop the "Answer:" label, keeping any text that follows it on the same line.
    for i, line in enumerate(lines):
        if line.strip():
            lines[i] = _ANSWER_PREFIX.sub("", line, count=1) if _ANSWER_PREFIX.match(line) else line
            break
    text = "\n".join(line.rstrip() for line in lines)
    text = _dedent(text).strip()
    return text or None


def _dedent(text: str) -> str:
    rows = text.split("\n")
    indents = [len(r) - len(r.lstrip(" ")) for r in rows if r.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(r[cut:] if len(r) >= cut else r.lstrip() for r in rows)


def parse_bank(text: str, bank: str, source: str | None = None) -> list[Question]:
    """Parse one bank's text. `source` names the file in error messages."""
    where = source or bank
    lines = text.splitlines()
    style = _detect_style(lines)
    key = bank_key(bank)

    drafts: list[_Draft] = []
    current: _Draft | None = None
    topic: str | None = None
    difficulty: str | None = None
    section: str | None = None  # what resets numbering: the last structural heading
    question_depth = 0  # heading depth of question headings; deeper headings are answer content

    def start(number: int, line_no: int, title: str, open_title: bool = False) -> None:
        nonlocal current
        title = _clean_inline(title)
        if not title:
            raise BankError(f"bank file {where} line {line_no}: question {number} has no text")
        current = _Draft(number, line_no, title, topic, difficulty, section, open_title=open_title)
        drafts.append(current)

    def expected_next(number: int) -> bool:
        last = drafts[-1].number if drafts else 0
        if current is None or current.section != section:
            # after a new heading, numbering may restart at 1 or carry on from the last question
            return number in (1, last + 1)
        return number == current.number + 1

    for index, raw in enumerate(lines):
        line_no = index + 1
        stripped = raw.strip()

        if current is not None and current.open_title:
            # "12. **Title that wraps\n   onto the next line?**"
            tail = stripped
            current.text = _clean_inline(f"{current.text} {tail}")
            current.open_title = not tail.endswith("**")
            continue

        m = _QUESTION_HEADING.match(raw)
        if m and style == "question-heading":
            question_depth = len(m.group(1))
            start(int(m.group(2)), line_no, m.group(3))
            continue

        m = _NUMBERED_HEADING.match(raw)
        if m and style == "numbered-heading":
            question_depth = len(m.group(1))
            start(int(m.group(2)), line_no, m.group(3))
            continue

        heading = _HEADING.match(raw)
        if heading and not (question_depth and current and len(heading.group(1)) > question_depth):
            depth, title = len(heading.group(1)), _clean_inline(heading.group(2))
            level = _LEVEL_LINE.match(raw)
            if level:
                difficulty = normalize_level(level.group(1))
            elif depth >= 2:
                # "## Additional Questions" names no topic: questions under it get none
                topic = None if _GENERIC_HEADING.search(title) else title
                difficulty = None
            section = f"{line_no}:{title}"
            current = None
            continue

        level = _LEVEL_LINE.match(raw)
        if level and (current is None or not current.body or style == "bare"):
            difficulty = normalize_level(level.group(1))
            section = f"{line_no}:{level.group(1)}"
            current = None
            continue

        if style == "numbered-bold":
            m = _NUMBERED_BOLD.match(raw) or _NUMBERED_BOLD_OPEN.match(raw)
            if m and expected_next(int(m.group(1))):
                start(int(m.group(1)), line_no, m.group(2), open_title=not raw.rstrip().endswith("**"))
                continue

        m = _BARE_NUMBERED.match(raw)
        if m and not raw.startswith((" ", "\t")):
            number = int(m.group(1))
            # A bare numbered line is a question when it continues the question sequence and
            # the current question has no answer text yet; otherwise it is a list item of an answer.
            no_answer_yet = current is None or not any(b.strip() for b in current.body)
            if style == "bare" and expected_next(number):
                start(number, line_no, m.group(2))
                continue
            if style != "bare" and current is not None and no_answer_yet and number == current.number + 1:
                start(number, line_no, m.group(2))
                continue

        if current is not None:
            current.body.append(raw)

    if not drafts:
        raise BankError(
            f"bank file {where} line 1: no questions found; number them (`1. What is …?`), "
            "or use `### 1. …` / `## Question 1: …` headings"
        )

    questions: list[Question] = []
    seen: dict[str, int] = {}
    numbers_restart = len({d.number for d in drafts}) != len(drafts)
    for draft in drafts:
        if numbers_restart:
            qualifier = draft.difficulty or _slug(draft.topic or "") or "section"
            qid = f"{key}-{qualifier}-{draft.number:02d}"
        else:
            qid = f"{key}-{draft.number:02d}"
        if qid in seen:
            raise BankError(
                f"bank file {where} line {draft.line}: question number {draft.number} repeats the "
                f"one on line {seen[qid]}; renumber one of them"
            )
        seen[qid] = draft.line
        questions.append(
            Question(
                id=qid,
                bank=bank,
                number=draft.number,
                line=draft.line,
                text=draft.text,
                topic=draft.topic,
                difficulty=draft.difficulty,
                answer=_answer_text(draft.body),
            )
        )
    return questions


def bank_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix.lower() in BANK_SUFFIXES)


def load_corpus(corpus: Path) -> list[Question]:
    """Parse every bank in a folder; ids are checked unique across banks."""
    if not corpus.is_dir():
        raise BankError(f"corpus folder {corpus} does not exist; put markdown question banks there")
    files = bank_files(corpus)
    if not files:
        raise BankError(f"corpus folder {corpus} has no .md or .txt question banks")
    questions: list[Question] = []
    owners: dict[str, str] = {}
    for path in files:
        text = read_text(path, BankError, "bank")
        for question in parse_bank(text, path.stem, source=str(path)):
            if question.id in owners:
                raise BankError(
                    f"bank file {path} line {question.line}: question id {question.id} is also used by "
                    f"{owners[question.id]}; give the banks different name prefixes"
                )
            owners[question.id] = str(path)
            questions.append(question)
    return questions
