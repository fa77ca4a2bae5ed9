"""Rubric models and their reviewable YAML files (one file per bank under rubrics/).

A rubric holds, per question, the reference answer, weighted key points, misconceptions and
follow-ups. Text taken from a bank is marked `bank`; text we wrote is marked `authored`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from interviewer.domain.errors import InterviewerError
from interviewer.sources.bank import Question
from interviewer.sources.files import read_text, user_cache_dir

Source = Literal["bank", "authored"]
# "corrected": the bank has an answer but it states something false; the reference is ours, and
# `correction_note` says what the bank got wrong (a model answer must never teach a misconception).
ReferenceSource = Literal["bank", "authored", "corrected", "none"]

RUBRIC_FORMAT_VERSION = 1

# The topic taxonomy: every rubric has exactly one of these (README, "Topics and levels").
TOPICS: dict[str, str] = {
    "fundamentals": "neurons, layers, activations, loss functions, what deep learning is, transfer learning",
    "optimization": "gradient descent and its variants, backpropagation, learning rate, initialization, "
    "normalization, vanishing and exploding gradients",
    "regularization": "overfitting, dropout, weight penalties, early stopping, ensembles",
    "data": "preprocessing, augmentation, tokenization, imbalanced and missing data",
    "evaluation": "metrics, validation, error analysis, interpretability and visualization",
    "cnn": "convolutional networks: convolution, pooling, architectures, vision applications",
    "sequence-models": "RNNs, LSTMs, GRUs, attention in sequence-to-sequence models, sequence data",
    "transformers": "self-attention, the transformer architecture, large language models",
    "generative": "autoencoders, GANs and other generative models",
    "tooling": "frameworks, autograd, GPUs and hardware, monitoring and debugging training",
    "ml-system-design": "designing a model pipeline end to end, scaling, deployment constraints",
}

# A question that starts with one of these is an instruction ("Explain …"): it reads as a question.
_IMPERATIVES = frozenset(
    {
        "explain",
        "describe",
        "define",
        "compare",
        "contrast",
        "discuss",
        "design",
        "give",
        "list",
        "elaborate",
        "outline",
        "walk",
        "tell",
        "state",
        "propose",
        "suggest",
        "show",
        "name",
    }
)


def is_bare_title(question: str) -> bool:
    """A heading rather than a question ("Interpretability vs performance trade-off"): no question
    mark and no instruction verb, so it needs an `asked` form to be put to a candidate."""
    text = question.strip()
    first = text.split(maxsplit=1)[0].lower().strip("*_`") if text else ""
    return bool(text) and "?" not in text and first not in _IMPERATIVES


class RubricError(InterviewerError, ValueError):
    """A rubric file that cannot be read; the message names the file and what to fix."""


class KeyPoint(BaseModel):
    text: str = Field(min_length=3)
    weight: float = Field(default=1.0, gt=0, le=5)
    essential: bool = True
    source: Source = "authored"
    # Alternatives, derived from a marking scheme for an ad-hoc rubric only: points sharing `choice` are
    # options of which an answer needs `needed` ("name one downside" over four listed downsides). None:
    # a point every answer needs. Excluded from dumps, so rubric files and digests never change; a dump
    # read back loses them (ad-hoc rubrics are rebuilt from their question and reference, never read).
    choice: int | None = Field(default=None, exclude=True)
    needed: int = Field(default=1, ge=1, exclude=True)

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("key point text is empty")
        return value


class Misconception(BaseModel):
    claim: str = Field(min_length=3, description="the fluent but wrong claim, as a candidate says it")
    correction: str = Field(min_length=3, description="what is actually true")


class FollowUp(BaseModel):
    question: str = Field(min_length=3)
    probes: int = Field(ge=0, description="index of the key point this follow-up probes")


class Rubric(BaseModel):
    question_id: str
    bank: str
    question: str
    # The question as the interviewer asks it when `question` (the bank's text, which grading reads)
    # is a bare title; authored, kept by `rubrics build`.
    asked: str | None = None
    topic: str | None = None
    difficulty: str | None = None
    reference: str | None = None
    reference_source: ReferenceSource = "none"
    # Authored sentences stating the key points a bank's answer leaves implicit: the bank text stays
    # as the bank wrote it, and the model answer (what is graded against and shown) is both.
    reference_addendum: str | None = None
    correction_note: str | None = None
    key_points: list[KeyPoint] = Field(default_factory=list)
    misconceptions: list[Misconception] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    group: str | None = Field(default=None, description="concept group shared by duplicate questions")
    # Other acceptable answers to an ad-hoc question (a batch row's `reference_answer_2`, …, Beetle's
    # alternative references): an answer is graded against each and keeps its best grade. Not part of
    # a bank's rubric file.
    other_references: list[str] = Field(default_factory=list, exclude=True)

    @property
    def prompt(self) -> str:
        """What the candidate is asked: the `asked` form of a bare title, else the question itself."""
        return self.asked or self.question

    @property
    def has_reference(self) -> bool:
        return bool(self.reference) and self.reference_source != "none"

    @property
    def model_answer(self) -> str | None:
        """The full reference answer: the reference, then the addendum that completes it."""
        parts = [self.reference if self.has_reference else None, self.reference_addendum]
        return "\n\n".join(p.strip() for p in parts if p and p.strip()) or None


class RubricFile(BaseModel):
    format: int = RUBRIC_FORMAT_VERSION
    bank: str
    rubrics: list[Rubric]


# ---- deriving a first rubric from a bank question -------------------------------------------

_MD_NOISE = re.compile(r"(\*\*|__|`|\\\(|\\\)|^#+\s*)")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!e\.g\.)(?<!i\.e\.)(?<!\bvs\.)(?<!\bcf\.)\s+(?=[A-Z(])")
_FILLER = re.compile(
    r"(critical|essential|ideal|useful|common|crucial|key|important|used|vital) (for|in) "
    r"(tasks|applications|problems) like[^.]*\.?$",
    re.I,
)


# A list marker: "1.", "2)", "iv)", "b)", "(c)", or a bullet glyph (also "1.Text", as pasted from a PDF).
_MARKER = re.compile(
    r"^(\d+[.)](?=\s|[A-Za-z])|(i|ii|iii|iv|v|vi|vii|viii|ix|x|[a-h])\)|\([a-z0-9]{1,4}\)|[-*•●○◦▪▫·‣])\s*",
    re.I,
)
# A hard-wrapped line: long (a wrap, not a title such as "Key idea") and cut mid-sentence; the next line
# goes on in lower case.
_WRAP_MIN_CHARS = 40
_LINE_CONTINUES = re.compile(r"^[a-z(]")
# Sentences of a marking scheme addressed to its graders ("One of the following should be given",
# "0.5 P for a sensible choice", "… is also acceptable as a reason"): they say how to mark, not what is
# true, so no answer could state them, and as key points they would be missed by every answer. Each
# pattern names the marking, so that "more weight should be given to rare classes" stays a point.
_TO_GRADERS = re.compile(
    r"\b(one|any|two|three|four|\d+) of the following\b[^.]*\b(should|must|can|is|are)\b[^.]*"
    r"\b(given|mentioned|named|stated|considered|accepted|acceptable)\b"
    r"|\b(credit|marks?|points?|responses?|answers?) (should|can|will|may) (still )?be "
    r"(given|granted|awarded)\b"
    r"|\b(is|are) also (acceptable|accepted)\b"
    r"|\bsee the following\b[^.]*\b(correct|acceptable)\b"
    r"|(?-i:\b\d+(\.\d+)? ?P\b) for\b",
    re.I,
)


def _plain(text: str) -> str:
    return _MD_NOISE.sub("", text).strip(" -*•\t")


def _unmarked(line: str) -> str:
    """The line without its list markers ("4.i) text" → "text")."""
    while (stripped := _MARKER.sub("", line, count=1)) != line:
        line = stripped
    return line


def _unwrapped(lines: list[str]) -> list[str]:
    """Hard-wrapped text (pasted from a PDF or an e-mail) joined back into its lines: a line that
    ends mid-sentence and a next one that starts in lower case are one line."""
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        previous = out[-1].strip() if out else ""
        wrapped = (
            len(previous) >= _WRAP_MIN_CHARS
            and line
            and not previous.startswith(("|", "#", "```"))
            and not previous.endswith((".", "!", "?", ":", ";"))
            and _LINE_CONTINUES.match(line)
            and _MARKER.match(line) is None
        )
        if wrapped:
            out[-1] = f"{out[-1].rstrip()} {line}"  # keeping its indentation: it may mark a sub-item
        else:
            out.append(raw)
    return out


# "One of the following justifications should be given:" before a list: the list holds options.
_OPTIONS_CUE = re.compile(
    r"\b(one|any|two|three|four|five|\d+) of the following\b(?=[^.]*(\b(should|must|can|may|is|are|will)\b"
    r"[^.]*\b(given|mentioned|named|stated|accepted|acceptable|considered|correct|sufficient|enough)\b|"
    r"\b(accept|award|credit|marks?|points?)\b|:\s*$))",
    re.I,
)
# ... unless the list is what costs marks ("Deduct marks if any of the following is claimed:").
_NOT_OPTIONS = re.compile(r"\b(deduct|penali[sz]e|subtract|wrong|incorrect)", re.I)
_COUNTS = {"one": 1, "any": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a single": 1}
# What a question asks for, counted: "name one downside", "two benefits", "3 examples"; not "in 1-2
# sentences" or "one sentence each", which say how long, not how many.
_ASKING = re.compile(
    r"\b(name|list|state|give|describe|mention|explain|provide|identify|(what|which) are)\b", re.I
)
# A count right after the asking verb (or after "and" further on in its sentence): "name at least two
# causes", "give one advantage and one drawback". "the two modes" says how many there are, not a choice.
_ASKED_COUNT = re.compile(
    r"(?:\b(?:name|list|state|give|describe|mention|explain|provide|identify|are|and)\b)(?:\s+(?:and|or|me|"
    r"us|at|least|briefly|describe|explain|name|list|any)\b)*\s+(the\s+)?(one|two|three|four|five|a single|"
    r"[1-5])\b(?![-–]\w)(?!\s+(?:or|and|to|sentences?|words?|lines?|paragraphs?|minutes?)\b)"
    r"(?=\s+[a-z(]|\s*[.?!;]|\s*$)",
    re.I,
)
# A sentence cut off where a list begins: "The two modes and their drawbacks are".
_INTRODUCES = re.compile(r"\b(are|is|include|includes|as follows|the following|following)\s*:?\s*$", re.I)
# Numbered items ("1.", "2)") are parts of a bank answer; in a marking scheme they may be options too.
_NUMBERED = re.compile(r"^\(?\d+[.)]")
_MAX_OPTIONS = 8  # options kept per list
# Unmarked lines of one statement each, no longer than this, list items as bullets would (marker "line"):
# a list's items, not an explanation's sentences, which run longer.
_LINE = "line"
_LONE_WORDS = 15
_LINE_LIST_MIN = 3  # unmarked lines a set of options needs, unless the scheme says it holds options
_RUNS_ON = re.compile(
    r"(?:It|This|That|These|Those|They|Thus|Therefore|Hence|However|Then|Also|And|But|Because|Which)\b"
)
_LABEL_WORDS = 6  # a bullet this short ending in ":" names an option its first sub-item states
_SUB_GLYPHS = frozenset("○◦▪▫‣")
# A line of a few plain words over a list names what its items are ("Replication" over its downsides,
# "Drawbacks:" over the drawbacks): each item is read with it, or "Issue of scalability" says whose.
_LIST_LABEL = re.compile(r"^[A-Za-z][A-Za-z /&-]*:?$")
_LIST_LABEL_WORDS = 3
# … but not a line that only leads into the list ("These include:", "Such as:", "Answer:").
_NOT_LABEL = re.compile(
    r"^(such as|for (example|instance)|e\.?g|i\.?e|answers?|award\w*|any|one of|including|includes?|"
    r"notes?|hints?|examples?|solutions?|points?|marks?)\b",
    re.I,
)
# A line before a list, ending in ":", that offers its items as choices: "Possible challenges:",
# "Examples include:" (not "K-means is one example; it works as follows:").
_OFFERS = re.compile(r"\b(possible|possibilities|options|alternatives|examples)\b", re.I)

# A rubric's points as an answer is asked for them: each key point alone, or a set of alternatives
# (KeyPoint.choice) of which `needed` count.
PointSet = tuple[list[int], int]


def point_sets(points: Sequence[KeyPoint]) -> list[PointSet]:
    """The key points' indices grouped into the sets an answer is graded on, in rubric order."""
    sets: list[PointSet] = []
    where: dict[int, int] = {}
    for i, k in enumerate(points):
        if k.choice is None:
            sets.append(([i], 1))
            continue
        if k.choice not in where:
            where[k.choice] = len(sets)
            sets.append(([], k.needed))
        sets[where[k.choice]][0].append(i)
    return [(idx, max(1, min(needed, len(idx)))) for idx, needed in sets]


