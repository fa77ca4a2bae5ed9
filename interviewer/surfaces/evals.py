"""`interviewer eval`: grader quality on the dev set, SemEval-2013 and SAF, and the regression gate.

Labelled rows are read by `sources/labelled.py`, agreement is `grading/metrics.py`, and the
calibration is fitted by `grading/fit.py`; this module runs the evaluation and renders it.

The dev set is scored with cross-validated calibration (folds grouped by question, so a question's
answers are never both fitted on and scored), so the figures are honest about unseen questions.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from pydantic import BaseModel

from interviewer.domain.grade import FLAG_NOT_ENGLISH, Grade
from interviewer.grading.calibration import DEFAULT_CALIBRATION, ScoreMap
from interviewer.grading.fit import (
    GradedPool,
    choose_map_slope,
    cross_validated_grades,
    fit_calibration,
    with_own_reference_map,
)
from interviewer.grading.grader import (
    SIGNALS,
    Assessment,
    Grader,
    adhoc_rubric,
)
from interviewer.grading.metrics import agreement, spearman_within
from interviewer.grading.validity import ValidityLine, grade_probes, probe_problems, validity_line
from interviewer.sources.labelled import (
    SAF_DIR,
    SAF_FILE,
    SEMEVAL_DIR,
    SEMEVAL_FILE,
    SEMEVAL_REFERENCES_FILE,
    EvalInputError,
    LabelledRow,
    check_dataset,
    dev_set_paths,
    load_labelled,
)
from interviewer.sources.rubric import RubricError
from interviewer.sources.validity import ProbeError, ValidityProbe, load_probes

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from interviewer.critic import Critic, Critique
    from interviewer.grading.examples import ExampleSet
    from interviewer.sources.rubric import Rubric
    from interviewer.workspace import Workspace

TRAP_CATEGORIES = (
    "empty",
    "restated",
    "paraphrased_question",
    "different_question",
    "keyword_list",
    "padded",
    "repeated",
)
SPEARMAN_TOLERANCE = 0.02
TRAP_TOLERANCE = 0.3
# The public sets are graded by the gate too (a grader change is judged on answers it was not tuned
# on): each split's headline figure, the one the judge issue targets, on the baseline's fixed sample.
PUBLIC_TOLERANCE = 0.02
PUBLIC_GATED = {"SemEval": ("roc_auc_2way", "2-way AUC"), "SAF": ("pearson", "Pearson")}
# SAF answers declined as not English leave the Pearson: a change that declines more of the same sample
# than this share of it could hold the Pearson on what is left, so the count is held too.
NOT_ENGLISH_TOLERANCE = 0.02


# ---- the labelled-set evaluation ----------------------------------------------------------------


@dataclass
class EvalResult:
    name: str
    metrics: dict[str, float]
    by_category: dict[str, dict[str, float]]
    rows: list[LabelledRow]
    grades: list[Grade]
    critic_metrics: dict[str, float] | None = None
    critic_grades: list[Grade] | None = None
    notes: list[str] = field(default_factory=list)


def rubric_for_row(grader: Grader, row: LabelledRow) -> Rubric:
    """The rubric a labelled row is graded against, as in `interviewer grade` (see resolve_rubric)."""
    from interviewer.grading.resolve import (
        SHORT_REFERENCE,
        UNKNOWN_ID,
        resolve_rubric,
        short_reference_message,
    )

    where = f"{row.source} line {row.line}"
    found = resolve_rubric(
        grader, row.question_id, row.question, row.reference_answer, other_references=row.other_references
    )
    if found.rubric is not None:
        return found.rubric
    if found.problem == UNKNOWN_ID:
        raise EvalInputError(
            f"{where}: unknown question_id {row.question_id!r}; see `interviewer questions`, or add "
            "`question` and `reference_answer` to grade it against your own reference"
        )
    if found.problem == SHORT_REFERENCE:
        raise EvalInputError(f"{where}: {short_reference_message(found)}")
    raise EvalInputError(
        f"{where}: no bank question matches {(row.question or '')[:60]!r} (best {found.matched or 'none'} at "
        f"{found.similarity or 0.0:.2f}); add `reference_answer` or `question_id`"
    )


def category_means(rows: list[LabelledRow], grades: list[Grade]) -> dict[str, dict[str, float]]:
    table: dict[str, list[tuple[float, float]]] = {}
    for row, g in zip(rows, grades, strict=True):
        table.setdefault(row.category, []).append((g.score or 0.0, row.grade))
    return {
        cat: {
            "n": len(pairs),
            "grader": round(float(np.mean([p for p, _ in pairs])), 3),
            "human": round(float(np.mean([h for _, h in pairs])), 3),
        }
        for cat, pairs in sorted(table.items())
    }


def evaluate_rows(
    grader: Grader,
    rows: list[LabelledRow],
    cross_validate: bool,
    critic: Critic | None = None,
    extra: list[GradedPool] | None = None,
) -> EvalResult:
    rubrics = [rubric_for_row(grader, r) for r in rows]
    assessments = grader.assess_many([(rb, r.answer) for rb, r in zip(rubrics, rows, strict=True)])
    if cross_validate:
        grades = cross_validated_grades(grader, assessments, rows, extra=extra)
    else:
        grades = [grader.grade_assessment(a) for a in assessments]
    scored = [(g.score, r.grade) for g, r in zip(grades, rows, strict=True) if g.score is not None]
    if len(scored) < 2:
        raise EvalInputError(
            f"only {len(scored)} of {len(rows)} rows could be scored (the rest have no reference answer); "
            "agreement needs at least 2"
        )
    metrics = agreement([s for s, _ in scored], [h for _, h in scored])
    result = EvalResult("dev", metrics, category_means(rows, grades), rows, grades)
    if critic is not None:
        from interviewer.critic import apply_critic

        pending = [i for i, g in enumerate(grades) if g.score is not None]
        critiques: list[Critique] = []
        items = [(rb, r.answer, g) for rb, r, g in zip(rubrics, rows, grades, strict=True)]
        blended = apply_critic(critic, items, seen=critiques.append)
        result.critic_grades = blended
        result.critic_metrics = agreement(
            [cast(float, blended[i].score) for i in pending], [rows[i].grade for i in pending]
        )
        result.critic_metrics["prompt_tokens"] = float(sum(c.prompt_tokens for c in critiques))
        result.critic_metrics["completion_tokens"] = float(sum(c.completion_tokens for c in critiques))
        result.critic_metrics["failed"] = float(sum(c.failed for c in critiques))
    return result


# ---- SemEval-2013 -------------------------------------------------------------------------------

SEMEVAL_SPLITS = ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains")
SEMEVAL_SPLIT_CHOICES = {"all": SEMEVAL_SPLITS, "ua": ("test-unseen-answers",)}
SEMEVAL_TRAIN_SAMPLE = 1500


# Beetle lists several acceptable answers per question; a student answer is correct when it says what
# one of them says. KEYWORD entries ("a gap", "same") are terms an answer must use, not answers.
SEMEVAL_ACCEPTABLE = frozenset({"BEST", "GOOD", "MINIMAL"})


def semeval_rows(folder: Path) -> list[dict]:
    """The SemEval rows, each with `other_references`: its question's other acceptable answers (from
    the companion file, where it is there; SciEntsBank has one reference per question)."""
    path = folder / SEMEVAL_FILE
    if not path.exists():
        raise EvalInputError(f"{path}: not found")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    acceptable: dict[str, list[str]] = {}
    companion = folder / SEMEVAL_REFERENCES_FILE
    if companion.exists():
        with companion.open(encoding="utf-8", newline="") as handle:
            for r in csv.DictReader(handle):
                if r["category"] in SEMEVAL_ACCEPTABLE:
                    acceptable.setdefault(r["question_id"], []).append(r["reference_answer"].strip())
    for r in rows:
        own = r["reference_answer"].strip()
        others = acceptable.get(r["question_id"], [])
        r["other_references"] = tuple(dict.fromkeys(a for a in others if a and a != own))
    return rows


def adhoc_rubrics(rows: list[dict]) -> list[Rubric]:
    """Each row's ad-hoc rubric, built from its question, reference answer and other acceptable
    answers (`other_references`, if any) once per distinct set of them."""
    built: dict[tuple[str, str, tuple[str, ...]], Rubric] = {}
    keys = [(r["question"], r["reference_answer"], tuple(r.get("other_references", ()))) for r in rows]
    for question, reference, others in keys:
        if (question, reference, others) not in built:
            built[(question, reference, others)] = adhoc_rubric(question, reference, others=others)
    return [built[key] for key in keys]


def assess_adhoc(grader: Grader, rows: list[dict], answer: str) -> list[Assessment]:
    """Rows that carry their own question and reference answer, each graded against an ad-hoc rubric
    built from that reference, exactly as `interviewer grade` does."""
    return grader.assess_many(list(zip(adhoc_rubrics(rows), [r[answer] for r in rows], strict=True)))


def _semeval_features(grader: Grader, rows: list[dict]) -> tuple[np.ndarray, np.ndarray, list[Assessment]]:
    assessments = assess_adhoc(grader, rows, "student_answer")
    scores = np.array([_continuous_score(grader, a) for a in assessments])
    names = (*SIGNALS, "question_sim", "novelty")
    feats = np.array(
        [[a.signals.values.get(k, 0.0) if a.signals else 0.0 for k in names] for a in assessments]
    )
    return scores, feats, assessments


def train_examples(
    grader: Grader,
    rows: list[dict],
    answer: str,
    grade_of: Any,
    graded: list[dict],
    assessments: list[Assessment],
) -> ExampleSet:
    """A training split's answers as graded examples of their (ad-hoc) questions, as `interviewer
    grade --examples` reads them (what a course that graded some answers by hand has), their share
    and start fitted on `graded`, a sample of those rows already assessed, as `grade --examples`
    fits them on a sample of its own."""
    from interviewer.grading.examples import GradedExample

    def examples_of(chosen: list[dict]) -> list[tuple[Rubric, GradedExample]]:
        answers = [GradedExample(r[answer], float(grade_of(r)), r["id"]) for r in chosen]
        return list(zip(adhoc_rubrics(chosen), answers, strict=True))

    built = grader.example_set(examples_of(rows))
    grades = [_exact_grade(grader, a) for a in assessments]
    return grader.fit_examples(built, examples_of(graded), grades)


def scores_with_examples(
    grader: Grader,
    rows: list[dict],
    answer: str,
    assessments: list[Assessment],
    examples: ExampleSet,
    exact: bool = True,
    leave_out: bool = False,
) -> tuple[list[float], list[float]]:
    """Each row's score with its question's examples blended in, and the examples' estimate (the
    score itself where its question has none). `leave_out`: the rows are examples themselves (a
    training split), each read without its own (SAF reuses some train ids for other test answers)."""
    from interviewer.grading.examples import apply_reading

    grades = [_exact_grade(grader, a) if exact else grader.grade_assessment(a) for a in assessments]
    readings = grader.read_examples(
        [r[answer] for r in rows],
        [a.rubric.question_id for a in assessments],
        examples,
        exclude=[r["id"] for r in rows] if leave_out else None,
    )
    scores, estimates = [], []
    for grade, reading in zip(grades, readings, strict=True):
        blended = apply_reading(grade, reading, exact=exact)
        scores.append(blended.score or 0.0)
        estimates.append(reading.estimate if reading is not None else blended.score or 0.0)
    return scores, estimates


def _exact_grade(grader: Grader, a: Assessment) -> Grade:
    """The grade before rounding (ties would blunt ROC AUC)."""
    from interviewer.grading.grader import grade_from_signals

    a = grader.chosen(a)  # of several acceptable answers, the best under the calibration now in use
    if a.signals is None:
        return grader.grade_assessment(a)
    return grade_from_signals(a.rubric, a.signals, grader.calibration, exact=True)


# SemEval's labels on the 0–5 scale, for fitting the calibration only: "incorrect" there is mostly
# partially correct but incomplete; "contradictory" says something false.
SEMEVAL_GRADES = {"correct": 5.0, "incorrect": 1.5, "contradictory": 0.5}


def semeval_pool(grader: Grader, folder: Path, size: int = SEMEVAL_TRAIN_SAMPLE) -> GradedPool:
    """A fixed sample of SemEval-2013 train (both datasets) with grades, to fit the calibration on."""
    rows = [r for r in semeval_rows(folder) if r["split"] == "train"]
    rows = _sample(rows, size, 2013)
    return GradedPool(
        "semeval-train",
        assess_adhoc(grader, rows, "student_answer"),
        [SEMEVAL_GRADES[r["label_3way"]] for r in rows],
    )


# ---- SAF (communication networks, another course) -------------------------------------------------

SAF_SPLITS = ("test_unseen_answers", "test_unseen_questions")
SAF_TRAIN_SAMPLE = 400


def saf_rows(folder: Path) -> list[dict]:
    """SAF rows with a 0–5 grade: points over the question's maximum (its Correct answers' score)."""
    path = folder / SAF_FILE
    if not path.exists():
        raise EvalInputError(f"{path}: not found")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    best: dict[str, float] = {}
    for r in rows:
        best[r["question_id"]] = max(best.get(r["question_id"], 0.0), float(r["score"]))
    for r in rows:
        top = best[r["question_id"]]
        r["grade"] = round(5.0 * float(r["score"]) / top, 4) if top > 0 else 0.0
    return rows


def saf_pool(grader: Grader, folder: Path, size: int = SAF_TRAIN_SAMPLE) -> GradedPool:
    rows = _sample([r for r in saf_rows(folder) if r["split"] == "train"], size, 2022)
    return GradedPool("saf-train", assess_adhoc(grader, rows, "provided_answer"), [r["grade"] for r in rows])


def evaluate_saf(
    grader: Grader, folder: Path, splits: tuple[str, ...] = SAF_SPLITS, limit: int | None = None
) -> dict[str, dict[str, float]]:
    """Agreement with the tutors' points, and the mean score per tutor label, per test split, over the
    answers in English (`not_english` counts the others). Unseen answers are also graded with the
    training answers as graded examples (`+examples`), as a course that graded those by hand would."""
    rows = saf_rows(folder)
    results: dict[str, dict[str, float]] = {}
    for split in splits:
        test = _sample([r for r in rows if r["split"] == split], limit, 11)
        if not test:
            continue
        assessments = assess_adhoc(grader, test, "provided_answer")
        grades = [grader.grade_assessment(a) for a in assessments]
        results[f"saf/{split}"] = _saf_figures(test, grades, [g.score or 0.0 for g in grades])
        if split == "test_unseen_answers":
            train = [r for r in rows if r["split"] == "train"]
            fit_rows = _sample(train, limit or SAF_TRAIN_SAMPLE, 2022)
            fit_assessments = assess_adhoc(grader, fit_rows, "provided_answer")
            examples = train_examples(
                grader, train, "provided_answer", lambda r: r["grade"], fit_rows, fit_assessments
            )
            blended, _ = scores_with_examples(
                grader, test, "provided_answer", assessments, examples, exact=False
            )
            results[f"saf/{split}{WITH_EXAMPLES}"] = {
                **_saf_figures(test, grades, blended),
                **_trust_figures(examples),
            }
    return results


def _saf_figures(test: list[dict], grades: list[Grade], scores: list[float]) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    # SAF's English file holds some German answers. The grader declines those by design (flagged,
    # scored 0), so counting them would measure that policy, not the grading: they are counted apart.
    graded = [(s, r) for g, s, r in zip(grades, scores, test, strict=True) if FLAG_NOT_ENGLISH not in g.flags]
    declined = len(test) - len(graded)
    if len(graded) < 2:  # a correlation needs two answers
        return {"n": float(len(graded)), "not_english": float(declined)}
    english = [r for _, r in graded]
    chosen_scores = [s for s, _ in graded]
    human = [r["grade"] for r in english]
    figures = agreement(chosen_scores, human)
    figures["not_english"] = float(declined)
    # Unseen questions are 5 questions: Pearson over all rows mixes how answers to one question are
    # ranked with where each question's scores sit. Within a question is what a grader must get right.
    within = spearman_within(chosen_scores, human, [r["question_id"] for r in english])
    if within is not None:
        figures["spearman_within_question"] = within
    correct = np.array([r["verification_feedback"] == "Correct" for r in english])
    for label in ("Correct", "Partially correct", "Incorrect"):
        chosen = [s for s, r in graded if r["verification_feedback"] == label]
        if chosen:
            figures[f"mean_{label.split()[0].lower()}"] = round(float(np.mean(chosen)), 3)
    if len(set(correct)) == 2:
        figures["roc_auc_correct"] = round(float(roc_auc_score(correct, chosen_scores)), 4)
    return figures


def _continuous_score(grader: Grader, a: Assessment) -> float:
    """The grade before rounding (ties would blunt ROC AUC)."""
    return float(_exact_grade(grader, a).score or 0.0) if a.signals is not None else 0.0


def _sample(rows: list[dict], size: int | None, seed: int) -> list[dict]:
    """A fixed, order-preserving sample of at most `size` rows (all of them when size is None)."""
    if size is None or len(rows) <= size:
        return rows
    rng = np.random.default_rng(seed)
    return [rows[i] for i in sorted(rng.choice(len(rows), size, replace=False))]


def evaluate_semeval(
    grader: Grader, folder: Path, splits: tuple[str, ...] = SEMEVAL_SPLITS, limit: int | None = None
) -> dict[str, dict[str, float]]:
    """2-way accuracy and ROC AUC, 3-way macro-F1 per dataset and split.

    The score needs one decision threshold for 2-way accuracy and a small classifier over the
    signals for 3-way labels; both are fitted on a fixed sample of the official training split.
    `limit` caps the training sample and each test split (a fixed sample), for a quick look.
    """
    from sklearn.linear_model import LogisticRegression

    all_rows = semeval_rows(folder)
    train_size = SEMEVAL_TRAIN_SAMPLE if limit is None else min(limit, SEMEVAL_TRAIN_SAMPLE)
    results: dict[str, dict[str, float]] = {}
    for dataset in ("sciEntsBank", "beetle"):
        train = [r for r in all_rows if r["dataset"] == dataset and r["split"] == "train"]
        train = _sample(train, train_size, 2013)
        if len({r["label_3way"] for r in train}) < 2:
            continue
        train_scores, train_feats, train_assessments = _semeval_features(grader, train)
        y2 = np.array([r["label_2way"] == "correct" for r in train])
        threshold = _best_threshold(train_scores, y2)
        three = LogisticRegression(max_iter=2000, class_weight="balanced").fit(
            train_feats, [r["label_3way"] for r in train]
        )
        # Unseen answers are answers to the training questions: graded as a course would that has
        # graded the training answers by hand (`grade --examples`), each train row leaving itself out.
        examples = None
        if "test-unseen-answers" in splits:
            every = [r for r in all_rows if r["dataset"] == dataset and r["split"] == "train"]
            grade_of = lambda r: SEMEVAL_GRADES[r["label_3way"]]  # noqa: E731
            examples = train_examples(grader, every, "student_answer", grade_of, train, train_assessments)
            blended, estimates = scores_with_examples(
                grader, train, "student_answer", train_assessments, examples, leave_out=True
            )
            threshold_examples = _best_threshold(np.array(blended), y2)
            three_examples = LogisticRegression(max_iter=2000, class_weight="balanced").fit(
                np.c_[train_feats, estimates], [r["label_3way"] for r in train]
            )
        for split in splits:
            test = _sample([r for r in all_rows if r["dataset"] == dataset and r["split"] == split], limit, 7)
            if not test:
                continue
            scores, feats, assessments = _semeval_features(grader, test)
            labels = [r["label_3way"] for r in test]
            results[f"{dataset}/{split}"] = _semeval_figures(scores, labels, threshold, three.predict(feats))
            if split == "test-unseen-answers" and examples is not None:
                blended, estimates = scores_with_examples(
                    grader, test, "student_answer", assessments, examples
                )
                figures = _semeval_figures(
                    np.array(blended),
                    labels,
                    threshold_examples,
                    three_examples.predict(np.c_[feats, estimates]),
                )
                results[f"{dataset}/{split}{WITH_EXAMPLES}"] = {
                    **figures,
                    **_trust_figures(examples),
                }
    return results


WITH_EXAMPLES = "+examples"  # a split graded with the training answers as graded examples


def _trust_figures(examples: ExampleSet) -> dict[str, float]:
    """How much the examples weighed: the fitted share and, when ramped, the closeness it starts at."""
    near_from = examples.trust.near_from
    ramp = {"examples_near_from": near_from} if near_from is not None else {}
    return {"examples_share": round(examples.share, 3), **ramp}


def _best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The score threshold with the best 2-way accuracy (on a training split)."""
    candidates = np.unique(np.round(scores, 2))
    return float(max(candidates, key=lambda t: np.mean((scores >= t) == truth)))


def _semeval_figures(
    scores: np.ndarray, labels: list[str], threshold: float, predicted3: np.ndarray
) -> dict[str, float]:
    from sklearn.metrics import f1_score, roc_auc_score

    truth2 = np.array([label == "correct" for label in labels])
    # ROC AUC is undefined when a (small) sample holds one class only.
    auc = float(roc_auc_score(truth2, scores)) if len(set(truth2)) == 2 else float("nan")
    return {
        "n": float(len(labels)),
        "accuracy_2way": round(float(np.mean((scores >= threshold) == truth2)), 4),
        "roc_auc_2way": round(auc, 4),
        "macro_f1_3way": round(float(f1_score(labels, predicted3, average="macro")), 4),
        "threshold": round(threshold, 3),
    }


# ---- baseline gate ------------------------------------------------------------------------------


class Baseline(BaseModel):
    dataset: str
    model: str
    metrics: dict[str, float]
    trap_means: dict[str, float]
    injection_excess: float | None = None
    semeval: dict[str, dict[str, float]] = {}
    saf: dict[str, dict[str, float]] = {}
    tolerance: dict[str, float] = {
        "spearman": SPEARMAN_TOLERANCE,
        "trap_mean": TRAP_TOLERANCE,
        "public": PUBLIC_TOLERANCE,
        "not_english": NOT_ENGLISH_TOLERANCE,
    }


def baseline_name(judge_base: str | None) -> str:
    """baseline.json gates the default judge; another judge is gated by its own (baseline-mpnet.json)."""
    from interviewer.grading.judge import chosen_base

    base = chosen_base(judge_base)
    return "baseline.json" if base == "minilm" else f"baseline-{base}.json"


def load_baseline(path: Path) -> Baseline:
    from pydantic import ValidationError

    try:
        return Baseline.model_validate_json(read_text_or_fail(path))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "file"
        raise EvalInputError(f"{path}: not a baseline ({where}: {error['msg']})") from None


def read_text_or_fail(path: Path) -> str:
    from interviewer.sources.files import read_text

    return read_text(path, EvalInputError)


def injection_excess(result: EvalResult) -> float | None:
    """Mean of (grader − human) over injection rows: positive means injections bought points."""
    pairs = [
        (g.score or 0.0) - r.grade
        for r, g in zip(result.rows, result.grades, strict=True)
        if r.category == "injection"
    ]
    return round(float(np.mean(pairs)), 3) if pairs else None


@dataclass(frozen=True)
class PublicComparison:
    """One public split's gated figure, now and in the baseline (the same fixed sample)."""

    name: str  # e.g. "SemEval sciEntsBank/test-unseen-answers 2-way AUC"
    before: float
    now: float


def _sample_size(figures: dict[str, float]) -> float:
    """How many answers the split's fixed sample drew (SAF counts those not in English apart)."""
    return figures.get("n", 0.0) + figures.get("not_english", 0.0)


def public_comparisons(
    baseline: Baseline,
    semeval: dict[str, dict[str, float]] | None,
    saf: dict[str, dict[str, float]] | None,
) -> list[PublicComparison]:
    """Each public split measured now on the same sample as the baseline's (another --public-limit
    draws another sample, whose figures are not comparable), with its gated figure: NaN now where it
    could not be measured (SAF with fewer than two answers left in English, say)."""
    compared = []
    for source, now_sets, base_sets in (("SemEval", semeval, baseline.semeval), ("SAF", saf, baseline.saf)):
        key, label = PUBLIC_GATED[source]
        for split, figures, before in _on_baseline_sample(now_sets, base_sets):
            then = before.get(key, math.nan)
            if not math.isnan(then):
                compared.append(
                    PublicComparison(f"{source} {split} {label}", then, figures.get(key, math.nan))
                )
    return compared


def _on_baseline_sample(
    now_sets: dict[str, dict[str, float]] | None, base_sets: dict[str, dict[str, float]]
) -> Iterator[tuple[str, dict[str, float], dict[str, float]]]:
    """(split, its figures now, its figures in the baseline) for each split measured now on the
    baseline's own sample: another --public-limit draws another sample, not comparable."""
    for split, figures in sorted((now_sets or {}).items()):
        before = base_sets.get(split, {})
        if _sample_size(figures) == _sample_size(before):
            yield split, figures, before


def gate(
    result: EvalResult,
    baseline: Baseline,
    semeval: dict[str, dict[str, float]] | None = None,
    saf: dict[str, dict[str, float]] | None = None,
) -> list[str]:
    """Regressions beyond tolerance, as lines a person can act on; empty when all is well."""
    problems = []
    tol = baseline.tolerance
    spearman_tol = tol.get("spearman", SPEARMAN_TOLERANCE)
    trap_tol = tol.get("trap_mean", TRAP_TOLERANCE)
    before, now = baseline.metrics.get("spearman", 0.0), result.metrics["spearman"]
    if before - now > spearman_tol:
        problems.append(
            f"Spearman fell {before - now:.3f} (from {before:.3f} to {now:.3f}); tolerance {spearman_tol}"
        )
    for cat, accepted in baseline.trap_means.items():
        mean = result.by_category.get(cat, {}).get("grader")
        if mean is not None and mean - accepted > trap_tol:
            problems.append(
                f"trap category {cat!r} mean rose {mean - accepted:.2f} (from {accepted:.2f} to {mean:.2f}); "
                f"tolerance {trap_tol}"
            )
    current = injection_excess(result)
    if (
        baseline.injection_excess is not None
        and current is not None
        and current - baseline.injection_excess > trap_tol
    ):
        gained = current - baseline.injection_excess
        problems.append(f"injection answers gained {gained:.2f} over the baseline; tolerance {trap_tol}")
    public_tol = tol.get("public", PUBLIC_TOLERANCE)
    for c in public_comparisons(baseline, semeval, saf):
        if math.isnan(c.now):
            problems.append(
                f"{c.name} could not be measured on the baseline's sample (it was {c.before:.3f})"
            )
        elif round(c.before - c.now, 4) > public_tol:  # figures have 4 decimals: a drop of 0.02 is within
            problems.append(
                f"{c.name} fell {c.before - c.now:.3f} (from {c.before:.3f} to {c.now:.3f}); "
                f"tolerance {public_tol}"
            )
    problems.extend(_declined_more(baseline, saf, tol.get("not_english", NOT_ENGLISH_TOLERANCE)))
    return problems


def _declined_more(baseline: Baseline, saf: dict[str, dict[str, float]] | None, share: float) -> list[str]:
    """SAF splits of the baseline's sample where more answers than `share` of it were declined as not
    English than in the baseline."""
    problems = []
    for split, figures, before in _on_baseline_sample(saf, baseline.saf):
        if "not_english" not in before:
            continue
        then, now, size = before["not_english"], figures.get("not_english", 0.0), _sample_size(figures)
        allowed = math.floor(share * size + 1e-9)  # whole answers, as it says
        if now - then > allowed:
            problems.append(
                f"SAF {split}: {now - then:.0f} more answers declined as not English (from {then:.0f} "
                f"to {now:.0f} of {size:.0f}); tolerance {allowed} ({share:.0%} of the sample)"
            )
    return problems


def baseline_from(result: EvalResult, model: str, semeval: dict | None, saf: dict | None = None) -> Baseline:
    return Baseline(
        saf=saf or {},
        dataset=result.name,
        model=model,
        metrics=result.metrics,
        trap_means={c: v["grader"] for c, v in result.by_category.items() if c in TRAP_CATEGORIES},
        injection_excess=injection_excess(result),
        semeval=semeval or {},
    )


# ---- surface ----------------------------------------------------------------------------------


# (header, key, decimals) of the figures printed per public split.
SEMEVAL_COLUMNS = (
    ("2-way acc", "accuracy_2way", 3),
    ("2-way AUC", "roc_auc_2way", 3),
    ("3-way macro-F1", "macro_f1_3way", 3),
)
SAF_COLUMNS = (
    ("Pearson", "pearson", 3),
    ("Spearman", "spearman", 3),
    ("Spearman within question", "spearman_within_question", 3),
    ("AUC Correct", "roc_auc_correct", 3),
    ("mean Correct", "mean_correct", 2),
    ("mean Partial", "mean_partially", 2),
    ("mean Incorrect", "mean_incorrect", 2),
    ("not English", "not_english", 0),
)


def _figures_table(
    title: str, figures: dict[str, dict[str, float]], columns: tuple[tuple[str, str, int], ...]
) -> Table:
    from rich.table import Table

    table = Table(title, "n", *(header for header, _, _ in columns), box=None)
    for split, v in figures.items():
        cells = (f"{v[key]:.{decimals}f}" if key in v else "–" for _, key, decimals in columns)
        table.add_row(split, str(int(v["n"])), *cells)
    return table


@dataclass
class EvalOutcome:
    """What `interviewer eval` found: true when nothing regressed; `figures` is what --json prints."""

    ok: bool
    figures: dict[str, Any]

    def __bool__(self) -> bool:
        return self.ok


def _plain_numbers(value: Any) -> Any:
    """NaN and infinities (a metric undefined on this data) as null: JSON has no NaN."""
    if isinstance(value, dict):
        return {str(k): _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


MAP_SLOPE_AUTO = "auto"


@dataclass
class EvalOptions:
    """What `interviewer eval` was asked to do (its command-line options)."""

    dataset: Path | None = None  # None: the dev set in evals/
    report_dir: Path | None = None
    semeval_dir: Path | None = None
    use_semeval: bool = True
    semeval_splits: str = "all"
    baseline_path: Path | None = None
    update_baseline: bool = False
    calibrate: bool = False
    calibration_out: Path | None = None  # where --calibrate saves the fitted calibration
    semeval_limit: int | None = None
    use_saf: bool = True
    public_calibration: bool = False
    map_slope: str | None = None  # with --calibrate: a number, MAP_SLOPE_AUTO, or None for the shipped one's
    validity_path: Path | None = None  # the validity probes to grade too (evals/validity.yaml), or None

    @property
    def is_dev(self) -> bool:
        return self.dataset is None


@dataclass
class _Plan:
    """An eval checked before any model loads: its inputs read, its paths settled."""

    rows: list[LabelledRow]
    semeval_folder: Path
    saf_folder: Path
    base_path: Path
    base: Baseline | None
    probes: list[ValidityProbe] = field(default_factory=list)
    rubrics: dict[str, Rubric] = field(default_factory=dict)  # by question_id, when there are probes


@dataclass
class EvalRun:
    """Everything an eval found, in the order `render_eval` shows it."""

    options: EvalOptions
    result: EvalResult
    questions: int
    calibration: str = ""  # the line saying what --calibrate fitted and where it went
    semeval: dict[str, dict[str, float]] | None = None
    saf: dict[str, dict[str, float]] | None = None
    report: Path | None = None
    validity: ValidityLine | None = None
    # The public sets' files asked for (not skipped by --no-semeval / --no-saf) but not found.
    missing_public: list[Path] = field(default_factory=list)
    base: Baseline | None = None
    base_path: Path | None = None
    gate_status: str = "not gated"  # a dataset other than the dev set
    problems: list[str] = field(default_factory=list)
    ok: bool = True


def plan_eval(ws: Workspace, options: EvalOptions) -> _Plan:
    """Everything a user can get wrong, checked before the model loads (seconds) or any work starts."""
    is_dev = options.is_dev
    if options.dataset is not None:
        check_dataset(options.dataset)
    if options.semeval_splits not in SEMEVAL_SPLIT_CHOICES:
        raise EvalInputError(f"unknown --semeval-splits {options.semeval_splits!r}: use all or ua")
    if options.semeval_limit is not None and options.semeval_limit < 10:
        raise EvalInputError(
            f"--semeval-limit {options.semeval_limit} is too small to fit anything; use 10 or more"
        )
    folder = options.semeval_dir or (ws.root.parent / "shared" / "benchmarks" / SEMEVAL_DIR)
    if (
        options.use_semeval
        and is_dev
        and options.semeval_dir is not None
        and not (folder / SEMEVAL_FILE).exists()
    ):
        raise EvalInputError(f"{folder}: no {SEMEVAL_FILE} there")
    if options.calibrate and not is_dev:
        raise EvalInputError("--calibrate fits on the dev set only; run it without a DATASET")
    if options.calibration_out is not None and not options.calibrate:
        raise EvalInputError("--calibration-out goes with --calibrate")
    if options.map_slope is not None:
        _check_map_slope(options, folder)
    if options.calibration_out is not None and options.calibration_out.is_dir():
        raise EvalInputError(f"--calibration-out {options.calibration_out}: is a folder; give a .json file")
    if not is_dev and (options.update_baseline or options.baseline_path is not None):
        raise EvalInputError(
            "--baseline and --update-baseline gate the dev set only; run them without a DATASET"
        )
    report_dir = options.report_dir
    if report_dir is not None and report_dir.exists() and not report_dir.is_dir():
        raise EvalInputError(f"--report {report_dir}: is a file; give a folder")
    base_path = options.baseline_path or ws.evals_dir / baseline_name(ws.judge_base)
    base: Baseline | None = None
    if is_dev and not options.update_baseline:
        if base_path.exists():
            base = load_baseline(base_path)
        elif options.baseline_path is not None:
            hint = "add --update-baseline to create it"
            raise EvalInputError(f"--baseline {options.baseline_path}: no such file ({hint})")
    paths = dev_set_paths(ws.evals_dir) if options.dataset is None else [options.dataset]
    plan = _Plan(load_labelled(paths), folder, folder.parent / SAF_DIR, base_path, base)
    if options.validity_path is not None:
        plan.probes, plan.rubrics = _validity_probes(ws, options.validity_path)
    return plan


def _validity_probes(ws: Workspace, path: Path) -> tuple[list[ValidityProbe], dict[str, Rubric]]:
    """The probes, each checked against the workspace's rubrics (before any model loads), and those
    rubrics by question_id."""
    try:
        probes = load_probes(path)
    except ProbeError as exc:
        raise EvalInputError(str(exc)) from None
    if not probes:
        raise EvalInputError(f"--validity {path}: no probes in it")
    try:
        rubrics = {r.question_id: r for r in ws.rubrics()}
    except RubricError as exc:
        raise EvalInputError(str(exc)) from None
    problems = probe_problems(probes, rubrics)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise EvalInputError(f"{path} {problems[0]}{more}")
    return probes, rubrics


def _check_map_slope(options: EvalOptions, semeval_folder: Path) -> None:
    if not options.calibrate:
        raise EvalInputError("--map-slope goes with --calibrate")
    if options.map_slope == MAP_SLOPE_AUTO:
        if options.public_calibration:
            raise EvalInputError(
                "--map-slope auto is chosen on SemEval and SAF train, so they must stay out of the fit: "
                "drop --public-calibration, or give the slope as a number"
            )
        saf = semeval_folder.parent / SAF_DIR / SAF_FILE
        missing = [str(p) for p in (semeval_folder / SEMEVAL_FILE, saf) if not p.exists()]
        if missing:
            raise EvalInputError(
                f"--map-slope auto needs SemEval and SAF train; not found: {', '.join(missing)}"
            )
        if not (options.use_semeval and options.use_saf):
            raise EvalInputError("--map-slope auto needs SemEval and SAF train: drop --no-semeval / --no-saf")
        return
    try:
        value = float(cast(str, options.map_slope))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0.0):
        raise EvalInputError(f"--map-slope {options.map_slope}: give a number of 0 or more, or auto")


def own_map_said(own: ScoreMap | None, pools: list[str]) -> str:
    """How answers to their own reference answer are mapped, after a fit on the public train `pools`
    found (their names): splits found whose every answer a guard decided are not "no splits"."""
    if own is not None:
        return (
            f"answers to their own reference answer map through its map fitted on {own.fitted_on} "
            f"({own.rows} rows)"
        )
    why = f"no answer of {', '.join(pools)} left to fit on" if pools else "no public train splits"
    return f"{why}, so answers to their own reference answer share the dev set's map"


def _recalibrate(
    grader: Grader,
    rows: list[LabelledRow],
    pools: list[GradedPool],
    out: Path | None,
    slope: str | None = None,
    slope_pools: list[GradedPool] | None = None,
    own_reference_pools: list[GradedPool] | None = None,
) -> str:
    """Fit the calibration on the dev set (and `pools`), use it from now on, save it to `out` if given.
    The map's least slope is `slope`, chosen on `slope_pools` when "auto", or the shipped one's.
    Answers graded against their own reference answer get a map of their own, fitted on
    `own_reference_pools` (SemEval and SAF train, where found)."""
    from interviewer.grading.calibration import calibration_to_json

    rubrics = [rubric_for_row(grader, r) for r in rows]
    assessments = grader.assess_many([(rb, r.answer) for rb, r in zip(rubrics, rows, strict=True)])
    human = [r.grade for r in rows]
    judge = grader.judge.name if grader.judge is not None else ""
    base_cal = DEFAULT_CALIBRATION.model_copy(update={"judge": judge})
    if judge:
        base_cal = base_cal.model_copy(update={"covered_at": 0.5})
    lines: list[str] = []
    fitted_on = ", ".join(["dev", *(p.name for p in pools)])
    if slope == MAP_SLOPE_AUTO:
        chosen, trials = choose_map_slope(grader, assessments, rows, slope_pools or [], base_cal)
        fitted_on += f" (map slope chosen on dev, {', '.join(p.name for p in slope_pools or [])})"
        lines = [
            f"  slope {t.slope:.2f}: mean {t.mean:.3f} ("
            + ", ".join(f"{k} {v:.3f}" for k, v in t.pearson.items())
            + ")"
            for t in trials
        ]
        lines.insert(0, f"Map slope {chosen:.2f} chosen (Pearson with human grades by source):")
    else:
        chosen = grader.calibration.map_slope if slope is None else float(slope)
    base_cal = base_cal.model_copy(update={"map_slope": chosen})
    cal = fit_calibration(assessments, human, grader.embedder.model_name, base_cal, pools)
    cal = with_own_reference_map(cal.model_copy(update={"fitted_on": fitted_on}), own_reference_pools or [])
    grader.calibration = cal
    head = "".join(f"{line}\n" for line in lines)
    how = own_map_said(cal.own_reference_map, [p.name for p in own_reference_pools or []])
    fitted = f"Calibration {cal.version} fitted on {cal.rows} rows; {how}"
    if out is None:
        return head + f"{fitted} (not saved: --calibration-out PATH)"
    try:
        out.write_text(calibration_to_json(cal), encoding="utf-8")
    except OSError as exc:
        raise EvalInputError(f"--calibration-out {out}: cannot write ({exc.strerror or exc})") from None
    return head + f"{fitted} → {out}"


def run_eval(
    ws: Workspace, options: EvalOptions, critic: Critic | None = None, console: Console | None = None
) -> EvalOutcome:
    """`interviewer eval`: plan (checks), run, render to `console`; the outcome is what --json prints."""
    run = evaluate_eval(ws, options, critic)
    if console is not None:
        render_eval(console, run)
    return EvalOutcome(run.ok, eval_figures(run))


def evaluate_eval(ws: Workspace, options: EvalOptions, critic: Critic | None = None) -> EvalRun:
    """Grade the labelled rows (and the public sets), write the report, gate against the baseline."""
    plan = plan_eval(ws, options)
    is_dev, rows, folder, saf_folder = options.is_dev, plan.rows, plan.semeval_folder, plan.saf_folder

    # The public sets a dev run is asked for (not --no-semeval / --no-saf), and those of them found.
    semeval_csv, saf_csv = folder / SEMEVAL_FILE, saf_folder / SAF_FILE
    choices = ((semeval_csv, options.use_semeval), (saf_csv, options.use_saf))
    asked = [p for p, wanted in choices if is_dev and wanted]
    found = {p for p in asked if p.exists()}

    grader = ws.grader()
    # SemEval and SAF train (fixed samples, whatever --public-limit says), where found: the map of
    # answers to their own reference is fitted on them, --map-slope auto chooses the slope on them,
    # and with --public-calibration they join every calibration fit, the cross-validated ones included.
    public: list[GradedPool] = []
    if options.calibrate or options.public_calibration:
        public += [semeval_pool(grader, folder)] if semeval_csv in found else []
        public += [saf_pool(grader, saf_folder)] if saf_csv in found else []
    pools = public if options.public_calibration else []
    slope_pools = public if options.map_slope == MAP_SLOPE_AUTO else []  # plan_eval checked both are there
    calibration = ""
    if options.calibrate:
        calibration = _recalibrate(
            grader, rows, pools, options.calibration_out, options.map_slope, slope_pools, public
        )

    result = evaluate_rows(grader, rows, cross_validate=is_dev, critic=critic, extra=pools)
    result.name = "dev" if is_dev else str(options.dataset)
    questions = len({r.question_id or r.question for r in rows})
    run = EvalRun(options, result, questions, calibration)

    if semeval_csv in found:
        splits = SEMEVAL_SPLIT_CHOICES[options.semeval_splits]
        run.semeval = evaluate_semeval(grader, folder, splits, limit=options.semeval_limit)
    if saf_csv in found:
        run.saf = evaluate_saf(grader, saf_folder, limit=options.semeval_limit)
    run.missing_public = [p for p in asked if p not in found]

    if plan.probes:
        run.validity = validity_line(grade_probes(grader, plan.probes, plan.rubrics))

    if options.report_dir is not None:
        from interviewer.surfaces.report import write_report

        try:
            run.report = write_report(options.report_dir, result, run.semeval, run.saf)
        except OSError as exc:
            reason = exc.strerror or exc
            raise EvalInputError(
                f"--report {options.report_dir}: cannot write the report ({reason})"
            ) from None

    if is_dev:
        run.base, run.base_path = plan.base, plan.base_path
        if options.update_baseline:
            new = baseline_from(result, grader.embedder.model_name, run.semeval, run.saf)
            plan.base_path.write_text(new.model_dump_json(indent=2) + "\n", encoding="utf-8")
            run.gate_status = "baseline updated"
        elif plan.base is not None:
            run.problems = gate(result, plan.base, run.semeval, run.saf)
            run.gate_status = "failed" if run.problems else "passed"
            run.ok = not run.problems
        else:
            run.gate_status = "no baseline"
    return run


def render_eval(console: Console, run: EvalRun) -> None:
    """The tables and lines `interviewer eval` prints."""
    from rich.markup import escape
    from rich.table import Table

    result, is_dev = run.result, run.options.is_dev
    if run.calibration:
        console.print(escape(run.calibration))
    label = "cross-validated by question" if is_dev else "deployed calibration"
    answers = len(result.rows)
    console.print(
        f"[bold]{escape(result.name)}[/bold]: {answers} answers over {run.questions} questions ({label})"
    )
    table = Table("metric", "grader", *(["with critic"] if result.critic_metrics else []), box=None)
    for key in ("pearson", "spearman", "qwk", "mae", "rmse"):
        extra = [f"{result.critic_metrics[key]:.3f}"] if result.critic_metrics else []
        table.add_row(key, f"{result.metrics[key]:.3f}", *extra)
    console.print(table)
    if result.critic_metrics:
        cm = result.critic_metrics
        console.print(
            f"critic: {int(cm['failed'])} failed calls, "
            f"tokens {int(cm['prompt_tokens'])} in / {int(cm['completion_tokens'])} out"
        )
    cats = Table("category", "n", "grader mean", "human mean", box=None)
    for cat, v in result.by_category.items():
        cats.add_row(escape(cat), str(int(v["n"])), f"{v['grader']:.2f}", f"{v['human']:.2f}")
    console.print(cats)
    if run.semeval is not None:
        console.print(_figures_table("SemEval-2013", run.semeval, SEMEVAL_COLUMNS))
    if run.saf is not None:
        console.print(_figures_table("SAF", run.saf, SAF_COLUMNS))
    if run.missing_public:
        # Said, not silent: the gate cannot hold figures it never graded.
        paths = ", ".join(map(str, run.missing_public))
        console.print(
            escape(
                f"Public sets not graded (not found: {paths}): SemEval is read from --semeval DIR "
                "(default ../shared/benchmarks/semeval2013 beside the project) and SAF from the saf "
                "folder beside it; --no-semeval and --no-saf skip them."
            ),
            soft_wrap=True,
        )
    if run.validity is not None:
        console.print(_validity_table(run.validity))
        for line in _validity_shortfalls(run.validity):
            console.print(escape(line), soft_wrap=True)
    if run.report is not None:
        console.print(escape(f"Report → {run.report}"), soft_wrap=True)
    if run.gate_status == "baseline updated":
        console.print(escape(f"Baseline updated → {run.base_path}"), soft_wrap=True)
    elif run.gate_status in ("passed", "failed") and run.base is not None:
        for p in run.problems:
            console.print(f"[red]regression:[/red] {escape(p)}", soft_wrap=True)
        if run.ok:
            base = run.base
            public = public_comparisons(base, run.semeval, run.saf)
            public_tol = base.tolerance.get("public", PUBLIC_TOLERANCE)
            held = f"; {len(public)} public figures held (tolerance {public_tol})" if public else ""
            console.print(
                f"[green]gate passed[/green]: Spearman {result.metrics['spearman']:.3f} "
                f"(baseline {base.metrics['spearman']:.3f}, tolerance {base.tolerance.get('spearman')}){held}"
            )
    elif run.gate_status == "no baseline":
        console.print(
            escape(f"No baseline at {run.base_path}; run with --update-baseline to accept these figures."),
            soft_wrap=True,
        )


def _validity_table(line: ValidityLine) -> Table:
    from rich.table import Table

    n = line.probes
    table = Table(f"validity ({n} probes; the targets: all {n}, none flagged)", "count", box=None)
    table.add_row("model answers at 4.5 or more", str(line.references_at_least_4_5))
    table.add_row("model answers flagged", str(line.references_flagged))
    table.add_row("faithful paraphrases at 4.0 or more", str(line.paraphrases_at_least_4))
    table.add_row(
        "one essential point negated: below its model answer", str(line.negated_below_their_reference)
    )
    table.add_row("  half a point or more below", str(line.negated_half_a_point_below))
    table.add_row("  the point named (you said X; in fact Y)", str(line.negated_naming_their_point))
    table.add_row(
        "model answers' mean / mean drop when negated", f"{line.reference_mean:.2f} / {line.mean_drop:.2f}"
    )
    return table


def _validity_shortfalls(line: ValidityLine, most: int = 12) -> list[str]:
    """The probes that miss the targets a reviewer can fix in a rubric, named with their scores."""

    def listed(items: tuple) -> str:
        shown = ", ".join(f"{q} {v}" for q, v in items[:most])
        return shown + (f", … ({len(items) - most} more)" if len(items) > most else "")

    lines = []
    if line.low_references:
        lines.append(f"Model answers under 4.5: {listed(line.low_references)}")
    if line.flagged_references:
        flagged = tuple((q, "/".join(f)) for q, f in line.flagged_references)
        lines.append(f"Model answers flagged: {listed(flagged)}")
    return lines


def eval_figures(run: EvalRun) -> dict[str, Any]:
    """The figures as plain JSON values (what `eval --json` prints)."""
    result, is_dev = run.result, run.options.is_dev
    figures = {
        "dataset": result.name,
        "answers": len(result.rows),
        "questions": run.questions,
        "cross_validated": is_dev,
        "metrics": result.metrics,
        "critic_metrics": result.critic_metrics,
        "by_category": result.by_category,
        "injection_excess": injection_excess(result),
        "semeval": run.semeval,
        "saf": run.saf,
        "validity": asdict(run.validity) if run.validity is not None else None,
        "gate": {
            "status": run.gate_status,
            "baseline": str(run.base_path) if is_dev else None,
            "problems": run.problems,
        },
        "ok": run.ok,
    }
    return _plain_numbers(figures)
