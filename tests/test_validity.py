"""Validity of the scale, graded with the real embedder, judge and index over all 150 rubrics.

A grader people trust gives its own model answer full marks, a faithful paraphrase of it a strong
score, and the model answer with one essential point turned false a weak one. The paraphrases and
contradicted answers (evals/validity.yaml) were written for this and are never trained on.

The targets are all 150 of each; the grader does not reach them yet (see the judge issue), so these
tests hold the line at what it measures today: a change that loses ground fails here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from floor_checks import assert_floors_match

from interviewer.grading.judge import chosen_base
from interviewer.grading.validity import grade_probes, probe_problems, validity_line
from interviewer.sources.validity import VALIDITY_FILE, load_probes
from interviewer.surfaces.checks import model_answer_problems

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

# Measured on main with the shipped judge and calibration; raise them as the grader improves.
# The judge taught that a point or claim, word for word, entails itself, that the model answer's
# sentences do not contradict its own points, and the authored restatements (then recalibrated):
# 118/4/114/59 before, so 3 more references and 4 more negations for 8 paraphrases, and no flag.
# Errors counted only above what the judge reads in the model answer itself (JudgeFloor), then
# recalibrated with a bagged monotone map: 121/106/65 before, so 18 more references, 1 more
# paraphrase and 11 more negations below their reference.
# The last 11 model answers now state in sentences the points they gave only in tables, symbols or
# not at all, and a sentence the judge clears of a misconception is credited: 139/107/76 before. One
# paraphrase (000-38) fell from 4.0 to 3.8 as its longer model answer reads less like it as a whole.
# An entailment counts as a share of the model answer's own (its ceiling, CEILING_LOWEST), then
# recalibrated: 106/80 before, so 1 more paraphrase and 8 more negations below their reference.
# The judge became a soup of two (SHIPPED_RECIPE), reproducible by `make judge`, and the whole-answer
# reading got the model answer's reading of itself as its ceiling, then recalibrated: 107/88 before,
# so 10 more paraphrases for 3 fewer negations below their reference (SemEval's AUC rose too).
# The judge was retrained with 205 authored denials that flip a point's direction in another verb
# shape (soup shares 0.6 / 0.4), and an unnamed misconception reading discounts consistency only as
# far as the whole answer is not vouched for: 117/85/4 before, so 9 more paraphrases, 15 more
# negations below their reference and 4 more named.
# The calibration's map got a least slope (1.25, chosen across the dev set, SemEval and SAF train):
# 126/100 before, so 3 more paraphrases; the 14 negations no longer below their reference had been
# 4.9 against 5.0 and now read 5.0 against 5.0 (those half a point or more below: 30 before, 31).
# Named only where the judge is all but certain (CONTRADICTION_OVER_SIMILARITY): 0 before that rule.
# The judge's recipe read the reasoned denials (judge/denials.yaml), then recalibrated, and 000-13's
# model answer was reworded (it read 4.2: a reason clause read as a denial of its own point):
# 129/86/31/8 before, so 6 more paraphrases, 29 more negations below their reference, 30 more half a
# point below and 20 more named.
# The recipe's second judge trained one epoch rather than two (30 minutes rather than an hour), then
# recalibrated: 135/115/61/28 before, so 2 more paraphrases, 6 more negations below their reference
# and 8 more half a point below, for 5 fewer named.
# The mpnet judge (LoRA on all-mpnet-base-v2, its own calibration and floors) holds its own line;
# its calibration fitted again with today's grader and an own-reference map (2026-12-07): 148/118/124/
# 96/61 before.


@dataclass(frozen=True)
class Line:
    """What a judge's grader measures today, each of the 150 probes (the targets: all 150, none flagged)."""

    references_at_least_4_5: int  # before the judge: 71
    references_flagged_at_most: int  # before the judge: 14
    paraphrases_at_least_4: int
    negated_below_their_reference: int  # each at most 2.5 and naming the point, the target
    negated_half_a_point_below: int  # a drop a candidate would notice
    negated_naming_their_point: int  # each then at most the contradiction cap (2.5)


LINES = {"minilm": Line(150, 0, 137, 121, 69, 23), "mpnet": Line(150, 0, 123, 119, 91, 60)}
LINE = LINES[chosen_base()]  # the judge these run with: INTERVIEWER_JUDGE=mpnet for the mpnet judge