def _count(word: str) -> int:
    """ "two" → 2, "any" → 1, "4" → 4: a count as the patterns below capture it."""
    return _COUNTS.get(word.lower()) or int(word)


def asked_count(question: str) -> int | None:
    """The fewest items the question asks for by number ("name one downside for each" → 1), if any."""
    chosen = [n for n, choosing in asked_counts(question) if choosing]
    return min(chosen) if chosen else None


def asked_counts(question: str) -> list[tuple[int, bool]]:
    """Every count the question asks for, and whether it asks to choose ("name one downside") rather
    than says how many there are ("name the two modes"): → [(2, False), (1, True)]. Only in a sentence
    with an asking verb; ranges ("2-3"), compounds ("one-hot") and lengths ("one sentence") are not
    counts."""
    counts: list[tuple[int, bool]] = []
    for sentence in re.split(r"(?<=[.?!;])\s+", question):
        if _ASKING.search(sentence):
            for m in _ASKED_COUNT.finditer(sentence):
                counts.append((_count(m.group(2)), m.group(1) is None))
    return counts


@dataclass
class _Candidate:
    text: str
    listed: int | None = None  # the list (under one heading) this bullet belongs to
    needed: int | None = None  # how many of that list the scheme itself asks for ("one of the following")
    sentences: tuple[str, ...] = ()  # a bullet's points when its list turns out not to hold options
    opens: bool = False  # its line ends in ":", so items marked otherwise below it are its sub-items
    subs: tuple[str, ...] = ()  # its sub-items ("○ P(B) = 0.6³ · 0.4³" under "● A correct calculation")
    numbered: bool = False  # an item of a numbered list ("1.", "2)")
    offered: bool = False  # its list follows a line that offers choices ("Possible challenges:")
    named: bool = False  # a label that took its first sub-item's words ("Protocols: TCP")
    label: str = ""  # what its list's items are, from the line above the list ("Drawbacks")
    unmarked: bool = False  # an item of a list of unmarked lines (_LINE)

    def labelled(self, text: str) -> str:
        """`text` (this option or its sub-item) read with its list's label: an option stands alone in
        the rubric, away from the line that said whose it is."""
        if not self.label or not text or re.search(rf"\b{re.escape(self.label)}\b", text, re.I):
            return text
        return f"{self.label}: {text}"


