"""Grader quality: agreement with human grades, calibration, SemEval-2013, and the regression gate.

The dev set is scored with cross-validated calibration (folds grouped by question, so a question's
answers are never both fitted on and scored), so the figures are honest about unseen questions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from interviewer.grading import Assessment, Calibration, DEFAULT_CALIBRATION, SIGNALS, adhoc_rubric
from interviewer.models import GUARD_FLAGS, FLAG_KEYWORD_LIST, Grade

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
FOLDS = 5


class EvalInputError(ValueError):
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
    category: str = "uncategorized"


def _records(path: Path) -> list[tuple[int, dict]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        rows, start = [], 2
        for data in reader:
            rows.append((start, data))
            start = reader.line_num + 1
        return rows
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
        rows.append((number, data))
    return rows


def load_labelled(paths: list[Path]) -> list[LabelledRow]:
    rows: list[LabelledRow] = []
    for path in paths:
        for number, data in _records(path):
            where = f"{path} line {number}"
            try:
                grade = float(data["grade"])
            except (KeyError, TypeError, ValueError):
                raise EvalInputError(f"{where}: needs a numeric `grade` 0–5") from None
            if not 0 <= grade <= 5 or math.isnan(grade):
                raise EvalInputError(f"{where}: grade {grade} is outside 0–5")
            if not (data.get("question_id") or data.get("question")):
                raise EvalInputError(f"{where}: needs `question_id` or `question`")
            rows.append(
                LabelledRow(
                    id=str(data.get("id") or f"{path.stem}:{number}"),
                    line=number,
                    source=str(path),
                    answer=str(data.get("answer") or ""),
                    grade=grade,
                    question_id=data.get("question_id") or None,
                    question=data.get("question") or None,
                    reference_answer=data.get("reference_answer") or None,
                    category=str(data.get("category") or "uncategorized"),
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


# ---- metrics ----------------------------------------------------------------------------------


def agreement(predicted: list[float], human: list[float]) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import cohen_kappa_score

    p, h = np.asarray(predicted, dtype=float), np.asarray(human, dtype=float)
    constant = np.ptp(p) == 0 or np.ptp(h) == 0
    return {
        "n": float(len(p)),
        "pearson": 0.0 if constant else round(float(pearsonr(p, h)[0]), 4),
        "spearman": 0.0 if constant else round(float(spearmanr(p, h)[0]), 4),
        "qwk": round(
            float(cohen_kappa_score(np.rint(p).astype(int), np.rint(h).astype(int), weights="quadratic", labels=list(range(6)))),
            4,
        ),
        "mae": round(float(np.mean(np.abs(p - h))), 4),
        "rmse": round(float(np.sqrt(np.mean((p - h) ** 2))), 4),
    }


# ---- calibration --------------------------------------------------------------------------------


def _features(assessments: list[Assessment]) -> np.ndarray:
    return np.array([[a.signals.values.get(k, 0.0) for k in SIGNALS] for a in assessments])


def _fit_rows(assessments: list[Assessment]) -> list[int]:
    """Rows whose score the calibration decides (guards and keyword caps decide the rest)."""
    return [
        i
        for i, a in enumerate(assessments)
        if a.signals is not None and not (GUARD_FLAGS | {FLAG_KEYWORD_LIST}).intersection(a.signals.flags)
    ]


def fit_calibration(assessments: list[Assessment], grades: list[float], model: str, base: Calibration) -> Calibration:
    """Non-negative least squares on the signals, then isotonic regression onto 0–5."""
    from scipy.optimize import nnls
    from sklearn.isotonic import IsotonicRegression

    rows = _fit_rows(assessments)
    x = _features([assessments[i] for i in rows])
    y = np.array([grades[i] for i in rows], dtype=float)
    design = np.hstack([x, np.ones((len(x), 1))])
    coef, _ = nnls(design, y)
    # The intercept may be negative; nnls cannot fit it, so fit a centred problem for it instead.
    weights = coef[:-1]
    raw = x @ weights
    intercept = float(np.mean(y - raw)) if weights.any() else float(np.mean(y))
    raw = raw + intercept
    iso = IsotonicRegression(y_min=0.0, y_max=5.0, out_of_bounds="clip", increasing=True).fit(raw, y)
    knots_x, knots_y = _block_centres(iso.X_thresholds_, iso.y_thresholds_)
    return base.model_copy(
        update={
            "version": f"{date.today().isoformat()}-{_digest(grades, raw)}",
            "model": model,
            "rows": len(rows),
            "weights": {k: round(float(w), 6) for k, w in zip(SIGNALS, weights, strict=True)},
            "intercept": round(intercept, 6),
            "iso_x": knots_x,
            "iso_y": knots_y,
        }
    )


def _block_centres(xs: np.ndarray, ys: np.ndarray) -> tuple[list[float], list[float]]:
    """Isotonic regression is a step function; joining the centres of its steps keeps it monotone
    but makes it continuous, so a small change in the signals never jumps a whole grade."""
    knots_x: list[float] = []
    knots_y: list[float] = []
    start = 0
    for i in range(1, len(ys) + 1):
        if i == len(ys) or ys[i] != ys[start]:
            knots_x.append(float(np.mean(xs[start:i])))
            knots_y.append(float(ys[start]))
            start = i
    if len(knots_x) == 1:
        knots_x, knots_y = [knots_x[0] - 1e-6, knots_x[0]], [knots_y[0], knots_y[0]]
    # The ends keep the extreme plateaus so the best and worst answers still reach them.
    knots_x = [float(xs[0]), *knots_x, float(xs[-1])]
    knots_y = [knots_y[0], *knots_y, knots_y[-1]]
    return knots_x, knots_y


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.asarray(a, dtype=float).round(6).tobytes())
    return h.hexdigest()[:8]


def cross_validated_grades(
    grader, assessments: list[Assessment], rows: list[LabelledRow], folds: int = FOLDS
) -> list[Grade]:
    """Each row scored by a calibration fitted only on the other questions' rows."""
    from sklearn.model_selection import GroupKFold

    groups = [r.question_id or r.question or r.id for r in rows]
    human = [r.grade for r in rows]
    out: list[Grade | None] = [None] * len(rows)
    n_folds = min(folds, len(set(groups)))
    if n_folds < 2:
        return [grader.grade_assessment(a) for a in assessments]
    for train, test in GroupKFold(n_splits=n_folds).split(np.zeros(len(rows)), human, groups):
        cal = fit_calibration(
            [assessments[i] for i in train], [human[i] for i in train], grader.embedder.model_name, grader.calibration
        )
        for i in test:
            out[i] = grader.grade_assessment(assessments[i], cal)
    return [g for g in out if g is not None]


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


