"""`interviewer eval`'s core: agreement metrics, honest cross-validation, the regression gate, the report."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from interviewer.domain.grade import Contradiction, Grade
from interviewer.grading.examples import NEAR_FROMS
from interviewer.grading.fit import cross_validated_grades
from interviewer.grading.metrics import agreement
from interviewer.grading.validity import ValidityGrades, probe_problems, validity_line
from interviewer.sources.labelled import EvalInputError, dev_set_paths, load_labelled
from interviewer.sources.validity import NegatedProbe, ValidityProbe
from interviewer.surfaces.evals import (
    Baseline,
    EvalOptions,
    EvalResult,
    PublicComparison,
    evaluate_semeval,
    gate,
    public_comparisons,
    rubric_for_row,
    run_eval,
)
from interviewer.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SEMEVAL = ROOT.parent / "shared" / "benchmarks" / "semeval2013"
SUBSET_QUESTIONS = 10  # of the dev set's 71: ~65 answers covering every category, seconds to grade


class Quiet(Console):
    """A console that keeps what run_eval prints."""

    def __init__(self):
        super().__init__(file=io.StringIO(), width=200, color_system=None, highlight=False)

    @property
    def text(self) -> str:
        return self.file.getvalue()


def dev_lines() -> list[str]:
    return [
        line
        for path in dev_set_paths(ROOT / "evals")
        for line in path.read_text().splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="module")
def subset_lines() -> list[str]:
    """The dev set's rows for its first questions, as the JSON lines they are stored as."""
    keep: list[str] = []
    for line in dev_lines():
        qid = json.loads(line)["question_id"]
        if qid not in keep:
            keep.append(qid)
    wanted = set(keep[:SUBSET_QUESTIONS])
    return [line for line in dev_lines() if json.loads(line)["question_id"] in wanted]


@pytest.fixture()
def home(tmp_path, subset_lines, grader):
    """A workspace whose dev set is the subset, graded by the session's grader (repo rubrics and index)."""
    (tmp_path / "evals" / "dev").mkdir(parents=True)
    (tmp_path / "evals" / "dev" / "subset.jsonl").write_text("\n".join(subset_lines) + "\n")
    ws = Workspace(tmp_path)
    ws._grader = grader
    return ws


# ---- metrics --------------------------------------------------------------------------------------


def test_agreement_reports_pearson_spearman_qwk_mae_rmse():
    from scipy.stats import pearsonr, spearmanr

    human = [0, 1, 2, 3, 4, 5, 5, 2]
    predicted = [0.4, 1.2, 1.8, 3.5, 3.9, 4.6, 4.8, 2.9]
    m = agreement(predicted, human)
    assert m["n"] == 8
    assert m["pearson"] == pytest.approx(pearsonr(predicted, human)[0], abs=1e-4)
    assert m["spearman"] == pytest.approx(spearmanr(predicted, human)[0], abs=1e-4)
    assert m["mae"] == pytest.approx(np.mean(np.abs(np.subtract(predicted, human))), abs=1e-4)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(np.subtract(predicted, human) ** 2)), abs=1e-4)
    assert 0.8 < m["qwk"] <= 1.0
    perfect = agreement([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5])
    assert perfect["pearson"] == perfect["spearman"] == perfect["qwk"] == 1.0 and perfect["mae"] == 0
    # A constant grader has no correlation to speak of: 0, not NaN.
    assert agreement([2, 2, 2], [0, 3, 5])["spearman"] == 0.0


def test_spearman_within_ranks_each_questions_answers_apart_from_the_questions_levels():
    """Two questions each ranked perfectly, one scored 3 points higher than its grades: within each
    question the ranking is exact, while the pooled correlation is not."""
    from interviewer.grading.metrics import spearman_within

    human = [1, 2, 3, 4, 1, 2, 3, 4]
    predicted = [0.0, 0.5, 1.0, 1.5, 3.5, 4.0, 4.5, 5.0]
    groups = ["a"] * 4 + ["b"] * 4
    assert spearman_within(predicted, human, groups) == 1.0
    assert agreement(predicted, human)["spearman"] < 0.8
    # Reversed inside "b" (4 answers) and exact in "a" (4): weighted by size, they cancel.
    assert spearman_within([*predicted[:4], *predicted[4:][::-1]], human, groups) == 0.0
    # Groups too small or constant on either side say nothing: left out, None when nothing is left.
    assert spearman_within([1.0, 2.0, 3.0, 4.0, 5.0], [1, 2, 3, 4, 4], ["a", "a", "a", "b", "b"]) == 1.0
    assert spearman_within([1.0, 1.0, 1.0], [0, 3, 5], ["a"] * 3) is None


# ---- reading labelled data ------------------------------------------------------------------------


def test_labelled_csv_and_jsonl_read_alike_with_line_numbers(tmp_path):
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text(
        'id,question_id,answer,grade,category\n\nc1,000-12,"two\nlines",4,good\nc2,000-12,,0,\n',
        encoding="utf-8",
    )
    jsonl_path = tmp_path / "labels.jsonl"
    jsonl_path.write_text(
        json.dumps({"question_id": 12, "answer": "x", "grade": "3"})
        + "\n\n"
        + json.dumps(
            {"question": "What is dropout?", "reference_answer": "Zeroing units.", "answer": "y", "grade": 2}
        )
        + "\n"
    )
    rows = load_labelled([csv_path, jsonl_path])
    assert [(r.id, r.line, r.grade, r.category) for r in rows] == [
        ("c1", 3, 4.0, "good"),
        ("c2", 5, 0.0, "uncategorized"),
        ("labels:1", 1, 3.0, "uncategorized"),
        ("labels:3", 3, 2.0, "uncategorized"),
    ]
    assert rows[0].answer == "two\nlines" and rows[1].answer == ""
    assert rows[2].question_id == "12"  # a number id is read as text, not a crash
    assert rows[3].question == "What is dropout?" and rows[3].reference_answer == "Zeroing units."