def _option_sets(candidates: list[_Candidate], asked: list[tuple[int, bool]]) -> list[_Candidate]:
    """Lists that hold more options than an answer needs stay sets: `needed` from the scheme's own cue,
    else the fewest the question asks for, and only for a list longer than every count it asks for
    ("name the two modes and one downside of each": a list of two modes is two points, a list of four
    downsides is one set). A numbered list is a set by the question's count only where the line
    before it offers choices ("Possible challenges:"): numbered steps are otherwise one answer's
    parts. Any other list is a list of points, all needed, read sentence by sentence as before."""

    def is_option(c: _Candidate) -> bool:
        # A one-word item that opens sub-items is no option ("● Flexibility:" with nothing under it)…
        return len(c.text.split()) >= 2 or not c.opens

    options = [c for c in candidates if c.listed is None or is_option(c)]
    sizes: dict[int, int] = {}
    for c in options:
        if c.listed is not None:
            sizes[c.listed] = sizes.get(c.listed, 0) + 1
    # Unmarked lines that run on from each other ("It prevents …", "This is why …") are an
    # explanation written a sentence a line, not a list.
    starts = {c.listed: c for c in reversed(options) if c.unmarked}  # each list's first line
    prose = {c.listed for c in options if c.unmarked and c is not starts[c.listed] and _RUNS_ON.match(c.text)}
    chosen = [n for n, choosing in asked if choosing]

    def needed_of(c: _Candidate) -> int | None:
        assert c.listed is not None
        longer = bool(asked) and sizes[c.listed] > max(n for n, _ in asked)
        # Two unmarked lines are more often two parts of one answer ("Advantage: …", "Disadvantage: …").
        enough = not c.unmarked or (sizes[c.listed] >= _LINE_LIST_MIN and c.listed not in prose)
        by_question = chosen and longer and enough and (c.offered or not c.numbered)
        needed = c.needed or (min(chosen) if by_question else None)
        return None if needed is None or sizes[c.listed] <= needed else needed

    sets = {c.listed: needed for c in options if c.listed is not None and (needed := needed_of(c))}
    # Labels tell sets apart ("Replication" / "Partitioning" over their downsides); over one set
    # alone they add nothing an answer would say ("Common methods: Dropout" missed "use dropout").
    labelled = len({c.listed for c in options if c.listed in sets and c.label}) >= 2

    def read(c: _Candidate, text: str) -> str:
        return c.labelled(text) if labelled else text

    out: list[_Candidate] = []
    for c in candidates:
        if c.listed is None:
            out.append(c)
        elif c.listed in sets:
            if not is_option(c):
                continue
            out.append(_Candidate(read(c, c.text), c.listed, sets[c.listed]))
            if sets[c.listed] == 1:  # any one counts, so a sub-item counts as its item would
                out.extend(_Candidate(read(c, t), c.listed, 1) for t in c.subs)
        else:
            # … but in a list of points, an item too short to be a sentence ("- Dropout", "- Early
            # stopping") is a point all the same.
            out.extend(_Candidate(t) for t in c.sentences or ((c.text,) if c.text else ()))
    return out