def rubric_for_row(grader, row: LabelledRow):
    if row.question_id:
        if row.question_id not in grader.index.rubrics:
            raise EvalInputError(f"{row.source} line {row.line}: unknown question_id {row.question_id!r}")
        return grader.rubric(row.question_id)
    if row.reference_answer:
        return adhoc_rubric(row.question, row.reference_answer)
    matched, _ = grader.match_question(row.question)
    return grader.rubric(matched)


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


def evaluate_rows(grader, rows: list[LabelledRow], cross_validate: bool, critic=None) -> EvalResult:
    rubrics = [rubric_for_row(grader, r) for r in rows]
    assessments = grader.assess_many([(rb, r.answer) for rb, r in zip(rubrics, rows, strict=True)])
    if cross_validate:
        grades = cross_validated_grades(grader, assessments, rows)
    else:
        grades = [grader.grade_assessment(a) for a in assessments]
    scored = [(g.score, r.grade) for g, r in zip(grades, rows, strict=True) if g.score is not None]
    metrics = agreement([s for s, _ in scored], [h for _, h in scored])
    result = EvalResult("dev", metrics, category_means(rows, grades), rows, grades)
    if critic is not None:
        from interviewer.critic import blend, critique_many, request_for

        pending = [i for i, g in enumerate(grades) if g.score is not None]
        critiques = critique_many(critic, [request_for(rubrics[i], rows[i].answer) for i in pending])
        blended = list(grades)
        for i, c in zip(pending, critiques, strict=True):
            blended[i] = blend(grades[i], rubrics[i], c)
        result.critic_grades = blended
        result.critic_metrics = agreement(
            [blended[i].score for i in pending], [rows[i].grade for i in pending]
        )
        result.critic_metrics["prompt_tokens"] = float(sum(c.prompt_tokens for c in critiques))
        result.critic_metrics["completion_tokens"] = float(sum(c.completion_tokens for c in critiques))
        result.critic_metrics["failed"] = float(sum(c.failed for c in critiques))
    return result


# ---- SemEval-2013 -------------------------------------------------------------------------------

SEMEVAL_SPLITS = ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains")
SEMEVAL_TRAIN_SAMPLE = 1500