BAD_ROWS = {
    "no grade": ({"question_id": "000-12", "answer": "x"}, "needs a numeric `grade` 0–5"),
    "grade not a number": (
        {"question_id": "000-12", "answer": "x", "grade": "good"},
        "needs a numeric `grade`",
    ),
    "grade above 5": ({"question_id": "000-12", "answer": "x", "grade": 7}, "grade 7.0 is outside 0–5"),
    "grade below 0": ({"question_id": "000-12", "answer": "x", "grade": -1}, "grade -1.0 is outside 0–5"),
    "no question": ({"answer": "x", "grade": 3}, "needs `question_id` or `question`"),
    "reference without question": (
        {"question_id": "000-12", "reference_answer": "a reference", "answer": "x", "grade": 3},
        "`reference_answer` needs the `question` text too",
    ),
    "no answer field": ({"question_id": "000-12", "grade": 3}, "needs an `answer` field (it may be empty)"),
    "misnumbered reference, named as written": (
        {"question": "Q?", "reference_answer": "R.", "Reference_Answer_17": "S.", "answer": "x", "grade": 3},
        "unknown column `Reference_Answer_17`: other acceptable answers go in `reference_answer_2`",
    ),
    "not JSON": ('{"question_id": "000-12", ', "not valid JSON"),
    "not an object": ("[1, 2]", "expected a JSON object"),
}