def derive_key_points(reference: str, limit: int = 7, question: str | None = None) -> list[KeyPoint]:
    """Key points from a bank answer (or a pasted reference or marking scheme): its bullets, table
    rows and sentences, in order, with hard wraps joined and sentences addressed to graders left out.

    Code blocks are skipped (they illustrate, they are not claims); a trailing
    "… for tasks like X" flourish is dropped because no answer should be graded on it.

    With the `question` (ad-hoc rubrics), a list of bullets that offers more options than an answer
    needs becomes one set of alternatives (`choice`): the scheme says how many ("one of the following
    … should be given"), or the question does ("name one downside for each" over four listed
    downsides). A set counts as one of the `limit` points.
    """
    candidates = _candidates(reference, alternatives=question is not None)
    if question is not None:
        candidates = _option_sets(candidates, asked_counts(question))
    points: list[KeyPoint] = []
    seen: set[str] = set()
    sets: dict[int, int] = {}  # list → its choice number
    for c in candidates:
        norm = c.text.lower()
        if norm in seen:
            continue
        seen.add(norm)
        if c.listed is None:
            if _point_count(points) >= limit:
                break
            points.append(KeyPoint(text=c.text, source="bank", essential=_point_count(points) < 3))
            continue
        if c.listed not in sets:
            if _point_count(points) >= limit:
                break
            sets[c.listed] = len(sets)
        choice = sets[c.listed]
        if _set_sizes(points).get(choice, 0) >= _MAX_OPTIONS:
            continue
        first = next((k for k in points if k.choice == choice), None)
        essential = first.essential if first else _point_count(points) < 3
        points.append(
            KeyPoint(text=c.text, source="bank", essential=essential, choice=choice, needed=c.needed or 1)
        )
    # A set left no longer than what it needs (repeated options removed) is points, all needed.
    sizes = _set_sizes(points)
    points = [
        k
        if k.choice is None or sizes[k.choice] > k.needed
        else k.model_copy(update={"choice": None, "needed": 1})
        for k in points
    ]
    while _point_count(points) > limit:
        points.pop()
    return points