@pytest.fixture(scope="module")
def probes():
    return load_probes(ROOT / "evals" / VALIDITY_FILE)


@pytest.fixture(scope="module")
def rubrics(workspace):
    return {r.question_id: r for r in workspace.rubrics()}


@pytest.fixture(scope="module")
def floors(grader, rubrics):
    """Every model answer read by the judge as `interviewer judge floors` reads it, now."""
    return grader.read_floors(list(rubrics.values()))


@pytest.fixture(scope="module")
def graded(grader, probes, rubrics, floors):
    """Every probe graded in one batch (as `interviewer eval --validity` does), and the line counted.
    After the floors: the model answers' pairs are then in the judge's cache (40 s less here)."""
    grades = grade_probes(grader, probes, rubrics)
    return grades, validity_line(grades)


def test_the_judge_is_trained_and_used(grader):
    assert grader.judge is not None, f"no {chosen_base()} judge weights in the package"
    assert grader.calibration.judge, "the shipped calibration was fitted without the judge"


def test_the_shipped_floors_are_what_the_judge_reads_now(grader, floors):
    """The floors shipped beside the calibration must equal what the judge reads in each bank
    model answer now, or they are stale (a judge, calibration or grader change without
    `interviewer judge floors`)."""
    shipped = grader.shipped_floors  # the workspace's: the package's, or the judge folder's own
    assert shipped is not None
    assert len(floors.floors) == 150
    assert floors.floors.keys() == shipped.floors.keys(), "stale: run `interviewer judge floors`"
    assert_floors_match(floors, shipped)


def test_every_question_has_a_validity_probe(probes, rubrics):
    assert sorted(p.question_id for p in probes) == sorted(rubrics)
    assert probe_problems(probes, rubrics) == []  # each negates one of its rubric's essential points
    for p in probes:
        assert len(p.paraphrase.split()) >= 30, p.question_id


def test_model_answers_graded_as_answers_score_full_marks(graded):
    _, line = graded
    assert line.references_at_least_4_5 >= LINE.references_at_least_4_5, line.low_references
    assert line.references_flagged <= LINE.references_flagged_at_most, line.flagged_references
    assert line.reference_mean >= 4.85


def test_rubrics_check_finds_no_model_answer_at_odds_with_its_rubric(graded, rubrics):
    """What `interviewer rubrics check --model-answers` asserts (each model answer covers its
    essential points, scores 4.5, raises no flag), read from the grades above instead of grading
    the 150 model answers a second time."""
    grades, _ = graded
    references = list(grades.references)
    chosen = [rubrics[p.question_id] for p in grades.probes]
    if chosen_base() == "minilm":  # the default judge, the one `make test` runs; mpnet holds its LINE
        assert model_answer_problems(chosen, references) == []
    rubric, grade = chosen[0], references[0]
    essential = next(k.text for k in rubric.key_points if k.essential)
    doctored = [
        grade.model_copy(update={"covered": [c for c in grade.covered if c != essential]}),
        grade.model_copy(update={"flags": ["keyword-list"]}),
        grade.model_copy(update={"score": 4.4}),
    ]
    problems = model_answer_problems([rubric] * 3, doctored)
    assert len(problems) == 3
    missing = f"{rubric.question_id}: the model answer does not state essential key point"
    assert problems[0].startswith(missing)
    assert problems[1] == f"{rubric.question_id}: the model answer, graded, is flagged keyword-list"
    assert problems[2] == f"{rubric.question_id}: the model answer scores 4.4 as an answer (needs 4.5)"


def test_faithful_paraphrases_of_the_model_answers_score_strong(graded):
    _, line = graded
    assert line.paraphrases_at_least_4 >= LINE.paraphrases_at_least_4, line.low_paraphrases


def test_contradicting_one_essential_point_costs_the_model_answer(graded):
    _, line = graded
    assert line.negated_below_their_reference >= LINE.negated_below_their_reference
    assert line.negated_half_a_point_below >= LINE.negated_half_a_point_below
    assert line.mean_drop > 0.1


def test_a_negated_point_the_judge_is_sure_of_is_named_and_caps_the_score(grader, graded):
    _, line = graded
    cap = grader.calibration.contradiction_cap
    assert line.negated_naming_their_point >= LINE.negated_naming_their_point, line.named
    assert all(score <= cap for _, score in line.named), line.named