@pytest.mark.parametrize(("row", "message"), BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_labelled_row_names_its_file_and_line(tmp_path, row, message):
    path = tmp_path / "labels.jsonl"
    good = json.dumps({"question_id": "000-12", "answer": "ok", "grade": 3})
    path.write_text(good + "\n" + (row if isinstance(row, str) else json.dumps(row)) + "\n")
    with pytest.raises(EvalInputError) as caught:
        load_labelled([path])
    assert str(caught.value).startswith(f"{path} line 2: ") and message in str(caught.value)


def test_rows_no_rubric_fits_name_their_file_and_line(grader, tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text(
        json.dumps({"question_id": "999-99", "answer": "x", "grade": 1})
        + "\n"
        + json.dumps({"question": "What is the capital of France?", "answer": "Paris", "grade": 5})
        + "\n"
        + json.dumps({"question": "What is X?", "reference_answer": "ab", "answer": "x", "grade": 1})
        + "\n"
    )
    unknown, unmatched, tiny = load_labelled([path])
    with pytest.raises(
        EvalInputError, match=rf"^{path} line 1: unknown question_id '999-99'; see `interview"
    ):
        rubric_for_row(grader, unknown)
    # Never silently graded against whatever bank question happens to be nearest.
    with pytest.raises(
        EvalInputError, match=rf"^{path} line 2: no bank question matches 'What is the capital"
    ):
        rubric_for_row(grader, unmatched)
    with pytest.raises(EvalInputError, match=rf"^{path} line 3: `reference_answer` is too short"):
        rubric_for_row(grader, tiny)


def test_a_labelled_rows_own_question_id_beside_a_reference_is_a_label(grader, tmp_path):
    """As in `interviewer grade`: an id that is no bank id does not stop the row's own reference."""
    question = "Name one way to reduce overfitting in a neural network and say how it helps."
    reference = "Dropout randomly zeroes activations during training, so units cannot co-adapt."
    path = tmp_path / "labels.jsonl"
    row = {"question": question, "reference_answer": reference, "answer": "x", "grade": 1}
    path.write_text(json.dumps({**row, "question_id": "Q1"}) + "\n" + json.dumps(row) + "\n")
    labelled, plain = load_labelled([path])
    assert rubric_for_row(grader, labelled).question_id == rubric_for_row(grader, plain).question_id
    assert rubric_for_row(grader, labelled).reference == reference


def test_a_labelled_rows_keys_are_matched_as_grade_matches_columns(tmp_path):
    path = tmp_path / "labels.jsonl"
    row = {
        "Question": "What is X?",
        "Reference Answer": "X is a thing that does Y.",
        "Answer": "x",
        "Grade": 1,
    }
    path.write_text(json.dumps(row) + "\n")
    [labelled] = load_labelled([path])
    assert (labelled.question, labelled.reference_answer) == ("What is X?", row["Reference Answer"])
    path.write_text(json.dumps({**row, "grade": 2}) + "\n")
    with pytest.raises(EvalInputError, match=rf"^{path} line 1: columns 'Grade' and 'grade' are both read"):
        load_labelled([path])


def test_a_labelled_nan_is_an_empty_cell(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"question_id": NaN, "question": "What is X?", "answer": NaN, "id": 7.0, "grade": 1}\n')
    [row] = load_labelled([path])
    assert (row.question_id, row.answer, row.id) == (None, "", "7")


def test_a_labelled_row_may_list_other_acceptable_answers(grader, tmp_path):
    """`interviewer eval` reads reference_answer_2, … as `interviewer grade` does."""
    question = "Name one way to reduce overfitting in a neural network and say how it helps."
    first = "Dropout randomly zeroes activations during training, so units cannot co-adapt."
    second = (
        "Weight decay adds a penalty on the size of the weights to the loss, which keeps the model simple."
    )
    path = tmp_path / "labels.csv"
    path.write_text(
        "id,question,reference_answer,reference_answer_2,answer,grade\n"
        f'a,"{question}","{first}","{second}","An L2 penalty on the weights in the loss keeps it simple.",5\n'
        f'b,"{question}","{first}",,"An L2 penalty on the weights in the loss keeps it simple.",5\n'
        f'c,"{question}",,"{second}",x,1\n',
        encoding="utf-8",
    )
    with pytest.raises(
        EvalInputError, match=rf"^{path} line 4: `reference_answer_2` needs `reference_answer`"
    ):
        load_labelled([path])
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    both, one = load_labelled([path])
    assert (both.reference_answer, both.other_references) == (first, [second])
    assert one.other_references == []
    assert rubric_for_row(grader, both).other_references == [second]
    tiny = both.model_copy(update={"other_references": ["ab"]})
    with pytest.raises(EvalInputError, match=rf"^{path} line 2: the reference answer 'ab' is too short"):
        rubric_for_row(grader, tiny)
    graded_both, graded_one = grader.grade_many([(rubric_for_row(grader, r), r.answer) for r in (both, one)])
    assert (graded_both.score or 0) > (graded_one.score or 0)


def test_semeval_rows_carry_each_questions_other_acceptable_answers(tmp_path):
    """Beetle lists several acceptable answers per question (BEST, GOOD, MINIMAL); bare KEYWORD entries
    and the row's own reference are not among its others. Without the companion file: none."""
    from interviewer.surfaces.evals import semeval_rows

    fields = ["id", "dataset", "split", "question_id", "module", "question", "reference_answer"]
    fields += ["student_answer", "label_3way", "label_2way"]
    with (tmp_path / "semeval2013.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        writer.writerow(
            ["1", "beetle", "train", "Q1", "m", "Why?", "The gap.", "a gap", "correct", "correct"]
        )
        writer.writerow(
            ["2", "sciEntsBank", "train", "S1", "m", "What?", "Salt.", "salt", "correct", "correct"]
        )
    assert [r["other_references"] for r in semeval_rows(tmp_path)] == [(), ()]
    with (tmp_path / "semeval2013_reference_answers.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "question_id", "ref_index", "category", "reference_answer"])
        for i, (category, text) in enumerate(
            [
                ("BEST", "The gap."),
                ("GOOD", "They are not connected."),
                ("MINIMAL", "A gap."),
                ("KEYWORD", "gap"),
            ]
        ):
            writer.writerow(["beetle", "Q1", i, category, text])
        writer.writerow(["sciEntsBank", "S1", 0, "", "Salt."])
    beetle, sci = semeval_rows(tmp_path)
    assert (
        beetle["other_references"] == ("They are not connected.", "A gap.") and sci["other_references"] == ()
    )


# ---- cross-validation -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def assessed(grader, subset_lines, tmp_path_factory):
    path = tmp_path_factory.mktemp("cv") / "subset.jsonl"
    path.write_text("\n".join(subset_lines) + "\n")
    rows = load_labelled([path])
    rubrics = [rubric_for_row(grader, r) for r in rows]
    return rows, grader.assess_many([(rb, r.answer) for rb, r in zip(rubrics, rows, strict=True)])


def _regraded(rows, changes: dict[int, float]):
    return [r.model_copy(update={"grade": changes[i]}) if i in changes else r for i, r in enumerate(rows)]


def test_a_rows_cv_score_does_not_depend_on_its_own_human_grade(grader, assessed):
    rows, assessments = assessed
    before = cross_validated_grades(grader, assessments, rows)
    graded = [i for i, g in enumerate(before) if g.score is not None and not g.guarded]
    for i in graded[:: max(1, len(graded) // 8)]:
        flipped = cross_validated_grades(grader, assessments, _regraded(rows, {i: 5.0 - rows[i].grade}))
        assert flipped[i].score == before[i].score, rows[i].id


def test_the_calibrations_map_is_monotone_deterministic_and_has_no_cliff():
    """Human grades come in whole steps, so one isotonic fit is a staircase with steps where a few
    rows happen to fall; the bagged map stays monotone and within 0-5, is the same on every fit,
    and rises with no step like a single fit's."""
    from sklearn.isotonic import IsotonicRegression

    from interviewer.grading.fit import _bagged_isotonic

    rng = np.random.default_rng(3)
    raw = rng.uniform(0, 5, 300)
    human = np.clip(np.rint(raw + rng.normal(0, 0.8, 300)), 0, 5)
    weights = np.ones(300)
    xs, ys = _bagged_isotonic(raw, human, weights)
    assert (xs, ys) == _bagged_isotonic(raw, human, weights)
    assert min(np.diff(ys)) >= 0.0 and ys[0] >= 0.0 and ys[-1] <= 5.0
    # Steepest slope on a fine grid: a single fit rises 50-130 grade points per unit of the blend
    # somewhere (a step), the bagged map about 4 (a grade over a quarter of the blend's unit).
    fine = np.linspace(xs[0], xs[-1], 2001)
    single = IsotonicRegression(y_min=0, y_max=5, out_of_bounds="clip").fit(raw, human).predict(fine)
    bagged = np.interp(fine, xs, ys)
    assert max(np.diff(bagged)) < 0.1 * max(np.diff(single))
    assert max(np.diff(bagged)) / (fine[1] - fine[0]) < 6.0


@pytest.mark.parametrize("slope", [0.5, 1.0, 2.0])
def test_a_map_with_a_least_slope_rises_at_least_that_fast_within_0_to_5(slope):
    """Where the grades stop rising with the blend, a plain map is flat; with a least slope it still
    ranks the answers there, and stays monotone, within 0-5 and the same on every fit."""
    from interviewer.grading.fit import _bagged_isotonic

    rng = np.random.default_rng(5)
    raw = rng.uniform(0, 4, 300)
    # Grades rise with the blend, except for a flat stretch in the middle (as on the dev set).
    human = np.clip(
        np.rint(np.where((raw > 1.5) & (raw < 3.0), 2.5, raw * 1.2) + rng.normal(0, 0.5, 300)), 0, 5
    )
    weights = np.ones(300)
    flat_x, flat_y = _bagged_isotonic(raw, human, weights)
    xs, ys = _bagged_isotonic(raw, human, weights, slope)
    assert (xs, ys) == _bagged_isotonic(raw, human, weights, slope)
    assert xs == flat_x and ys[0] >= 0.0 and ys[-1] <= 5.0
    rises = np.diff(ys) / np.diff(xs)
    inside = (np.array(ys[:-1]) > 0.0) & (np.array(ys[1:]) < 5.0)  # where it is not clipped to 0-5
    assert inside.sum() > 10 and min(rises[inside]) >= slope - 1e-4
    middle = (np.array(xs) > 1.7) & (np.array(xs) < 2.8)
    assert np.ptp(np.array(ys)[middle]) > np.ptp(np.array(flat_y)[middle]) + 0.3


def test_the_map_slope_is_chosen_by_the_mean_correlation_over_sources(grader, assessed):
    """Each slope is tried; the dev figure is the cross-validated one; a pool counts only its answers
    in English; the slope chosen has the best mean (the least slope among equals)."""
    from interviewer.domain.grade import FLAG_NOT_ENGLISH
    from interviewer.grading.fit import GradedPool, SlopeTrial, best_trial, choose_map_slope

    rows, assessments = assessed
    human = [r.grade for r in rows]
    graded = [i for i, a in enumerate(assessments) if a.signals is not None]
    pool = GradedPool("other", [assessments[i] for i in graded], [5.0 - human[i] for i in graded])
    german = dataclasses.replace(assessments[graded[0]], signals=None, flags=[FLAG_NOT_ENGLISH])
    with_german = GradedPool("other", [*pool.assessments, german], [*pool.grades, 5.0])
    base = grader.calibration.model_copy(update={"map_slope": 0.0})
    chosen, trials = choose_map_slope(grader, assessments, rows, [with_german], base, (0.0, 1.0))
    assert [t.slope for t in trials] == [0.0, 1.0] and all(set(t.pearson) == {"dev", "other"} for t in trials)
    _, english_only = choose_map_slope(grader, assessments, rows, [pool], base, (0.0, 1.0))
    for t, plain in zip(trials, english_only, strict=True):
        cv = cross_validated_grades(
            grader, assessments, rows, base=base.model_copy(update={"map_slope": t.slope})
        )
        assert t.pearson["dev"] == pytest.approx(np.corrcoef([g.score for g in cv], human)[0, 1], abs=1e-4)
        assert t.pearson == plain.pearson  # the German row did not count
    best = next(t for t in trials if t.slope == chosen)
    assert all(best.mean >= t.mean for t in trials)
    assert SlopeTrial(1.0, {"dev": 0.5, "other": 0.2}).mean == pytest.approx(0.35)
    tied = [SlopeTrial(1.0, {"dev": 0.5}), SlopeTrial(0.5, {"dev": 0.50001}), SlopeTrial(2.0, {"dev": 0.4})]
    assert best_trial(tied).slope == 0.5
    assert best_trial([*tied, SlopeTrial(1.5, {"dev": 0.51})]).slope == 1.5


def test_answers_to_their_own_reference_map_through_a_map_fitted_on_such_answers(grader, assessed):
    """An ad-hoc rubric's answers (a row's own question and reference) go through the own-reference map:
    the same blend, another monotone map, fitted on the pools; a bank rubric's keep the dev set's."""
    from interviewer.grading.calibration import calibration_to_json
    from interviewer.grading.fit import GradedPool, fit_calibration, with_own_reference_map
    from interviewer.grading.grader import adhoc_rubric, grade_from_signals
    from interviewer.surfaces.evals import own_map_said

    rows, assessments = assessed
    graded = [a for a in assessments if a.signals is not None and not a.signals.flags]
    generous = GradedPool("generous", graded, [5.0] * len(graded))  # every such answer graded 5
    base = grader.calibration.model_copy(update={"own_reference_map": None})
    cal = with_own_reference_map(base, [generous])
    own = cal.own_reference_map
    assert own is not None and own.fitted_on == "generous" and own.rows == len(graded)
    assert cal.version != base.version and cal.weights == base.weights and cal.iso_y == base.iso_y
    # No pool with a row to fit (none found, or every row decided by a guard): no map, another version.
    decided = [a for a in assessments if a.signals is None]  # by a guard: empty, restated, off topic…
    assert decided
    guarded = GradedPool("guarded", decided, [0.0] * len(decided))
    for nothing in ([], [GradedPool("empty", [], [])], [guarded]):
        dropped = with_own_reference_map(cal, nothing)
        assert dropped.own_reference_map is None and dropped.version not in (cal.version, base.version)
        assert with_own_reference_map(base, nothing) == base
    # What `eval --calibrate` says of it: splits found with every answer decided are not "no splits".
    assert own_map_said(own, ["generous"]).endswith(f"fitted on generous ({len(graded)} rows)")
    assert own_map_said(None, ["guarded"]).startswith("no answer of guarded left to fit on, so answers")
    assert own_map_said(None, []).startswith("no public train splits, so answers")
    # A blend fitted again carries no map fitted on another blend.
    refit = fit_calibration(graded, [3.0] * len(graded), cal.model, cal)
    assert refit.own_reference_map is None
    assert type(cal).model_validate_json(calibration_to_json(cal)) == cal
    middle = next(
        a for a in graded if 1.0 < grade_from_signals(a.rubric, a.signals, base, exact=True).score < 4.0
    )
    assert middle.rubric.bank != "adhoc"
    bank_score = grade_from_signals(middle.rubric, middle.signals, base, exact=True).score
    assert grade_from_signals(middle.rubric, middle.signals, cal, exact=True).score == bank_score
    adhoc = adhoc_rubric(middle.rubric.question, middle.rubric.model_answer or "A reference answer here.")
    own_score = grade_from_signals(adhoc, middle.signals, cal, exact=True).score
    assert own_score == pytest.approx(np.interp(cal.raw(middle.signals.values), own.iso_x, own.iso_y))
    assert own_score > grade_from_signals(adhoc, middle.signals, base, exact=True).score + 0.5


def test_cv_folds_are_grouped_by_question(grader, assessed):
    """Flip every human grade of one question: its own answers keep their scores, others move."""
    rows, assessments = assessed
    before = cross_validated_grades(grader, assessments, rows)
    target = rows[0].question_id
    mine = [i for i, r in enumerate(rows) if r.question_id == target]
    after = cross_validated_grades(
        grader, assessments, _regraded(rows, {i: 5.0 - rows[i].grade for i in mine})
    )
    assert [after[i].score for i in mine] == [before[i].score for i in mine]
    # Not vacuous: those grades do train the calibration used for the other questions.
    assert any(after[i].score != before[i].score for i in range(len(rows)) if i not in mine)


# ---- the gate ---------------------------------------------------------------------------------------


def _result(spearman: float, traps: dict[str, float]) -> EvalResult:
    return EvalResult(
        "dev",
        {"spearman": spearman},
        {c: {"n": 5, "grader": v, "human": 0.0} for c, v in traps.items()},
        [],
        [],
    )


def _baseline(spearman: float, traps: dict[str, float]) -> Baseline:
    return Baseline(dataset="dev", model="m", metrics={"spearman": spearman}, trap_means=traps)


def test_gate_allows_drift_within_tolerance():
    assert gate(_result(0.81, {"restated": 0.3}), _baseline(0.829, {"restated": 0.0})) == []


def test_gate_fails_on_a_spearman_drop_beyond_002():
    [problem] = gate(_result(0.80, {}), _baseline(0.83, {}))
    assert problem.startswith("Spearman fell 0.030 (from 0.830 to 0.800); tolerance 0.02")


SCI = "sciEntsBank/test-unseen-answers"
SAF_UQ = "saf/test_unseen_questions"


def _public_baseline() -> Baseline:
    return Baseline(
        dataset="dev",
        model="m",
        metrics={"spearman": 0.83},
        trap_means={},
        semeval={SCI: {"n": 300.0, "roc_auc_2way": 0.794, "accuracy_2way": 0.72}},
        saf={SAF_UQ: {"n": 295.0, "not_english": 5.0, "pearson": 0.640, "mean_correct": 3.3}},
    )


def test_gate_fails_when_a_public_splits_headline_figure_falls_beyond_002():
    semeval = {SCI: {"n": 300.0, "roc_auc_2way": 0.770, "accuracy_2way": 0.60}}
    saf = {SAF_UQ: {"n": 295.0, "not_english": 5.0, "pearson": 0.625, "mean_correct": 2.0}}
    [problem] = gate(_result(0.83, {}), _public_baseline(), semeval, saf)
    assert problem == f"SemEval {SCI} 2-way AUC fell 0.024 (from 0.794 to 0.770); tolerance 0.02"
    saf = {SAF_UQ: {"n": 296.0, "not_english": 4.0, "pearson": 0.600}}  # the same 300 drawn
    [problem] = gate(_result(0.83, {}), _public_baseline(), None, saf)
    assert problem == f"SAF {SAF_UQ} Pearson fell 0.040 (from 0.640 to 0.600); tolerance 0.02"
    better = {SCI: {"n": 300.0, "roc_auc_2way": 0.90}}
    assert gate(_result(0.83, {}), _public_baseline(), better, None) == []
    just_within = {SCI: {"n": 300.0, "roc_auc_2way": 0.774}}  # 0.794 - 0.774 > 0.02 in floats
    assert gate(_result(0.83, {}), _public_baseline(), just_within, None) == []
    # Fewer than two answers left in English: no Pearson on the same sample is a regression too.
    unmeasured = {SAF_UQ: {"n": 1.0, "not_english": 299.0}}
    problem, declined = gate(_result(0.83, {}), _public_baseline(), None, unmeasured)
    assert problem == f"SAF {SAF_UQ} Pearson could not be measured on the baseline's sample (it was 0.640)"
    assert declined.startswith(f"SAF {SAF_UQ}: 294 more answers declined as not English")


def test_gate_fails_when_more_of_safs_sample_is_declined_as_not_english_than_2_percent():
    """Declining answers as not English takes them out of the Pearson: a grader that declined the
    answers it reads worst could hold the Pearson on the rest, so the count is held too."""
    held = {"pearson": 0.640}
    within = {SAF_UQ: {"n": 289.0, "not_english": 11.0, **held}}  # 6 more of 300: 2% of it
    assert gate(_result(0.83, {}), _public_baseline(), None, within) == []
    fewer = {SAF_UQ: {"n": 300.0, "not_english": 0.0, **held}}
    assert gate(_result(0.83, {}), _public_baseline(), None, fewer) == []
    beyond = {SAF_UQ: {"n": 288.0, "not_english": 12.0, **held}}
    [problem] = gate(_result(0.83, {}), _public_baseline(), None, beyond)
    assert problem == (
        f"SAF {SAF_UQ}: 7 more answers declined as not English (from 5 to 12 of 300); "
        "tolerance 6 (2% of the sample)"
    )
    other_sample = {SAF_UQ: {"n": 80.0, "not_english": 20.0, **held}}  # another --public-limit
    assert gate(_result(0.83, {}), _public_baseline(), None, other_sample) == []
    # A sample whose 2% is not a whole number: 2.6 of 130 allows 2 more, and says so.
    small = Baseline(**{**_public_baseline().model_dump(), "saf": {SAF_UQ: {"n": 130.0, "not_english": 0.0}}})
    assert gate(_result(0.83, {}), small, None, {SAF_UQ: {"n": 128.0, "not_english": 2.0, **held}}) == []
    [problem] = gate(_result(0.83, {}), small, None, {SAF_UQ: {"n": 127.0, "not_english": 3.0, **held}})
    assert problem.endswith("(from 0 to 3 of 130); tolerance 2 (2% of the sample)")


def test_public_splits_on_another_sample_or_missing_from_the_baseline_are_not_compared():
    other_sample = {SCI: {"n": 100.0, "roc_auc_2way": 0.5}}
    unknown = {"beetle/test-unseen-answers": {"n": 300.0, "roc_auc_2way": 0.5}}
    for semeval in (other_sample, unknown):
        assert gate(_result(0.83, {}), _public_baseline(), semeval, None) == []
        assert public_comparisons(_public_baseline(), semeval, None) == []
    [compared] = public_comparisons(_public_baseline(), {SCI: {"n": 300.0, "roc_auc_2way": 0.8}}, {})
    assert compared == PublicComparison(f"SemEval {SCI} 2-way AUC", 0.794, 0.8)
    no_auc = Baseline(
        **{**_public_baseline().model_dump(), "semeval": {SCI: {"n": 300.0, "roc_auc_2way": float("nan")}}}
    )
    assert public_comparisons(no_auc, {SCI: {"n": 300.0, "roc_auc_2way": 0.5}}, None) == []


def test_eval_gates_the_public_figures_it_grades(home, tmp_path, monkeypatch):
    """The run's SemEval and SAF figures reach the gate: held, they are counted on the passed line;
    fallen, they fail it (the grading itself is stubbed: the public sets are not in this workspace)."""
    import interviewer.surfaces.evals as evals

    semeval_dir = tmp_path / "bench" / "semeval2013"
    semeval_dir.mkdir(parents=True)
    (semeval_dir / "semeval2013.csv").write_text("")
    (tmp_path / "bench" / "saf").mkdir()
    (tmp_path / "bench" / "saf" / evals.SAF_FILE).write_text("")
    figures = {
        "semeval": {SCI: {"n": 300.0, "roc_auc_2way": 0.794}},
        "saf": {SAF_UQ: {"n": 300.0, "pearson": 0.64}},
    }
    monkeypatch.setattr(evals, "evaluate_semeval", lambda *a, **k: figures["semeval"])
    monkeypatch.setattr(evals, "evaluate_saf", lambda *a, **k: figures["saf"])
    common = dict(
        dataset=None, report_dir=None, semeval_dir=semeval_dir, semeval_splits="ua",
        baseline_path=tmp_path / "baseline.json", calibrate=False,
    )  # fmt: skip
    assert run_eval(home, EvalOptions(update_baseline=True, **common), console=Quiet())
    console = Quiet()
    assert run_eval(home, EvalOptions(**common), console=console)
    assert "2 public figures held (tolerance 0.02)" in console.text
    assert "Public sets not graded" not in console.text
    figures["semeval"] = {SCI: {"n": 300.0, "roc_auc_2way": 0.75}}
    console = Quiet()
    failed = run_eval(home, EvalOptions(**common), console=console)
    assert not failed and failed.figures["gate"]["problems"] == [
        f"SemEval {SCI} 2-way AUC fell 0.044 (from 0.794 to 0.750); tolerance 0.02"
    ]
    assert "regression: SemEval" in console.text


def test_gate_fails_on_a_trap_category_mean_rising_beyond_03():
    [problem] = gate(
        _result(0.83, {"keyword_list": 1.25, "empty": 0.1}),
        _baseline(0.83, {"keyword_list": 0.9, "empty": 0}),
    )
    assert problem.startswith("trap category 'keyword_list' mean rose 0.35 (from 0.90 to 1.25)")


def test_eval_on_the_dev_set_passes_its_own_baseline_and_fails_a_doctored_one(home, tmp_path):
    baseline = tmp_path / "baseline.json"
    common = dict(
        dataset=None, report_dir=None, semeval_dir=None, use_semeval=False, use_saf=False,
        semeval_splits="all", baseline_path=baseline, calibrate=False,
    )  # fmt: skip
    updated = run_eval(home, EvalOptions(update_baseline=True, **common), console=Quiet())
    assert updated and updated.figures["gate"]["status"] == "baseline updated"
    accepted = json.loads(baseline.read_text())
    assert accepted["metrics"]["n"] > 50 and "restated" in accepted["trap_means"]
    console = Quiet()
    passed = run_eval(home, EvalOptions(update_baseline=False, **common), console=console)
    assert passed and "gate passed" in console.text and "cross-validated by question" in console.text
    assert "Public sets not graded" not in console.text  # both skipped as asked: nothing to say
    # The figures `eval --json` prints: valid JSON (no NaN), the same numbers the tables show.
    figures = json.loads(json.dumps(passed.figures, allow_nan=False))
    assert figures["gate"] == {"status": "passed", "baseline": str(baseline), "problems": []}
    assert figures["ok"] is True and figures["cross_validated"] is True and figures["dataset"] == "dev"
    assert figures["answers"] == accepted["metrics"]["n"] and figures["questions"] == SUBSET_QUESTIONS
    assert f"{figures['metrics']['spearman']:.3f}" in console.text
    assert set(figures["by_category"]) >= {"restated", "strong"} and "injection_excess" in figures

    better = {
        **accepted,
        "metrics": {**accepted["metrics"], "spearman": accepted["metrics"]["spearman"] + 0.05},
    }
    baseline.write_text(json.dumps(better))
    console = Quiet()
    failed = run_eval(home, EvalOptions(update_baseline=False, **common), console=console)
    assert not failed and "regression: Spearman fell 0.050" in console.text
    assert failed.figures["gate"]["status"] == "failed" and failed.figures["ok"] is False
    assert failed.figures["gate"]["problems"][0].startswith("Spearman fell 0.050")

    trap = {**accepted, "trap_means": {**accepted["trap_means"], "keyword_list": -0.5}}
    baseline.write_text(json.dumps(trap))
    console = Quiet()
    assert not run_eval(home, EvalOptions(update_baseline=False, **common), console=console)
    assert "regression: trap category 'keyword_list' mean rose" in console.text


def test_report_writes_readme_and_scatter_plot(home, tmp_path):
    report = tmp_path / "report"
    console = Quiet()
    run_eval(
        home,
        EvalOptions(
            dataset=None, report_dir=report, semeval_dir=None, use_semeval=False,
            semeval_splits="all", baseline_path=None, update_baseline=False, calibrate=False,
        ),
        console=console,
    )  # fmt: skip
    readme = (report / "README.md").read_text()
    assert readme.startswith("# Grader evaluation: dev")
    sections = [
        "| spearman |",
        "## Confusion matrix",
        "| human \\ grader | 0 | 1 | 2 | 3 | 4 | 5 |",
        "## Mean score by category",
        "## Worst disagreements",
        "![grader vs human](scatter.png)",
    ]
    for section in sections:
        assert section in readme
    matrix = [line for line in readme.splitlines() if line.startswith("| **")]
    assert len(matrix) == 6
    answers = (home.evals_dir / "dev" / "subset.jsonl").read_text().splitlines()
    assert sum(int(c) for line in matrix for c in line.split("|")[2:-1]) == len(answers)
    assert readme.count("\n### ") == 15  # the worst disagreements, each with its answer
    assert (report / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Report → {report / 'README.md'}" in console.text
    assert "No baseline at" in console.text  # this tmp workspace has none: said, not failed
    # Nor ../shared/benchmarks: SAF, not skipped, is said to be missing (SemEval was skipped).
    saf = home.root.parent / "shared" / "benchmarks" / "saf"
    assert f"Public sets not graded (not found: {saf}/" in " ".join(console.text.split())
    assert "semeval2013.csv" not in console.text


def test_a_labelled_file_other_than_the_dev_set_is_scored_with_the_deployed_calibration(
    home, tmp_path, subset_lines
):
    dataset = tmp_path / "mine.csv"
    rows = [json.loads(line) for line in subset_lines[:20]]
    with dataset.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["question_id", "answer", "grade", "category"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    console = Quiet()
    ok = run_eval(
        home,
        EvalOptions(
            dataset=dataset, report_dir=None, semeval_dir=None, use_semeval=True,
            semeval_splits="all", baseline_path=None, update_baseline=False, calibrate=False,
        ),
        console=console,
    )  # fmt: skip
    assert ok and f"{dataset}: 20 answers over" in console.text and "deployed calibration" in console.text
    assert "gate" not in console.text and "SemEval" not in console.text  # both are for the dev set only


BAD_RUNS = {
    "missing dataset": (dict(dataset="missing.jsonl"), "missing.jsonl: no such file"),
    "dataset is a folder": (dict(dataset="."), "is a folder, not a file"),
    "unknown dataset type": (dict(dataset="labels.xlsx"), "unknown file type .xlsx; use .csv or .jsonl"),
    "dataset not UTF-8": (dict(dataset="latin1.csv"), "not UTF-8 text"),
    "empty dataset": (dict(dataset="empty.jsonl"), "no labelled rows in"),
    "unknown splits": (dict(semeval_splits="most"), "unknown --semeval-splits 'most': use all or ua"),
    "tiny semeval limit": (dict(semeval_limit=3), "--semeval-limit 3 is too small"),
    "explicit baseline missing": (dict(baseline_path="nope.json"), "--baseline nope.json: no such file"),
    "baseline not a baseline": (dict(baseline_path="bad.json"), "bad.json: not a baseline"),
    "semeval folder without data": (dict(use_semeval=True, semeval_dir="."), "no semeval2013.csv there"),
    "calibrate on another dataset": (
        dict(dataset="empty.jsonl", calibrate=True),
        "--calibrate fits on the dev set",
    ),
    "report is a file": (dict(report_dir="labels.xlsx"), "is a file; give a folder"),
    "calibration out without --calibrate": (
        dict(calibration_out="cal.json"),
        "--calibration-out goes with --calibrate",
    ),
    "calibration out is a folder": (
        dict(calibrate=True, calibration_out="."),
        "is a folder; give a .json file",
    ),
    "gating another dataset": (
        dict(dataset="empty.jsonl", update_baseline=True),
        "--baseline and --update-baseline gate the dev set only",
    ),
    "map slope without --calibrate": (dict(map_slope="1"), "--map-slope goes with --calibrate"),
    "map slope not a number": (
        dict(calibrate=True, map_slope="steep"),
        "--map-slope steep: give a number of 0 or more, or auto",
    ),
    "negative map slope": (dict(calibrate=True, map_slope="-1"), "--map-slope -1: give a number of 0"),
    "map slope auto fitted on its own judges": (
        dict(calibrate=True, map_slope="auto", public_calibration=True),
        "must stay out of the fit",
    ),
    "map slope auto without the public sets": (
        dict(calibrate=True, map_slope="auto", semeval_dir="."),
        "--map-slope auto needs SemEval and SAF train; not found",
    ),
    "validity probes missing": (
        dict(validity_path="nope.yaml"),
        "validity probes file nope.yaml: no such file",
    ),
    "validity probes not YAML": (dict(validity_path="broken.yaml"), "broken.yaml line 3: not valid YAML"),
    "validity probe without its negated answer": (
        dict(validity_path="thin.yaml"),
        "thin.yaml line 2: 000-12: negated.answer: Field required; each probe needs question_id",
    ),
    "validity probes for no rubric": (
        dict(validity_path="stranger.yaml"),
        "stranger.yaml line 1: 999-99: no rubric has this question_id",
    ),
}


@pytest.mark.parametrize(("options", "message"), BAD_RUNS.values(), ids=BAD_RUNS.keys())
def test_a_bad_eval_invocation_is_one_clear_error_before_the_model_loads(
    tmp_path, monkeypatch, options, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evals" / "dev").mkdir(parents=True)
    (tmp_path / "evals" / "dev" / "d.jsonl").write_text(
        json.dumps({"question_id": "000-12", "answer": "", "grade": 0})
    )
    (tmp_path / "labels.xlsx").write_text("x")
    (tmp_path / "latin1.csv").write_bytes(b"question_id,answer,grade\n000-12,caf\xe9,3\n")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "bad.json").write_text('{"dataset": "dev"}')
    (tmp_path / "broken.yaml").write_text("- question_id: 000-12\n  paraphrase: one\n   negated: [\n")
    (tmp_path / "thin.yaml").write_text(
        "# a probe\n- question_id: 000-12\n  paraphrase: It adds nonlinearity.\n  negated: {key_point: p}\n"
    )
    (tmp_path / "rubrics").symlink_to(ROOT / "rubrics")  # the probes are checked against them
    (tmp_path / "stranger.yaml").write_text(
        "- {question_id: 999-99, paraphrase: x, negated: {key_point: p, answer: a}}\n"
    )
    args = dict(
        dataset=None, report_dir=None, semeval_dir=None, use_semeval=False, semeval_splits="all",
        baseline_path=None, update_baseline=False, calibrate=False,
    )  # fmt: skip
    args.update(options)
    for key in ("dataset", "report_dir", "semeval_dir", "baseline_path", "calibration_out", "validity_path"):
        args[key] = Path(args[key]) if args.get(key) else None
    ws = Workspace(tmp_path)
    with pytest.raises(EvalInputError) as caught:
        run_eval(ws, EvalOptions(**args), console=Quiet())
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert ws._grader is None  # refused before loading the model and index (seconds)


# ---- the validity line ------------------------------------------------------------------------------


def _probe(qid: str, point: str = "p") -> ValidityProbe:
    return ValidityProbe(
        question_id=qid, paraphrase="x", negated=NegatedProbe(key_point=point, answer="y"), line=1
    )


def _grade(score: float, flags: tuple[str, ...] = (), contradicted: str | None = None) -> Grade:
    said = [Contradiction(said="s", fact=contradicted)] if contradicted else []
    return Grade(question_id="q", score=score, band="strong", flags=list(flags), contradictions=said)


def test_the_validity_line_counts_each_target_as_the_tests_hold_it():
    probes = [_probe("a"), _probe("b"), _probe("c")]
    graded = ValidityGrades(
        probes,
        references=[_grade(5.0), _grade(4.4), _grade(4.6, flags=("keyword-list",))],
        paraphrases=[_grade(4.0), _grade(3.9), _grade(4.5)],
        # a named point counts only if it is the negated one; 3.3 - 2.8 is half a point, in floats too
        negated=[_grade(2.5, contradicted="p"), _grade(4.4), _grade(4.1, contradicted="another point")],
    )
    line = validity_line(graded)
    assert (line.probes, line.references_at_least_4_5, line.references_flagged) == (3, 2, 1)
    assert line.paraphrases_at_least_4 == 2 and line.low_paraphrases == (("b", 3.9),)
    assert line.negated_below_their_reference == 2  # 4.4 against 4.4 is not below
    assert line.negated_half_a_point_below == 2 and line.named == (("a", 2.5),)
    assert line.low_references == (("b", 4.4),) and line.flagged_references == (("c", ("keyword-list",)),)
    assert line.reference_mean == 4.667 and line.mean_drop == 1.0
    boundary = ValidityGrades([_probe("d")], [_grade(3.3)], [_grade(4.0)], [_grade(2.8)])
    assert validity_line(boundary).negated_half_a_point_below == 1


def test_a_probe_must_negate_one_of_its_rubrics_essential_points(grader):
    rubric = grader.rubric("000-12")
    essential = next(k.text for k in rubric.key_points if k.essential)
    rubrics = {"000-12": rubric}
    assert probe_problems([_probe("000-12", essential)], rubrics) == []
    [problem] = probe_problems([_probe("000-12", essential + " (reworded)")], rubrics)
    assert problem == (
        "line 1: 000-12: negated.key_point is not one of the rubric's essential key points; "
        "copy it from the rubric"
    )


def test_eval_grades_the_validity_probes_and_prints_their_line(home, tmp_path, workspace):
    """`interviewer eval --validity` on two of the repository's probes, with the real models."""
    lines = (ROOT / "evals" / "validity.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("- question_id:")]
    chosen = tmp_path / "probes.yaml"
    chosen.write_text("".join(lines[starts[0] : starts[2]]), encoding="utf-8")
    home._rubrics = workspace.rubrics()
    console = Quiet()
    outcome = run_eval(
        home,
        EvalOptions(use_semeval=False, use_saf=False, validity_path=chosen),
        console=console,
    )
    figures = json.loads(json.dumps(outcome.figures, allow_nan=False))["validity"]
    assert figures["probes"] == 2 and figures["references_at_least_4_5"] == 2  # the targets, held
    assert figures["references_flagged"] == 0 and figures["low_references"] == []
    assert "validity (2 probes; the targets: all 2, none flagged)" in console.text
    assert "faithful paraphrases at 4.0 or more" in console.text
    assert figures["reference_mean"] > figures["reference_mean"] - figures["mean_drop"] >= 0


# ---- SemEval-2013 -----------------------------------------------------------------------------------


@pytest.mark.skipif(not (SEMEVAL / "semeval2013.csv").exists(), reason="SemEval-2013 data not present")
def test_semeval_smoke_on_a_small_fixed_sample(grader):
    results = evaluate_semeval(grader, SEMEVAL, ("test-unseen-answers",), limit=20)
    splits = {"sciEntsBank/test-unseen-answers", "beetle/test-unseen-answers"}
    # Unseen answers are graded a second time with the training answers as graded examples.
    assert set(results) == splits | {f"{split}+examples" for split in splits}
    for split in splits:
        assert 0 <= results[f"{split}+examples"]["examples_share"] <= 0.9
        assert results[f"{split}+examples"].get("examples_near_from") in NEAR_FROMS  # absent: no ramp
    for figures in results.values():
        assert figures["n"] == 20
        assert 0 <= figures["accuracy_2way"] <= 1 and 0 <= figures["macro_f1_3way"] <= 1
        assert np.isnan(figures["roc_auc_2way"]) or 0 <= figures["roc_auc_2way"] <= 1
        assert 0 <= figures["threshold"] <= 5
    assert evaluate_semeval(grader, SEMEVAL, ("test-unseen-answers",), limit=20) == results  # a fixed sample


def test_saf_answers_not_in_english_are_counted_apart_not_scored_as_zero(grader, tmp_path):
    """SAF's English file holds some German answers; the grader declines them by design, so they
    are left out of the agreement figures (which come out as without them) and counted as `not_english`."""
    from interviewer.surfaces.evals import SAF_FILE, evaluate_saf

    question = "Why does TCP use a three-way handshake?"
    reference = "Both sides agree on initial sequence numbers and confirm the connection before data flows."
    english = [
        ("Both ends exchange and acknowledge starting sequence numbers before sending data.", 1.0, "Correct"),
        ("It synchronises sequence numbers on both sides and confirms the link is up.", 1.0, "Correct"),
        ("It makes the connection faster.", 0.25, "Incorrect"),
        ("It is used for routing packets between networks.", 0.0, "Incorrect"),
    ]
    german = (
        "Beide Seiten tauschen ihre Sequenznummern aus und bestätigen sie, bevor Daten fließen.",
        1.0,
        "Correct",
    )

    def figures(rows: list[tuple[str, float, str]], folder: Path) -> dict[str, float]:
        folder.mkdir()
        with (folder / SAF_FILE).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "question_id",
                    "question",
                    "reference_answer",
                    "provided_answer",
                    "score",
                    "verification_feedback",
                    "split",
                ]
            )
            for answer, score, label in rows:
                writer.writerow(["q1", question, reference, answer, score, label, "test_unseen_questions"])
        return evaluate_saf(grader, folder, splits=("test_unseen_questions",))["saf/test_unseen_questions"]

    with_german = figures([*english, german], tmp_path / "with")
    without = figures(english, tmp_path / "without")
    assert with_german.pop("not_english") == 1 and without.pop("not_english") == 0
    assert with_german == without and with_german["n"] == 4


def test_the_reports_saf_table_has_one_cell_per_column_and_dashes_for_missing_figures():
    from interviewer.surfaces.report import saf_table

    lines = saf_table(
        {
            "saf/a": {
                "n": 293.0,
                "pearson": 0.2675,
                "spearman": 0.132,
                "spearman_within_question": 0.1504,
                "roc_auc_correct": 0.52,
                "mean_correct": 3.355,
                "mean_partially": 3.5,
                "mean_incorrect": 2.0,
                "not_english": 7.0,
            },
            "saf/b": {"n": 0.0, "not_english": 3.0},  # every answer declined: nothing to agree with
        }
    )
    cells = [line.strip("|").split("|") for line in lines]
    assert len({len(c) for c in cells}) == 1
    assert [c.strip() for c in cells[2]] == [
        "saf/a",
        "293",
        "0.268",
        "0.132",
        "0.150",
        "0.520",
        "3.35",
        "3.50",
        "2.00",
        "7",
    ]
    assert [c.strip() for c in cells[3]] == ["saf/b", "0", "–", "–", "–", "–", "–", "–", "–", "3"]