def _set_sizes(points: list[KeyPoint]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for k in points:
        if k.choice is not None:
            sizes[k.choice] = sizes.get(k.choice, 0) + 1
    return sizes


def _point_count(points: list[KeyPoint]) -> int:
    """Points as an answer is asked for them: a set of alternatives is one."""
    return len(point_sets(points))


def _candidates(reference: str, alternatives: bool) -> list[_Candidate]:
    """The reference's bullets, table rows and sentences, in order; with `alternatives`, each bullet
    is one candidate marked with the list it belongs to."""
    candidates: list[_Candidate] = []
    in_code = False
    header: list[str] | None = None
    listed: int | None = None  # the list the current bullets belong to
    first = ""  # how that list's first item is marked: a glyph, "number", "letter" or _LINE
    indent = 0  # and how far it is indented
    sub: tuple[str, int] | None = None  # how the sub-items of its last item are marked, and indented
    offered = False  # the last line that was not an item offers choices ("Possible challenges:")
    lists = 0
    needed: int | None = None  # the count an "N of the following" cue set for the next list
    heading = ""  # the label the last line that was not an item gave the next list
    list_label = ""  # the current list's label
    list_offered = False  # whether the line before the current list offered choices
    lines = _unwrapped(reference.splitlines())
    for n, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith("```"):
            in_code = not in_code
            listed, offered, heading = None, False, ""
            continue
        if in_code or not line:
            continue
        if line.startswith("#"):  # a heading ends a list, and may name the next one's items
            listed, needed, offered = None, None, False
            heading = _list_label(line.lstrip("#").strip()) if alternatives else ""
            continue
        if line.startswith("|"):
            listed, offered, heading = None, False, ""
            cells = [_plain(c) for c in line.strip("|").split("|")]
            if _TABLE_SEPARATOR.match(line.replace(" ", "")):
                continue
            if header is None:
                header = cells
                continue
            label, rest = cells[0], [c for c in cells[1:] if c]
            if label and rest:
                pairs = [f"{h}: {c}" for h, c in zip(header[1:], rest, strict=False) if h] or rest
                candidates.append(_Candidate(f"{label} — " + "; ".join(pairs)))
            continue
        header = None
        marker = _item_marker(line) if alternatives else None
        if marker is not None:
            # sentence by sentence: a bullet keeps what it states when it also says how to mark
            kept = [t for t in _SENTENCE_END.split(_plain(_unmarked(line))) if not _TO_GRADERS.search(t)]
            text = _FILLER.sub("", " ".join(kept)).strip().rstrip(":").strip()
            depth = _indent(raw)
            # An unmarked line has no sub-items: bullets under one are a list of their own.
            parent = candidates[-1] if candidates and listed is not None and first != _LINE else None
            if (
                parent is not None
                and parent.listed == listed
                and (sub == (marker, depth) or _is_sub_item(marker, depth, first, indent, parent))
            ):
                # "● Increased flexibility:" then "1. Routing logic can be updated on the fly": one option
                words = len(parent.text.split())
                names_it = (parent.opens and words <= _LABEL_WORDS) or words < 2
                if text and names_it and not parent.subs:
                    parent.text = f"{parent.text}: {text}" if parent.text else text
                    parent.opens, parent.named = False, True
                elif parent.named and len(text.split()) == 1:  # too short to stand alone: a member's name
                    parent.text = f"{parent.text}, {text}"  # "Protocols: TCP" then "○ UDP": "…: TCP, UDP"
                elif len(text.split()) >= 2:
                    parent.subs += (text,)
                parent.sentences += tuple(_sentences(line))
                sub = (marker, depth)
                continue
            sub = None
            if listed is None or _family(marker) != _family(first):  # "1." after "●" starts another list
                if listed is not None:
                    needed = None  # a cue counts for the list right after it
                lists += 1
                listed, first, indent = lists, marker, depth
                list_label, heading = heading, ""
                list_offered, offered = offered, False  # for this list, not a later one
            candidates.append(
                _Candidate(
                    text,
                    listed,
                    needed,
                    tuple(_sentences(line)),
                    opens=line.endswith(":"),
                    numbered=marker == "number",
                    offered=list_offered,
                    label=list_label,
                )
            )
            continue
        following = next((later for later in lines[n + 1 :] if later.strip()), None) if alternatives else None
        if (
            alternatives
            and listed is not None
            and first != _LINE
            and _remark_within(line, following, first, indent)
        ):
            # "● Training personnel." then "All these will cost …" then "● Security concerns": the
            # remark is its item's, and the list goes on (it was a point every answer had to make).
            candidates[-1].sentences += tuple(_sentences(line))
            continue
        statement = _lone_statement(line, following) if alternatives else None
        if statement is not None:
            # One statement a line is how a scheme pasted without bullets lists its items ("To reduce
            # routing tables." then "To increase security."): its lines are a list, read as bullets.
            if listed is None or first != _LINE:
                if listed is not None:
                    needed = None
                lists += 1
                listed, first, indent = lists, _LINE, 0
                list_label, heading = heading, ""
                list_offered, offered = offered, False  # for this list, not a later one
            sub = None
            candidates.append(
                _Candidate(
                    statement,
                    listed,
                    needed,
                    (statement,),
                    offered=list_offered,
                    label=list_label,
                    unmarked=True,
                )
            )
            continue
        if alternatives:  # any other line that is not a bullet ends the list; a cue sets the next one's count
            listed = None
            heading = _list_label(line)
            offered = line.endswith(":") and bool(_OFFERS.search(line))
            cue = None if _NOT_OPTIONS.search(line) else _OPTIONS_CUE.search(line)
            needed = _count(cue.group(1)) if cue else None
        sentences = _sentences(line)
        if alternatives:  # "… and their drawbacks are:" introduces what follows; it states nothing
            sentences = [t for t in sentences if not _INTRODUCES.search(t)]
            if line.endswith(":") and sentences and sentences[-1].lower().startswith("the following"):
                sentences.pop()  # "The following are the tasks of the controller:" too
        candidates.extend(_Candidate(sentence) for sentence in sentences)
    return candidates


def _list_label(line: str) -> str:
    """The label a line gives the list below it ("Drawbacks:" → "Drawbacks"), if it is one: a few
    plain words that neither offer choices ("Possible challenges:") nor begin a sentence."""
    line = _plain(line)  # "**Replication:**" too
    if not _LIST_LABEL.match(line) or len(line.split()) > _LIST_LABEL_WORDS or _OFFERS.search(line):
        return ""
    if _INTRODUCES.search(line) or _NOT_LABEL.match(line):
        return ""
    return line.rstrip(":").strip()


def _item_marker(line: str) -> str | None:
    """How a list item is marked (its glyph, "number" or "letter"), or None for a line that is not
    one. In a marking scheme numbered items may be options too ("Possible challenges: 1. … 2. …")."""
    if _is_option(line):
        marker = _MARKER.match(line)
        assert marker is not None
        glyph = marker.group(0).strip()
        return glyph if len(glyph) == 1 and not glyph.isalnum() else "letter"
    return "number" if _NUMBERED.match(line) and _MARKER.match(line) else None


def _family(marker: str) -> str:
    """Bullets are one family whatever their glyph ("-", "*", "●"); numbers, letters and unmarked lines
    are others."""
    return marker if marker in ("number", "letter", _LINE) else "bullet"


def _indent(raw: str) -> int:
    """How far a line is indented, a tab as four spaces."""
    spaced = raw.expandtabs(4)
    return len(spaced) - len(spaced.lstrip())


def _remark_within(line: str, following: str | None, first: str, indent: int) -> bool:
    """Whether an unmarked line is a remark inside a list: a sentence ("All these will cost …") whose
    `following` line (the next that is not blank, as written) is an item of that list (marked as its
    first item, as far indented).
    A line that leads into what follows ("Drawbacks:", "One of the following should be given") or
    heads it ("**Mode 2**", "Partitioning (sharding)") ends the list."""
    bold = line.startswith("**") and line.rstrip(":").endswith("**")  # a heading
    sentence = _plain(line).rstrip(")\"'*_”’ ").endswith((".", "!", "?")) and not bold and _sentences(line)
    if not sentence or _OPTIONS_CUE.search(line) or _NOT_OPTIONS.search(line):
        return False
    if following is None:
        return False
    marker = _item_marker(following.strip())
    return marker is not None and _family(marker) == _family(first) and _indent(following) == indent


def _lone_statement(line: str, following: str | None) -> str | None:
    """The one statement a short unmarked line makes ("To increase security."), or None for a line of
    several sentences, a long one, a lead-in ("… are:") or a label over a list (`following`, the next
    line that is not blank, an item: "Replication drawbacks" then "● …")."""
    if line.endswith(":") or len(_SENTENCE_END.split(_plain(line))) > 1:
        return None
    if _list_label(line) and following is not None and _item_marker(following.strip()):
        return None
    sentences = _sentences(line)
    if len(sentences) != 1 or len(sentences[0].split()) > _LONE_WORDS or _INTRODUCES.search(sentences[0]):
        return None
    return sentences[0]


def _is_sub_item(marker: str, depth: int, first: str, indent: int, parent: _Candidate) -> bool:
    """Whether an item is a sub-item of the one before it: indented further than its list's first
    item, in a glyph that marks sub-items ("○" under "●"), or marked otherwise under an item that
    ends in ":" ("● Security concerns:" then "○ …", "3. Medium access:" then "i) …")."""
    return (
        depth > indent
        or (marker in _SUB_GLYPHS and first not in _SUB_GLYPHS)
        or (parent.opens and _family(marker) != _family(first))
    )


def _sentences(line: str) -> list[str]:
    """A line's sentences that can be points: three words or more, not addressed to graders."""
    out = []
    for sentence in _SENTENCE_END.split(_plain(_unmarked(line))):
        sentence = _FILLER.sub("", sentence).strip().rstrip(":").strip()
        if len(sentence.split()) >= 3 and not _TO_GRADERS.search(sentence):
            out.append(sentence)
    return out


def _is_option(line: str) -> bool:
    """A bulleted or lettered list item: numbered ones ("1.", "(2)") are parts of one answer, and a
    bold line ("**Dropout**") is a heading, not a "*" bullet."""
    if _NUMBERED.match(line) or (line.startswith("**") and line.rstrip(":").endswith("**")):
        return False
    marker = _MARKER.match(line)
    # "* item", "- item" and "-item" (pasted from a PDF), not "*italic*" or "-1 is negative"
    return marker is not None and (
        line[0] not in "-*" or line[1:2].isspace() or (line[0] == "-" and line[1:2].isalpha())
    )


def rubric_from_question(question: Question) -> Rubric:
    reference = question.answer
    return Rubric(
        question_id=question.id,
        bank=question.bank,
        question=question.text,
        topic=question.topic,
        difficulty=question.difficulty,
        reference=reference,
        reference_source="bank" if reference else "none",
        key_points=derive_key_points(reference) if reference else [],
    )


def merge_rubric(question: Question, existing: Rubric | None) -> Rubric:
    """Refresh a rubric from its bank question, keeping everything we authored.

    Bank text is re-read (the bank may have been edited); authored references, key points,
    misconceptions, follow-ups and groups survive a rebuild. Key points drawn from an unchanged bank
    answer are kept as reviewed (their wording, weights and `essential` marks are authoring too); only
    when the bank's answer itself changed are they derived again, and then authored points are kept
    first and the derived ones fill the remaining room (7 in all).
    """
    fresh = rubric_from_question(question)
    if existing is None:
        return fresh
    merged = existing.model_copy(deep=True)
    merged.bank, merged.question = question.bank, question.text
    merged.topic = existing.topic or question.topic
    merged.difficulty = question.difficulty or existing.difficulty
    authored = [k for k in existing.key_points if k.source == "authored"]
    if question.answer and existing.reference_source == "corrected":
        pass  # our correction of a wrong bank answer stands until a reviewer retires it
    elif question.answer:
        unchanged = existing.reference == question.answer and existing.reference_source == "bank"
        merged.reference, merged.reference_source = question.answer, "bank"
        if not (unchanged and existing.key_points):
            room = max(0, 7 - len(authored))
            merged.key_points = fresh.key_points[:room] + authored
    elif existing.reference_source == "bank":
        merged.reference, merged.reference_source = None, "none"
        merged.key_points = [k for k in existing.key_points if k.source == "authored"]
    return merged


# ---- files ------------------------------------------------------------------------------------


def rubric_path(folder: Path, bank: str) -> Path:
    return folder / f"{bank}.yaml"


@functools.cache
def _literal_dumper() -> Any:
    """A SafeDumper writing multi-line strings as | blocks (built on first use: yaml is imported only
    when a file is written or parsed, not when its parse is cached)."""
    import yaml

    class LiteralDumper(yaml.SafeDumper):
        pass

    def str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    LiteralDumper.add_representer(str, str_presenter)
    return LiteralDumper


def dump_rubric_file(rubric_file: RubricFile) -> str:
    # Groups live in concepts.yaml, one place for all banks, so they cannot disagree.
    data = rubric_file.model_dump(mode="json", exclude={"rubrics": {"__all__": {"group"}}})
    for rubric in data["rubrics"]:
        for optional in ("asked", "reference_addendum", "correction_note"):  # most rubrics have none
            if rubric.get(optional) is None:
                rubric.pop(optional, None)
    import yaml

    return yaml.dump(data, Dumper=_literal_dumper(), sort_keys=False, allow_unicode=True, width=100)


def save_rubrics(folder: Path, rubrics: list[Rubric]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    by_bank: dict[str, list[Rubric]] = {}
    for rubric in rubrics:
        by_bank.setdefault(rubric.bank, []).append(rubric)
    paths = []
    for bank, items in sorted(by_bank.items()):
        path = rubric_path(folder, bank)
        path.write_text(dump_rubric_file(RubricFile(bank=bank, rubrics=items)), encoding="utf-8")
        paths.append(path)
    return paths


def _line_of(text: str, question_id: str) -> int:
    pattern = re.compile(rf"question_id:\s*['\"]?{re.escape(question_id)}['\"]?\s*$")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return 1


def _read(path: Path, kind: str) -> str:
    return read_text(path, RubricError, kind)


def _parse_cache_dir() -> Path | None:
    if os.environ.get("INTERVIEWER_NO_PARSE_CACHE"):
        return None
    return user_cache_dir() / "parsed-yaml"


class _NotYaml(ValueError):
    """Text that is not valid YAML, with the 1-based line the parser stopped at."""

    def __init__(self, line: int, kind: str) -> None:
        super().__init__(f"line {line}: {kind}")
        self.line, self.kind = line, kind


def _yaml_load(text: str) -> object:
    import yaml

    # The C loader parses the 150 rubrics ~5x faster: it is on the path to the first practice question.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _NotYaml(mark.line + 1 if mark else 1, exc.__class__.__name__) from None


def _parse_yaml(text: str) -> object:
    """yaml.load, through a cache of parsed files keyed by their content's hash: parsing the five
    rubric files takes 0.2 s even with libyaml, reading their JSON 0.01 s, and `questions` and every
    practice session start by reading them. A changed file has a new hash, so nothing goes stale."""
    folder = _parse_cache_dir()
    cached = folder / f"{hashlib.sha256(text.encode()).hexdigest()}.json" if folder else None
    if cached is not None:
        try:
            return json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    data = _yaml_load(text)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            partial.replace(cached)  # atomic: a reader never sees half a file
        except (OSError, TypeError, ValueError):  # read-only cache, or a value JSON cannot hold
            pass
    return data


def load_rubric_file(path: Path) -> RubricFile:
    text = _read(path, "rubric")
    try:
        data = _parse_yaml(text)
    except _NotYaml as exc:
        raise RubricError(f"rubric file {path} line {exc.line}: not valid YAML ({exc.kind})") from None
    if not isinstance(data, dict):
        raise RubricError(f"rubric file {path} line 1: expected a mapping with `bank` and `rubrics`")
    try:
        return RubricFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = list(error["loc"])
        line = 1
        if len(loc) >= 2 and loc[0] == "rubrics" and isinstance(loc[1], int):
            items = data.get("rubrics") or []
            if loc[1] < len(items) and isinstance(items[loc[1]], dict):
                line = _line_of(text, str(items[loc[1]].get("question_id")))
        where = ".".join(str(p) for p in loc)
        raise RubricError(f"rubric file {path} line {line}: {where}: {error['msg']}") from None


CONCEPTS_FILE = "concepts.yaml"


class ConceptGroup(BaseModel):
    title: str
    members: list[str] = Field(min_length=2)


class ConceptsFile(BaseModel):
    format: int = RUBRIC_FORMAT_VERSION
    groups: dict[str, ConceptGroup] = Field(default_factory=dict)


def load_concepts(folder: Path) -> ConceptsFile:
    """Duplicate-concept groups (rubrics/concepts.yaml); none when the file is absent."""
    path = folder / CONCEPTS_FILE
    if not path.exists():
        return ConceptsFile()
    text = _read(path, "concepts")
    try:
        data = _parse_yaml(text) or {}
        return ConceptsFile.model_validate(data)
    except _NotYaml as exc:
        raise RubricError(f"concepts file {path} line {exc.line}: not valid YAML") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise RubricError(f"concepts file {path}: {where}: {error['msg']}") from None


def rubric_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.name != CONCEPTS_FILE)


def load_rubrics(folder: Path) -> list[Rubric]:
    """Every rubric in the folder, each with its concept group (from concepts.yaml) filled in."""
    if not folder.is_dir():
        raise RubricError(f"rubric folder {folder} does not exist; run `interviewer rubrics build`")
    rubrics: list[Rubric] = []
    for path in rubric_files(folder):
        rubrics.extend(load_rubric_file(path).rubrics)
    if not rubrics:
        raise RubricError(f"rubric folder {folder} holds no rubrics; run `interviewer rubrics build`")
    group_of = {qid: name for name, group in load_concepts(folder).groups.items() for qid in group.members}
    for rubric in rubrics:
        rubric.group = group_of.get(rubric.question_id)
    return rubrics


def content_hash(rubrics: list[Rubric]) -> str:
    payload = json.dumps([r.model_dump(mode="json") for r in rubrics], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