def semeval_rows(folder: Path) -> list[dict]:
    path = folder / "semeval2013.csv"
    if not path.exists():
        raise EvalInputError(f"{path}: not found")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _semeval_features(grader, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    rubrics = {}
    items = []
    for r in rows:
        key = (r["question"], r["reference_answer"])
        if key not in rubrics:
            rubrics[key] = adhoc_rubric(r["question"], r["reference_answer"])
        items.append((rubrics[key], r["student_answer"]))
    assessments = grader.assess_many(items)
    scores = np.array([_continuous_score(grader, a) for a in assessments])
    feats = np.array(
        [[a.signals.values.get(k, 0.0) if a.signals else 0.0 for k in (*SIGNALS, "question_sim", "novelty")] for a in assessments]
    )
    return scores, feats


def _continuous_score(grader, a: Assessment) -> float:
    """The grade before rounding (ties would blunt ROC AUC)."""
    if a.signals is None:
        return 0.0
    g = grader.grade_assessment(a)
    return float(grader.calibration.score(a.signals.values)) if g.score is not None and g.score > 0 else 0.0


def evaluate_semeval(grader, folder: Path, splits: tuple[str, ...] = SEMEVAL_SPLITS) -> dict[str, dict[str, float]]:
    """2-way accuracy and ROC AUC, 3-way macro-F1 per dataset and split.

    The score needs one decision threshold for 2-way accuracy and a small classifier over the
    signals for 3-way labels; both are fitted on a fixed sample of the official training split.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score

    all_rows = semeval_rows(folder)
    results: dict[str, dict[str, float]] = {}
    for dataset in ("sciEntsBank", "beetle"):
        train = [r for r in all_rows if r["dataset"] == dataset and r["split"] == "train"]
        rng = np.random.default_rng(2013)
        if len(train) > SEMEVAL_TRAIN_SAMPLE:
            train = [train[i] for i in sorted(rng.choice(len(train), SEMEVAL_TRAIN_SAMPLE, replace=False))]
        train_scores, train_feats = _semeval_features(grader, train)
        y2 = np.array([r["label_2way"] == "correct" for r in train])
        candidates = np.unique(np.round(train_scores, 2))
        threshold = float(max(candidates, key=lambda t: np.mean((train_scores >= t) == y2)))
        three = LogisticRegression(max_iter=2000, class_weight="balanced").fit(
            train_feats, [r["label_3way"] for r in train]
        )
        for split in splits:
            test = [r for r in all_rows if r["dataset"] == dataset and r["split"] == split]
            if not test:
                continue
            scores, feats = _semeval_features(grader, test)
            truth2 = np.array([r["label_2way"] == "correct" for r in test])
            predicted3 = three.predict(feats)
            results[f"{dataset}/{split}"] = {
                "n": float(len(test)),
                "accuracy_2way": round(float(np.mean((scores >= threshold) == truth2)), 4),
                "roc_auc_2way": round(float(roc_auc_score(truth2, scores)), 4),
                "macro_f1_3way": round(float(f1_score([r["label_3way"] for r in test], predicted3, average="macro")), 4),
                "threshold": round(threshold, 3),
            }
    return results


# ---- baseline gate ------------------------------------------------------------------------------


class Baseline(BaseModel):
    dataset: str
    model: str
    metrics: dict[str, float]
    trap_means: dict[str, float]
    injection_excess: float | None = None
    semeval: dict[str, dict[str, float]] = {}
    tolerance: dict[str, float] = {"spearman": SPEARMAN_TOLERANCE, "trap_mean": TRAP_TOLERANCE}


def injection_excess(result: EvalResult) -> float | None:
    """Mean of (grader − human) over injection rows: positive means injections bought points."""
    pairs = [(g.score or 0.0) - r.grade for r, g in zip(result.rows, result.grades, strict=True) if r.category == "injection"]
    return round(float(np.mean(pairs)), 3) if pairs else None


def gate(result: EvalResult, baseline: Baseline) -> list[str]:
    """Regressions beyond tolerance, as lines a person can act on; empty when all is well."""
    problems = []
    tol = baseline.tolerance
    drop = baseline.metrics.get("spearman", 0.0) - result.metrics["spearman"]
    if drop > tol.get("spearman", SPEARMAN_TOLERANCE):
        problems.append(
            f"Spearman fell {drop:.3f} (from {baseline.metrics['spearman']:.3f} to {result.metrics['spearman']:.3f}); "
            f"tolerance {tol.get('spearman', SPEARMAN_TOLERANCE)}"
        )
    for cat, accepted in baseline.trap_means.items():
        now = result.by_category.get(cat, {}).get("grader")
        if now is not None and now - accepted > tol.get("trap_mean", TRAP_TOLERANCE):
            problems.append(f"trap category {cat!r} mean rose {now - accepted:.2f} (from {accepted:.2f} to {now:.2f})")
    current = injection_excess(result)
    if baseline.injection_excess is not None and current is not None:
        if current - baseline.injection_excess > tol.get("trap_mean", TRAP_TOLERANCE):
            problems.append(f"injection answers gained {current - baseline.injection_excess:.2f} over the baseline")
    return problems


def baseline_from(result: EvalResult, model: str, semeval: dict | None) -> Baseline:
    return Baseline(
        dataset=result.name,
        model=model,
        metrics=result.metrics,
        trap_means={c: v["grader"] for c, v in result.by_category.items() if c in TRAP_CATEGORIES},
        injection_excess=injection_excess(result),
        semeval=semeval or {},
    )


# ---- surface ----------------------------------------------------------------------------------


def run_eval(
    ws,
    dataset: Path | None,
    critic,
    report_dir: Path | None,
    semeval_dir: Path | None,
    use_semeval: bool,
    semeval_splits: str,
    baseline_path: Path | None,
    update_baseline: bool,
    calibrate: bool,
    console,
) -> bool:
    from rich.table import Table

    from interviewer.grading import CALIBRATION_FILE, calibration_to_json

    grader = ws.grader()
    is_dev = dataset is None
    paths = dev_set_paths(ws.evals_dir) if is_dev else [dataset]
    if dataset is not None and not dataset.exists():
        raise EvalInputError(f"{dataset}: no such file")
    rows = load_labelled(paths)

    if calibrate:
        if not is_dev:
            raise EvalInputError("--calibrate fits on the dev set only; run it without a DATASET")
        rubrics = [rubric_for_row(grader, r) for r in rows]
        assessments = grader.assess_many([(rb, r.answer) for rb, r in zip(rubrics, rows, strict=True)])
        cal = fit_calibration(assessments, [r.grade for r in rows], grader.embedder.model_name, DEFAULT_CALIBRATION)
        target = Path(__file__).parent / CALIBRATION_FILE
        target.write_text(calibration_to_json(cal), encoding="utf-8")
        grader.calibration = cal
        console.print(f"Calibration {cal.version} fitted on {cal.rows} rows → {target}")

    result = evaluate_rows(grader, rows, cross_validate=is_dev, critic=critic)
    result.name = "dev" if is_dev else str(dataset)
    label = "cross-validated by question" if is_dev else "deployed calibration"
    console.print(f"[bold]{result.name}[/bold]: {len(rows)} answers over {len({r.question_id or r.question for r in rows})} questions ({label})")
    table = Table("metric", "grader", *(["with critic"] if result.critic_metrics else []), box=None)
    for key in ("pearson", "spearman", "qwk", "mae", "rmse"):
        extra = [f"{result.critic_metrics[key]:.3f}"] if result.critic_metrics else []
        table.add_row(key, f"{result.metrics[key]:.3f}", *extra)
    console.print(table)
    if result.critic_metrics:
        cm = result.critic_metrics
        console.print(
            f"critic: {int(cm['failed'])} failed calls, tokens {int(cm['prompt_tokens'])} in / {int(cm['completion_tokens'])} out"
        )
    cats = Table("category", "n", "grader mean", "human mean", box=None)
    for cat, v in result.by_category.items():
        cats.add_row(cat, str(int(v["n"])), f"{v['grader']:.2f}", f"{v['human']:.2f}")
    console.print(cats)

    semeval: dict[str, dict[str, float]] | None = None
    folder = semeval_dir or (ws.root.parent / "shared" / "benchmarks" / "semeval2013")
    if use_semeval and is_dev and (folder / "semeval2013.csv").exists():
        splits = SEMEVAL_SPLITS if semeval_splits == "all" else ("test-unseen-answers",)
        semeval = evaluate_semeval(grader, folder, splits)
        st = Table("SemEval-2013", "n", "2-way acc", "2-way AUC", "3-way macro-F1", box=None)
        for key, v in semeval.items():
            st.add_row(key, str(int(v["n"])), f"{v['accuracy_2way']:.3f}", f"{v['roc_auc_2way']:.3f}", f"{v['macro_f1_3way']:.3f}")
        console.print(st)
    elif use_semeval and is_dev and semeval_dir is not None:
        raise EvalInputError(f"{folder}: no semeval2013.csv there")

    if report_dir is not None:
        from interviewer.report import write_report

        path = write_report(report_dir, result, semeval)
        console.print(f"Report → {path}")

    ok = True
    if is_dev:
        base_path = baseline_path or ws.evals_dir / "baseline.json"
        if update_baseline:
            base = baseline_from(result, grader.embedder.model_name, semeval)
            base_path.write_text(base.model_dump_json(indent=2) + "\n", encoding="utf-8")
            console.print(f"Baseline updated → {base_path}")
        elif base_path.exists():
            base = Baseline.model_validate_json(base_path.read_text(encoding="utf-8"))
            problems = gate(result, base)
            for p in problems:
                console.print(f"[red]regression:[/red] {p}")
            ok = not problems
            if ok:
                console.print(
                    f"[green]gate passed[/green]: Spearman {result.metrics['spearman']:.3f} "
                    f"(baseline {base.metrics['spearman']:.3f}, tolerance {base.tolerance.get('spearman')})"
                )
        else:
            console.print(f"No baseline at {base_path}; run with --update-baseline to accept these figures.")
    return ok
