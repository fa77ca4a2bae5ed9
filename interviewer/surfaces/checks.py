"""`interviewer rubrics check`: every rubric valid, complete and consistent with the banks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.domain.levels import LEVELS
from interviewer.grading.text import injection_reason, units, words
from interviewer.sources.bank import Question
from interviewer.sources.rubric import (
    TOPICS,
    RubricError,
    is_bare_title,
    load_concepts,
    load_rubric_file,
    rubric_files,
)

KEY_POINTS = (3, 7)
MISCONCEPTIONS = (1, 3)
FOLLOW_UPS = (1, 3)


@dataclass
class BankTally:
    rubrics: int = 0
    reference_bank: int = 0
    reference_authored: int = 0
    reference_corrected: int = 0
    reference_none: int = 0
    points_bank: int = 0
    points_authored: int = 0
    misconceptions: int = 0
    follow_ups: int = 0
    grouped: int = 0


@dataclass
class CheckReport:
    banks: dict[str, BankTally] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(t.rubrics for t in self.banks.values())

    def table(self):
        from rich.table import Table

        table = Table(
            "bank",
            "rubrics",
            "ref: bank",
            "ref: authored",
            "of which corrected",
            "no ref",
            "points: bank",
            "points: authored",
            "misconceptions",
            "follow-ups",
            "in groups",
            box=None,
        )
        for bank, t in sorted(self.banks.items()):
            counts = (
                t.rubrics,
                t.reference_bank,
                t.reference_authored,
                t.reference_corrected,
                t.reference_none,
                t.points_bank,
                t.points_authored,
                t.misconceptions,
                t.follow_ups,
                t.grouped,
            )
            table.add_row(bank, *map(str, counts))
        return table


def _label_problems(where: str, rubric) -> list[str]:
    """One topic from the taxonomy, a level, and a question form for a bare title."""
    problems = []
    if rubric.topic not in TOPICS:
        problems.append(
            f"{where}: topic {rubric.topic!r} is not in the taxonomy ({', '.join(TOPICS)}); "
            "see interviewer/rubric.py TOPICS and the README"
        )
    if rubric.difficulty not in LEVELS:
        problems.append(f"{where}: difficulty {rubric.difficulty!r}: set one of {', '.join(LEVELS)}")
    if rubric.asked is not None and not rubric.asked.strip().endswith("?"):
        problems.append(f"{where}: `asked` must be a question ending with '?': {rubric.asked[:60]!r}")
    elif rubric.asked is None and is_bare_title(rubric.question):
        problems.append(
            f"{where}: the question is a bare title ({rubric.question[:50]!r}); add `asked:`, "
            "the question as the interviewer should ask it"
        )
    return problems


def _within(n: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= n <= bounds[1]


def check_rubrics(questions: list[Question], folder: Path) -> CheckReport:
    report = CheckReport()
    by_id = {q.id: q for q in questions}
    seen: dict[str, str] = {}
    try:
        concepts = load_concepts(folder)
    except RubricError as exc:
        report.problems.append(str(exc))
        concepts = None
    grouped = {qid for g in (concepts.groups.values() if concepts else []) for qid in g.members}

    for path in rubric_files(folder):
        try:
            rubric_file = load_rubric_file(path)
        except RubricError as exc:
            report.problems.append(str(exc))
            continue
        for rubric in rubric_file.rubrics:
            where = f"{path.name}: {rubric.question_id}"
            tally = report.banks.setdefault(rubric.bank, BankTally())
            tally.rubrics += 1
            if rubric.question_id in seen:
                report.problems.append(f"{where}: also in {seen[rubric.question_id]}")
            seen[rubric.question_id] = path.name
            question = by_id.get(rubric.question_id)
            if question is None:
                report.problems.append(
                    f"{where}: no such question in corpus/ (stale rubric; run `rubrics build`)"
                )
                continue
            if rubric.bank != rubric_file.bank or rubric.bank != question.bank:
                report.problems.append(f"{where}: bank {rubric.bank!r} disagrees with its file or corpus")
            if rubric.question != question.text:
                report.problems.append(f"{where}: question text differs from the bank; run `rubrics build`")
            report.problems += _label_problems(where, rubric)
            if rubric.reference_source == "bank" and rubric.reference != question.answer:
                report.problems.append(f"{where}: reference marked `bank` but differs from the bank's answer")
            if question.answer and rubric.reference_source not in ("bank", "corrected"):
                report.problems.append(
                    f"{where}: the bank has an answer; the reference must be it, marked `bank` "
                    "(or our correction of it, marked `corrected`, with a `correction_note`)"
                )
            if rubric.reference_source == "corrected" and not (question.answer and rubric.correction_note):
                report.problems.append(
                    f"{where}: a `corrected` reference needs a bank answer to correct and a `correction_note`"
                )
            if not rubric.has_reference:
                report.problems.append(f"{where}: no reference answer")
            for unit in units(rubric.model_answer or ""):
                if reason := injection_reason(unit):
                    report.problems.append(
                        f"{where}: the reference reads as text addressed to the grader ({reason}): "
                        f"{unit[:60]!r}; reword it, or narrow the detector in interviewer/text.py"
                    )
            if rubric.reference_source == "bank":
                tally.reference_bank += 1
            elif rubric.reference_source in ("authored", "corrected"):
                tally.reference_authored += 1
                tally.reference_corrected += rubric.reference_source == "corrected"
            else:
                tally.reference_none += 1
            if not _within(len(rubric.key_points), KEY_POINTS):
                report.problems.append(f"{where}: {len(rubric.key_points)} key points (need 3–7)")
            normalized = Counter(" ".join(words(k.text)) for k in rubric.key_points)
            for text, n in normalized.items():
                if not text:
                    report.problems.append(f"{where}: an empty key point")
                elif n > 1:
                    report.problems.append(f"{where}: duplicate key point {text[:50]!r}")
            if rubric.key_points and not any(k.essential for k in rubric.key_points):
                report.problems.append(f"{where}: no key point is marked essential")
            if not _within(len(rubric.misconceptions), MISCONCEPTIONS):
                report.problems.append(f"{where}: {len(rubric.misconceptions)} misconceptions (need 1–3)")
            if not _within(len(rubric.follow_ups), FOLLOW_UPS):
                report.problems.append(f"{where}: {len(rubric.follow_ups)} follow-ups (need 1–3)")
            for f in rubric.follow_ups:
                if f.probes >= len(rubric.key_points):
                    report.problems.append(
                        f"{where}: follow-up probes key point {f.probes}, which does not exist"
                        f" (it has {len(rubric.key_points)}, numbered from 0)"
                    )
            tally.points_bank += sum(k.source == "bank" for k in rubric.key_points)
            tally.points_authored += sum(k.source == "authored" for k in rubric.key_points)
            tally.misconceptions += len(rubric.misconceptions)
            tally.follow_ups += len(rubric.follow_ups)
            tally.grouped += rubric.question_id in grouped

    for qid, q in by_id.items():
        if qid not in seen:
            report.problems.append(
                f"{q.bank}: question {qid} (line {q.line}) has no rubric; run `rubrics build`"
            )
    if concepts is not None:
        members_seen: dict[str, str] = {}
        for name, group in concepts.groups.items():
            for qid in group.members:
                if qid not in by_id:
                    report.problems.append(f"concepts.yaml: group {name!r} names unknown question {qid}")
                if qid in members_seen:
                    first = members_seen[qid]
                    report.problems.append(f"concepts.yaml: {qid} is in both {first!r} and {name!r}")
                members_seen[qid] = name
    return report


def check_judge_pairs(rubrics: list, root: Path) -> list[str]:
    """Every key point has authored judge pairs, no pairs point at a key point that is gone, the
    terms judge/swaps.yaml lists (when there) trade in their question's points, every reasoned
    denial or affirmation (judge/denials.yaml, judge/reasoned_affirmations.yaml, when there) belongs
    to a key point with pairs, and every misconception reading (judge/misconception_readings.yaml) to
    a misconception with pairs."""
    from interviewer.grading.judge_data import (
        PAIRS_DIR,
        REASONED_FILES,
        SWAPS_FILE,
        PairsError,
        check_pairs,
        check_reasoned,
        check_swaps,
        load_pairs,
        load_swaps,
    )

    try:
        pairs = load_pairs(root / PAIRS_DIR)
        problems = check_pairs(rubrics, pairs)
        if (root / SWAPS_FILE).is_file():
            problems += check_swaps(rubrics, pairs, load_swaps(root / SWAPS_FILE))
        for name, load in REASONED_FILES.items():
            if (root / name).is_file():
                problems += check_reasoned(pairs, load(root / name), name)
        return problems
    except PairsError as exc:
        return [str(exc)]


def check_model_answers(rubrics: list, grader) -> list[str]:
    """Each model answer, graded as an answer to its own question, covers every essential key point,
    scores at least 4.5 and raises no flag: otherwise the rubric disagrees with itself."""
    with_answer = [r for r in rubrics if r.model_answer]
    return model_answer_problems(with_answer, grader.grade_many([(r, r.model_answer) for r in with_answer]))


def model_answer_problems(rubrics: list, grades: list) -> list[str]:
    """What `check_model_answers` reports, given each rubric's model answer already graded (the
    validity tests grade them once and assert this too)."""
    problems = []
    for r, g in zip(rubrics, grades, strict=True):
        missed = [k.text for k in r.key_points if k.essential and k.text not in g.covered]
        for text in missed:
            problems.append(
                f"{r.question_id}: the model answer does not state essential key point {text[:60]!r}; "
                "state it in `reference_addendum` or reword the point"
            )
        if g.flags:
            problems.append(f"{r.question_id}: the model answer, graded, is flagged {', '.join(g.flags)}")
        elif g.score is not None and g.score < 4.5 and not missed:
            problems.append(f"{r.question_id}: the model answer scores {g.score} as an answer (needs 4.5)")
    return problems
