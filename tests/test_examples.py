"""Graded examples (`interviewer grade --examples`): the core blend, and the batch surface that reads them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from interviewer.domain.grade import FLAG_CONTRADICTION, FLAG_EMPTY, Grade
from interviewer.grading.examples import (
    DEFAULT_NEAR_FROM,
    DEFAULT_SHARE,
    FIT_AT_LEAST,
    NEAR_SPAN,
    SHARE_CEILING,
    ExampleSet,
    GradedExample,
    Trust,
    apply_reading,
    closeness,
    example_weight,
    fit_sample,
    fit_trust,
    question_examples,
    with_examples,
)
from interviewer.surfaces.batch import InputError
from interviewer.workspace import Workspace
from tests.test_batch import ROOT, Run, read_jsonl, write_jsonl

# Three examples in a 3-d space: the first two close to each other, the third apart.
VECTORS = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 0.0, 1.0]])
EXAMPLES = [GradedExample("a", 5.0, "e1"), GradedExample("b", 4.0, "e2"), GradedExample("c", 0.0, "e3")]


def unit(*values: float) -> np.ndarray:
    vector = np.array(values)
    return vector / np.linalg.norm(vector)


def test_the_estimate_is_the_grade_of_the_closest_examples():
    known = question_examples(VECTORS, EXAMPLES)
    near_first = known.read(unit(1.0, 0.0, 0.0))
    assert near_first is not None
    assert near_first.nearest_id == "e1" and near_first.nearest_grade == 5.0
    assert 4.0 < near_first.estimate <= 5.0  # e2 is close too; e3 is far and weighs nothing
    near_third = known.read(unit(0.0, 0.0, 1.0))
    assert near_third is not None and near_third.nearest_id == "e3" and near_third.estimate < 0.1


def test_an_example_can_be_left_out_of_its_own_reading():
    known = question_examples(VECTORS, EXAMPLES)
    reading = known.read(unit(1.0, 0.0, 0.0), exclude="e1")
    assert reading is not None and reading.nearest_id == "e2" and reading.count == 2
    alone = question_examples(VECTORS[:1], EXAMPLES[:1])
    assert alone.read(unit(1.0, 0.0, 0.0), exclude="e1") is None


def test_the_examples_weigh_more_the_more_there_are():
    weights = [example_weight(n) for n in (0, 1, 4, 20, 1000)]
    assert weights[0] == 0.0
    assert weights == sorted(weights) and weights[-1] < DEFAULT_SHARE
    assert example_weight(4) == pytest.approx(DEFAULT_SHARE / 2)
    assert example_weight(4, share=0.2) == pytest.approx(0.1)


def test_the_share_is_fitted_to_what_predicts_the_examples_grades():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 5, 200)
    counts = [1000] * 200  # many examples per question: the share is the weight
    close = np.full(200, 0.95)  # and every example close to another: no ramp to fit
    noisy_rubric = np.clip(truth + rng.normal(0, 2.0, 200), 0, 5)
    close_estimates = np.clip(truth + rng.normal(0, 0.3, 200), 0, 5)
    trusted = fit_trust(noisy_rubric, close_estimates, truth, counts, close)
    assert trusted is not None and 0.7 < trusted.share <= SHARE_CEILING
    sharp_rubric = np.clip(truth + rng.normal(0, 0.3, 200), 0, 5)
    noisy_estimates = np.clip(truth + rng.normal(0, 2.0, 200), 0, 5)
    doubted = fit_trust(sharp_rubric, noisy_estimates, truth, counts, close)
    assert doubted is not None and doubted.share < 0.3
    few = FIT_AT_LEAST - 1
    too_few = fit_trust(noisy_rubric[:few], close_estimates[:few], truth[:few], counts[:few], close[:few])
    assert too_few is None
    flat = np.full(200, 3.0)
    assert fit_trust(noisy_rubric, close_estimates, flat, counts, close) is None  # nothing to fit


def test_the_closeness_ramp_is_fitted_where_far_examples_mislead():
    """Half the examples have a close neighbour, whose grade they share; the other half have none
    close, and their neighbours' grades are noise. Trusting the examples by closeness fits better than
    trusting them alike, and where all are close, no ramp is fitted."""
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 5, 400)
    counts = [1000] * 400
    rubric = np.clip(truth + rng.normal(0, 1.0, 400), 0, 5)
    near = np.r_[np.full(200, 0.95), np.full(200, 0.25)]
    estimates = np.r_[np.clip(truth[:200] + rng.normal(0, 0.3, 200), 0, 5), rng.uniform(0, 5, 200)]
    fitted = fit_trust(rubric, estimates, truth, counts, near)
    assert fitted is not None and fitted.near_from is not None
    assert closeness(0.25, fitted.near_from) <= 0.15 and closeness(0.95, fitted.near_from) == 1.0
    assert fitted.share > 0.5  # the close half is trusted, the far half hardly
    alike = fit_trust(rubric[:200], estimates[:200], truth[:200], counts[:200], near[:200])
    assert alike is not None and alike.near_from is None
    # All equally close, inside any ramp: a ramp would only scale the weight evenly. None is fitted.
    inside = np.full(200, 0.75)
    even = [
        fit_trust(rubric[:200], estimates[:200] + rng.normal(0, s, 200), truth[:200], counts[:200], inside)
        for s in (0.5, 1.0, 2.0)
    ]
    assert all(t is not None and t.near_from is None for t in even)


def test_an_answer_unlike_every_example_is_graded_by_its_rubric():
    assert closeness(DEFAULT_NEAR_FROM, DEFAULT_NEAR_FROM) == 0.0
    assert closeness(DEFAULT_NEAR_FROM + NEAR_SPAN, DEFAULT_NEAR_FROM) == pytest.approx(1.0)
    assert closeness(DEFAULT_NEAR_FROM + NEAR_SPAN / 2, DEFAULT_NEAR_FROM) == pytest.approx(0.5)
    assert closeness(0.1, near_from=None) == 1.0
    known = question_examples(VECTORS, EXAMPLES)
    # Similarity 0.5 to the closest example (e3): half the weight under the default ramp, all without.
    halfway = unit(0.0, np.sqrt(0.75), 0.5)
    ramped, unramped = known.read(halfway), known.read(halfway, trust=Trust(DEFAULT_SHARE, None))
    assert ramped is not None and unramped is not None and ramped.nearest_id == "e3"
    assert ramped.closeness == pytest.approx(0.5) and ramped.weight == pytest.approx(unramped.weight / 2)
    # Orthogonal to every example: they do not weigh in, and the explanation says why.
    apart = known.read(unit(0.0, 1.0, -0.2))
    assert apart is not None and apart.weight == 0.0
    plain = Grade(question_id="q", score=2.0, band="weak", explanation="Covered 1 of 3 key points.")
    kept = apply_reading(plain, apart)
    assert kept.score == 2.0 and "not close to this answer" in kept.explanation
    assert "less as the closest is under similarity 0.70" in apply_reading(plain, ramped).explanation
    # A far reading that would have lifted a flagged answer did not weigh in: nothing was held back.
    lifting = known.read(unit(1.0, -4.0, 0.0))
    assert lifting is not None and lifting.weight == 0.0 and lifting.estimate > 2.0
    wrong = Grade(question_id="q", score=2.0, band="weak", flags=[FLAG_CONTRADICTION], explanation="X.")
    held = apply_reading(wrong, lifting)
    assert held.score == 2.0 and "do not lift" not in held.explanation


def test_the_grader_fits_the_ramp_on_its_examples_own_closeness(grader):
    """Ten pairs of near-identical examples graded alike, and twelve examples like no other with
    grades their rubric predicts: the examples are trusted only where they have a close neighbour."""
    rng = np.random.default_rng(3)
    basis = np.eye(64)
    vectors, examples, grades = [], [], []
    for k in range(10):
        truth = float(rng.uniform(0, 5))
        for n, vector in enumerate((basis[k], basis[k] + 0.1 * basis[k + 10])):
            vectors.append(vector)
            examples.append(GradedExample(f"pair {k}.{n}", truth, f"p{k}.{n}"))
            grades.append(float(np.clip(truth + rng.normal(0, 1.5), 0, 5)))
    for m in range(12):
        truth = float(rng.uniform(0, 5))
        vectors.append(basis[40 + m])
        examples.append(GradedExample(f"alone {m}", truth, f"a{m}"))
        grades.append(float(np.clip(truth + rng.normal(0, 0.3), 0, 5)))
    built = ExampleSet({"q": question_examples(np.array(vectors), examples)})
    rubric = SimpleNamespace(question_id="q")
    graded = [(rubric, e) for e in examples]
    rubric_grades = [Grade(question_id="q", score=g, band="adequate", explanation="") for g in grades]
    fitted = grader.fit_examples(built, graded, rubric_grades)
    assert fitted.fitted_on == len(examples) and fitted.trust.near_from is not None
    assert fitted.read_own("q", "a0").weight == 0.0  # (the closest is another lone one, at 0)
    assert fitted.read_own("q", "p0.0").weight > 0.5


def test_examples_never_lift_an_answer_that_said_something_false():
    known = question_examples(VECTORS, EXAMPLES)
    reading = known.read(unit(1.0, 0.0, 0.0))
    assert reading is not None
    assert with_examples(2.0, [], reading) > 2.0
    assert with_examples(2.0, [FLAG_CONTRADICTION], reading) == 2.0
    low = known.read(unit(0.0, 0.0, 1.0))
    assert low is not None and with_examples(2.0, [FLAG_CONTRADICTION], low) < 2.0
    wrong = Grade(question_id="q", score=2.0, band="weak", flags=[FLAG_CONTRADICTION], explanation="X.")
    held = apply_reading(wrong, reading)
    assert held.score == 2.0 and "do not lift an answer" in held.explanation
    assert held.signals["examples_weight"] == 0.0  # it weighed nothing in the score
    assert "would have weighed" in held.explanation and "weighed at" not in held.explanation
    lowered = apply_reading(wrong, low)  # examples may lower a flagged answer, and then they weigh
    assert lowered.score is not None and lowered.score < 2.0 and lowered.signals["examples_weight"] > 0
    assert "weighed at" in lowered.explanation and "do not lift" not in lowered.explanation


def test_a_grade_the_guards_decided_is_left_alone_and_a_blend_is_explained():
    known = question_examples(VECTORS, EXAMPLES)
    reading = known.read(unit(1.0, 0.0, 0.0))
    empty = Grade(question_id="q", score=0.0, band="no answer", flags=[FLAG_EMPTY], explanation="No answer.")
    assert apply_reading(empty, reading) == empty
    plain = Grade(question_id="q", score=2.0, band="weak", explanation="Covered 1 of 3 key points.")
    blended = apply_reading(plain, reading)
    assert blended.score is not None and blended.score > 2.0 and blended.band != "weak"
    assert "Graded examples" in blended.explanation and "e1" in blended.explanation
    assert blended.signals["examples_estimate"] == pytest.approx(reading.estimate, abs=1e-3)
    assert reading.weight > 0 and blended.signals["examples_weight"] == pytest.approx(
        reading.weight, abs=1e-3
    )


# ---- the batch surface (real model) ----------------------------------------------------------------

QUESTION = "Why does a battery get warm when it is short-circuited?"
REFERENCE = (
    "The short circuit has very low resistance, so a large current flows, and the battery's internal "
    "resistance turns that energy into heat."
)
GOOD = "A big current flows because nothing resists it, and the battery's own resistance makes heat."
BAD = "Because of the chemical reaction in the battery."


@pytest.fixture()
def run(grader):
    workspace = Workspace(ROOT)
    workspace._grader = grader  # the session's grader: the model loads once per test run
    return Run(workspace)


def _row(row_id: str, answer: str, **extra) -> dict:
    return {"id": row_id, "question": QUESTION, "reference_answer": REFERENCE, "answer": answer, **extra}


def test_graded_examples_move_an_answer_towards_the_grades_of_answers_like_it(run, tmp_path):
    answers = write_jsonl(
        tmp_path / "answers.jsonl",
        [_row("a1", "The chemicals inside react, and that is why the battery heats up.")],
    )
    run(answers, tmp_path / "plain.jsonl")
    (plain,) = read_jsonl(tmp_path / "plain.jsonl")
    lenient = write_jsonl(tmp_path / "lenient.jsonl", [_row(f"e{i}", BAD, grade=5) for i in range(4)])
    strict = write_jsonl(tmp_path / "strict.jsonl", [_row(f"e{i}", BAD, grade=0) for i in range(4)])
    run(answers, tmp_path / "lenient_out.jsonl", examples=lenient)
    run(answers, tmp_path / "strict_out.jsonl", examples=strict)
    (up,) = read_jsonl(tmp_path / "lenient_out.jsonl")
    (down,) = read_jsonl(tmp_path / "strict_out.jsonl")
    assert down["score"] < plain["score"] < up["score"]
    assert "Graded examples" in up["explanation"] and "Graded examples" not in plain["explanation"]
    assert up["examples_estimate"] > down["examples_estimate"] and plain["examples_estimate"] is None
    assert up["examples_weight"] > 0 and plain["examples_weight"] is None
    assert any("Graded examples: 4 answers for 1 question" in line for line in run.lines)
    assert any("too few to fit" in line for line in run.lines)
    # Enough examples, but all of one grade: nothing to fit the share on, and the run says so.
    alike = write_jsonl(tmp_path / "alike.jsonl", [_row(f"e{i}", GOOD + " " * i, grade=5) for i in range(10)])
    run(answers, tmp_path / "alike_out.jsonl", examples=alike)
    assert any("all graded alike, nothing to fit" in line for line in run.lines)


def test_examples_meet_answers_whose_rows_list_other_acceptable_answers(run, tmp_path):
    """Examples given with the first reference only still inform rows that list more: one question."""
    other = "A shorted battery drives a huge current through its own internal resistance, which heats it."
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", BAD, reference_answer_2=other)])
    lenient = write_jsonl(tmp_path / "lenient.jsonl", [_row(f"e{i}", BAD, grade=5) for i in range(4)])
    run(answers, tmp_path / "out.jsonl", examples=lenient)
    (graded,) = read_jsonl(tmp_path / "out.jsonl")
    assert graded["examples_weight"] > 0 and "Graded examples" in graded["explanation"]


def _ten_examples(path: Path) -> Path:
    """Five answers graded 0-5, each twice (the second with a trailing space: another example)."""
    graded = [(GOOD, 5), (REFERENCE, 5), (BAD, 1), ("It gets hot.", 2), ("Electrons.", 0)]
    rows = [
        _row(f"e{i}-{n}", answer + " " * n, grade=grade)
        for i, (answer, grade) in enumerate(graded)
        for n in (0, 1)
    ]
    return write_jsonl(path, rows)


def test_with_enough_examples_their_share_is_fitted_on_them(run, tmp_path):
    examples = _ten_examples(tmp_path / "examples.jsonl")
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    run(answers, tmp_path / "out.jsonl", examples=examples)
    assert any(
        "Graded examples: 10 answers for 1 question" in line and "fitted on 10 of them" in line
        for line in run.lines
    )


def test_the_fit_reads_a_fixed_sample_of_many_examples(run, tmp_path, monkeypatch):
    ids = [f"e{i}" for i in range(50)]
    chosen = fit_sample(ids, limit=20)
    assert len(chosen) == 20 and chosen == sorted(chosen)
    # The same examples whatever the file's order, and adding one moves at most one out.
    reversed_ids = ids[::-1]
    assert {reversed_ids[i] for i in fit_sample(reversed_ids, limit=20)} == {ids[i] for i in chosen}
    grown = ids + ["e50"]
    assert len({ids[i] for i in chosen} - {grown[i] for i in fit_sample(grown, limit=20)}) <= 1
    assert fit_sample(ids[:5], limit=20) == [0, 1, 2, 3, 4]
    # grade --examples grades only the sample (every example still serves as a neighbour).
    monkeypatch.setattr("interviewer.grading.examples.FIT_AT_MOST", 9)
    examples = _ten_examples(tmp_path / "examples.jsonl")
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    run(answers, tmp_path / "out.jsonl", examples=examples)
    assert any("Graded examples: 10 answers" in line and "fitted on 9 of them" in line for line in run.lines)


def test_unusable_examples_are_named_by_line_and_id_and_the_rest_are_used(run, tmp_path):
    examples = tmp_path / "examples.csv"
    examples.write_text(
        "id,question,reference_answer,answer,grade\n"
        f'e1,"{QUESTION}","{REFERENCE}","{GOOD}",5\n'
        f'e2,"{QUESTION}","{REFERENCE}","{BAD}",seven\n'
        f'e3,"{QUESTION}","{REFERENCE}",,4\n'
        f'e5,"{QUESTION}","{REFERENCE}","{GOOD}",\n'
        f'e4,,,"{GOOD}",4\n'
        f'e1,"{QUESTION}","{REFERENCE}","{BAD}",1\n',
        encoding="utf-8",
    )
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    summary = run(answers, tmp_path / "out.jsonl", examples=examples)
    assert summary.graded == 1 and not summary.failed
    told = "\n".join(run.lines)
    assert "line 3 (id e2): `grade` must be a number from 0 to 5" in told
    assert "line 4 (id e3): empty `answer`" in told
    assert "line 6 (id e4): needs `question_id` or `question`" in told
    assert "line 5 (id e5): missing `grade`" in told
    assert "line 7 (id e1): duplicate id (first on line 2)" in told
    assert "Graded examples: 1 answer for 1 question" in told


def test_an_example_whose_bank_id_overrides_its_reference_is_said(run, tmp_path):
    """Graded against the bank question, whose examples it is not: said, never dropped unsaid."""
    examples = write_jsonl(
        tmp_path / "examples.jsonl",
        [_row("e1", GOOD, grade=5), _row("e2", GOOD, grade=5, question_id="000-12")],
    )
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    run(answers, tmp_path / "out.jsonl", examples=examples)
    told = "\n".join(run.lines)
    assert f"{examples}: 1 row (e2) gave a bank question_id and reference answers: taken as examples" in told
    assert "Graded examples: 2 answers for 2 questions" in told


def test_an_examples_file_with_no_usable_row_is_one_clear_error(run, tmp_path):
    examples = write_jsonl(tmp_path / "examples.jsonl", [_row("e1", GOOD, grade=9)])
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    with pytest.raises(InputError, match="no usable graded example") as refused:
        run(answers, tmp_path / "out.jsonl", examples=examples)
    assert "(first: line 1 (id e1): `grade` must be a number from 0 to 5" in str(refused.value)
    missing = write_jsonl(tmp_path / "ungraded.jsonl", [_row("e1", GOOD)])
    with pytest.raises(InputError, match="grade"):
        run(answers, tmp_path / "out.jsonl", examples=missing)


def test_other_examples_regrade_a_resumed_run(run, tmp_path):
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    first = write_jsonl(tmp_path / "first.jsonl", [_row("e1", GOOD, grade=5)])
    second = write_jsonl(tmp_path / "second.jsonl", [_row("e1", GOOD, grade=3)])
    out = tmp_path / "out.jsonl"
    run(answers, out, examples=first)
    assert run(answers, out, examples=first).skipped_done == 1
    again = run(answers, out, examples=second)
    assert again.skipped_done == 0 and again.regraded == 1
    assert run(answers, out).regraded == 1  # and without examples, graded as without


def test_an_examples_file_is_never_written_over_nor_read_twice_from_stdin(run, tmp_path):
    examples = write_jsonl(tmp_path / "examples.jsonl", [_row("e1", GOOD, grade=5)])
    before = examples.read_text(encoding="utf-8")
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    with pytest.raises(InputError, match="is also the output"):
        run(answers, examples, examples=examples)
    assert examples.read_text(encoding="utf-8") == before
    with pytest.raises(InputError, match="cannot both read stdin"):
        run("-", tmp_path / "out.jsonl", examples=Path("-"))


def test_examples_that_match_no_question_are_one_clear_error(run, tmp_path):
    examples = write_jsonl(
        tmp_path / "examples.jsonl", [{"id": "e1", "question_id": "999-99", "answer": GOOD, "grade": 5}]
    )
    answers = write_jsonl(tmp_path / "answers.jsonl", [_row("a1", GOOD)])
    with pytest.raises(InputError, match=r"no graded example matches a question \(first: line 1 \(id e1\)"):
        run(answers, tmp_path / "out.jsonl", examples=examples)
