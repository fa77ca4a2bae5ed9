"""Rubrics: `rubrics build` keeps what was authored, `rubrics check` catches what is wrong, precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from interviewer.domain.levels import LEVELS
from interviewer.sources.bank import Question, load_corpus
from interviewer.sources.rubric import (
    TOPICS,
    FollowUp,
    KeyPoint,
    Misconception,
    RubricError,
    asked_count,
    derive_key_points,
    is_bare_title,
    load_rubric_file,
    load_rubrics,
    merge_rubric,
    rubric_from_question,
)
from interviewer.surfaces.checks import check_rubrics

ROOT = Path(__file__).resolve().parent.parent
BANK = "000_dc053c1931fb3688"
BANK_FILE = f"{BANK}.yaml"


@pytest.fixture(scope="module")
def questions():
    return load_corpus(ROOT / "corpus")


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A writable copy of corpus/ and rubrics/, which INTERVIEWER_HOME points the CLI at."""
    for name in ("corpus", "rubrics"):
        shutil.copytree(ROOT / name, tmp_path / name)
        for path in (tmp_path / name).iterdir():
            path.chmod(0o644)
    monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path))
    return tmp_path


def build():
    from interviewer.surfaces.cli import app

    result = CliRunner().invoke(app, ["rubrics", "build"])
    assert result.exit_code == 0, result.output
    return result


def edit_rubric(path: Path, question_id: str, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    [entry] = [r for r in data["rubrics"] if r["question_id"] == question_id]
    change(entry)
    data["rubrics"] = [r for r in data["rubrics"] if r]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


# ---- rubrics build --------------------------------------------------------------------------------


def test_rebuilding_the_repo_rubrics_changes_nothing(home):
    result = build()
    assert "Wrote 150 rubrics to 5 files" in result.output
    for path in sorted((ROOT / "rubrics").glob("*.yaml")):
        assert (home / "rubrics" / path.name).read_text() == path.read_text(), path.name


def test_build_keeps_reviewed_bank_points_authored_points_misconceptions_follow_ups_and_topic(home):
    def author(entry):
        entry["topic"] = "my own topic"
        entry["key_points"][0]["text"] = "Reworded by a reviewer: gradients shrink layer by layer"
        entry["key_points"][0]["weight"] = 3.0
        entry["key_points"][1]["essential"] = False
        entry["key_points"].append({"text": "An authored point about LSTMs", "source": "authored"})
        entry["misconceptions"].append(
            {"claim": "More layers always fix it", "correction": "They make it worse"}
        )
        entry["follow_ups"].append({"question": "Why do LSTMs help?", "probes": 7})

    edit_rubric(home / "rubrics" / BANK_FILE, "000-12", author)
    before = {r.question_id: r for r in load_rubrics(home / "rubrics")}["000-12"]
    build()
    after = {r.question_id: r for r in load_rubrics(home / "rubrics")}["000-12"]
    assert after == before


def _question(answer: str | None) -> Question:
    return Question(id="x-01", bank="x_bank", number=1, line=3, text="What is dropout?", answer=answer)


LONG_ANSWER = " ".join(f"Dropout fact number {n} is stated here plainly." for n in range(1, 10))


def test_when_the_bank_answer_changes_bank_points_are_rederived_and_authored_ones_kept():
    old = rubric_from_question(
        _question("Dropout zeroes random units during training. It is off at inference.")
    )
    old.key_points += [
        KeyPoint(text="Authored point one about ensembles", source="authored"),
        KeyPoint(text="Authored point two about scaling", source="authored", weight=2.0),
    ]
    old.misconceptions = [Misconception(claim="Dropout is used at inference", correction="It is not")]
    old.follow_ups = [FollowUp(question="What rate would you pick?", probes=0)]
    merged = merge_rubric(_question(LONG_ANSWER), old)
    assert merged.reference == LONG_ANSWER and merged.reference_source == "bank"
    authored = [k for k in merged.key_points if k.source == "authored"]
    assert authored == old.key_points[-2:]  # the derived answer has 9 sentences: authored points still stay
    assert len(merged.key_points) == 7 and merged.key_points[0].text.startswith("Dropout fact number 1")
    assert merged.misconceptions == old.misconceptions and merged.follow_ups == old.follow_ups


def test_when_the_bank_drops_its_answer_only_authored_points_remain():
    old = rubric_from_question(
        _question("Dropout zeroes random units during training. It is off at inference.")
    )
    old.key_points.append(KeyPoint(text="An authored point", source="authored"))
    merged = merge_rubric(_question(None), old)
    assert merged.reference is None and merged.reference_source == "none"
    assert [k.text for k in merged.key_points] == ["An authored point"]


def test_build_says_which_rubrics_it_dropped_because_their_question_is_gone(home):
    def clone(entry):
        entry["question_id"] = "000-99"

    path = home / "rubrics" / BANK_FILE
    data = yaml.safe_load(path.read_text())
    extra = dict(data["rubrics"][0])
    clone(extra)
    data["rubrics"].append(extra)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    result = build()
    assert "1 rubrics match no question in corpus/ and were dropped: 000-99" in result.output


def test_build_refuses_to_overwrite_rubrics_it_cannot_read(home):
    from interviewer.surfaces.cli import app

    path = home / "rubrics" / BANK_FILE
    path.write_text("bank: x\nrubrics: [\n")
    result = CliRunner().invoke(app, ["rubrics", "build"])
    assert isinstance(result.exception, RubricError) and "not valid YAML" in str(result.exception)
    assert path.read_text() == "bank: x\nrubrics: [\n"


# ---- rubrics check --------------------------------------------------------------------------------


def test_the_repo_rubrics_pass_the_check(questions):
    report = check_rubrics(questions, ROOT / "rubrics")
    assert report.problems == []
    assert report.total == 150 and len(report.banks) == 5


def _duplicate_key_point(entry):
    first = entry["key_points"][0]
    entry["key_points"][1] = {**first, "text": first["text"].upper() + "!"}  # same words, other case


def _follow_up_out_of_range(entry):
    entry["follow_ups"][0]["probes"] = 9


def _remove(entry):
    entry.clear()


DOCTORED = {
    "duplicate key point": (
        _duplicate_key_point,
        f"{BANK_FILE}: 000-12: duplicate key point 'gradients shrink exponentially as they are multipl'",
    ),
    "follow-up out of range": (
        _follow_up_out_of_range,
        f"{BANK_FILE}: 000-12: follow-up probes key point 9, which does not exist "
        "(it has 7, numbered from 0)",
    ),
    "topic outside the taxonomy": (
        lambda entry: entry.update(topic="Convolutional Neural Networks (CNNs)"),
        f"{BANK_FILE}: 000-12: topic 'Convolutional Neural Networks (CNNs)' is not in the taxonomy "
        f"({', '.join(TOPICS)}); see interviewer/rubric.py TOPICS and the README",
    ),
    "no difficulty": (
        lambda entry: entry.update(difficulty=None),
        f"{BANK_FILE}: 000-12: difficulty None: set one of beginner, intermediate, advanced",
    ),
    "asked form that is not a question": (
        lambda entry: entry.update(asked="Tell me about vanishing gradients"),
        f"{BANK_FILE}: 000-12: `asked` must be a question ending with '?': "
        "'Tell me about vanishing gradients'",
    ),
    "question without a rubric": (
        _remove,
        f"{BANK}: question 000-12 (line 47) has no rubric; run `rubrics build`",
    ),
}


@pytest.mark.parametrize(("doctor", "problem"), DOCTORED.values(), ids=DOCTORED.keys())
def test_check_names_the_file_question_and_fault(questions, home, doctor, problem):
    edit_rubric(home / "rubrics" / BANK_FILE, "000-12", doctor)
    assert check_rubrics(questions, home / "rubrics").problems == [problem]


def test_check_wants_a_bare_title_asked_as_a_question(questions, home):
    edit_rubric(home / "rubrics" / "003_7294e76714d9e4e3.yaml", "003-17", lambda entry: entry.pop("asked"))
    assert check_rubrics(questions, home / "rubrics").problems == [
        "003_7294e76714d9e4e3.yaml: 003-17: the question is a bare title ('Interpretability vs performance "
        "trade-off'); add `asked:`, the question as the interviewer should ask it"
    ]


def test_every_repo_question_has_a_level_a_taxonomy_topic_and_a_question_to_ask():
    rubrics = load_rubrics(ROOT / "rubrics")
    assert all(r.topic in TOPICS and r.difficulty in LEVELS for r in rubrics)
    bare = [r for r in rubrics if is_bare_title(r.question)]
    assert len(bare) >= 10 and all(r.asked and r.asked.endswith("?") for r in bare)
    titled = {r.question_id: r for r in rubrics}["003-17"]
    assert titled.prompt == titled.asked != titled.question  # asked as a question, graded as written


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("Interpretability vs performance trade-off", True),
        ("How to use transfer learning in deep learning", True),
        ("Explain the transformer architecture.", False),
        ("Define deep learning and how it differs from other ML approaches", False),
        ("What is Autograd? Elaborate w.r.t Pytorch.", False),
    ],
)
def test_bare_titles_are_told_from_questions_and_instructions(text, bare):
    assert is_bare_title(text) is bare


def test_check_finds_a_concept_group_member_that_does_not_exist(questions, home):
    path = home / "rubrics" / "concepts.yaml"
    data = yaml.safe_load(path.read_text())
    data["groups"]["vanishing-gradients"]["members"].append("000-99")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert check_rubrics(questions, home / "rubrics").problems == [
        "concepts.yaml: group 'vanishing-gradients' names unknown question 000-99"
    ]


def test_check_finds_a_question_in_two_groups(questions, home):
    path = home / "rubrics" / "concepts.yaml"
    data = yaml.safe_load(path.read_text())
    data["groups"]["dropout"]["members"].append("000-12")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert check_rubrics(questions, home / "rubrics").problems == [
        "concepts.yaml: 000-12 is in both 'vanishing-gradients' and 'dropout'"
    ]


def test_an_invalid_field_is_reported_at_its_questions_line(home):
    path = home / "rubrics" / BANK_FILE

    def heavy(entry):
        entry["key_points"][0]["weight"] = 9

    edit_rubric(path, "000-12", heavy)
    line = 1 + path.read_text().splitlines().index("- question_id: 000-12")
    with pytest.raises(RubricError) as caught:
        load_rubric_file(path)
    assert str(caught.value) == (
        f"rubric file {path} line {line}: rubrics.11.key_points.0.weight: "
        "Input should be less than or equal to 5"
    )


UNREADABLE = {
    "not YAML": (b"bank: x\nrubrics:\n  - question_id: [\n", "line 4: not valid YAML"),
    "not a mapping": (b"- just\n- a list\n", "line 1: expected a mapping with `bank` and `rubrics`"),
    "not UTF-8": (b"bank: caf\xe9\n", "not UTF-8 text (byte 9)"),
}


@pytest.mark.parametrize(("content", "message"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_rubric_file_is_a_problem_not_a_crash(questions, home, content, message):
    path = home / "rubrics" / BANK_FILE
    path.write_bytes(content)
    problems = check_rubrics(questions, home / "rubrics").problems
    assert problems[0].startswith(f"rubric file {path}") and message in problems[0]
    # Its questions then have no rubric: each is named too.
    assert sum("has no rubric" in p for p in problems) == 43


def test_parsed_rubric_files_are_cached_by_content_and_never_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    source = ROOT / "rubrics" / "002_07955be0f3763b72.yaml"
    path = tmp_path / source.name
    shutil.copy(source, path)
    fresh = load_rubric_file(path)
    assert len(list((tmp_path / "cache" / "parsed-yaml").glob("*.json"))) == 1
    assert load_rubric_file(path) == fresh  # now read from the cache
    edited = path.read_text(encoding="utf-8").replace(
        fresh.rubrics[0].question, "What is a neural network, and how does it learn from data?"
    )
    path.write_text(edited, encoding="utf-8")
    assert (
        load_rubric_file(path).rubrics[0].question
        == "What is a neural network, and how does it learn from data?"
    )
    assert load_rubric_file(path).rubrics[1:] == fresh.rubrics[1:]


def test_key_points_from_a_pasted_grading_scheme_are_claims_an_answer_could_make():
    """A reference pasted from a PDF or a marking scheme: sentences wrapped mid-line are joined back,
    list markers are dropped ("●", "1.Text", "4.i)text"), and lines addressed to the graders (how to
    mark, not what is true) are not key points: every answer would miss them."""
    scheme = (
        "The correct order is BCA, where B is the least probable. One of the following justifications "
        "should be given:\n"
        "\t● Event B is a special case of C, and C is a special case of A\n"
        "\t○ Control servers manage the network graph, define routes, and update the\n"
        "flow tables of connected switches.\n"
        "1.Adaptation: the network has to handle nodes that move around.\n"
        "4.i)less duplication of packets than with flooding\n"
        "Simple and cheap is also acceptable as one of the reasons.\n"
        "Note: naming the benefit can be omitted and the response can still be granted 0.25 for each.\n"
        "0.5 P for a sensible choice out of: Token Ring or TDMA.\n"
        "The sender port is optional in UDP; a 1.5 times larger header is no problem."
    )
    assert [k.text for k in derive_key_points(scheme)] == [
        "The correct order is BCA, where B is the least probable.",
        "Event B is a special case of C, and C is a special case of A",
        "Control servers manage the network graph, define routes, and update the flow tables of "
        "connected switches.",
        "Adaptation: the network has to handle nodes that move around.",
        "less duplication of packets than with flooding",
        "The sender port is optional in UDP; a 1.5 times larger header is no problem.",
    ]
    # Content that merely sounds like marking stays: each pattern names the marking itself.
    content = (
        "A detection is considered correct if its IoU with a ground-truth box exceeds 0.5.\n"
        "The bias can be omitted in a convolution followed by batch normalization.\n"
        "More weight should be given to the minority classes in the loss.\n"
        "Sample 1000 points for the Monte Carlo estimate of the integral.\n"
        "ReLU is also correct as an activation for the hidden layers.\n"
        "Two regularizers\n"
        "a) dropout randomly zeroes units\n"
        "(b) weight decay shrinks the weights"
    )
    assert [k.text for k in derive_key_points(content)] == [
        "A detection is considered correct if its IoU with a ground-truth box exceeds 0.5.",
        "The bias can be omitted in a convolution followed by batch normalization.",
        "More weight should be given to the minority classes in the loss.",
        "Sample 1000 points for the Monte Carlo estimate of the integral.",
        "ReLU is also correct as an activation for the hidden layers.",
        "dropout randomly zeroes units",
        "weight decay shrinks the weights",
    ]
    # A bank answer's own points are as before: sentences, markdown bullets, content with "correct".
    bank = "- Dropout zeroes random units.\n- Is 0.5 a correct rate? It is a common default."
    assert [k.text for k in derive_key_points(bank)] == [
        "Dropout zeroes random units.",
        "Is 0.5 a correct rate?",
        "It is a common default.",
    ]


def test_a_marking_scheme_that_lists_more_options_than_asked_becomes_sets_of_alternatives():
    question = "Name the two kinds of regularization below and give one drawback of each."
    scheme = (
        "The two kinds and their drawbacks are:\n"
        "Weight decay\n"
        "● It needs its strength tuned on validation data\n"
        "● Too much of it underfits the training data\n"
        "● It interacts with adaptive optimizers such as Adam\n"
        "Dropout\n"
        "● Training takes longer to converge\n"
        "● It clashes with batch normalization statistics\n"
        "● Its rate is one more setting to tune\n"
        "One of the following reasons should be given:\n"
        "- both reduce overfitting\n"
        "- both trade a little bias for less variance\n"
        "The last step is always a held-out test."
    )
    points = derive_key_points(scheme, question=question)
    # the list's introduction states nothing and is left out; each list is one set needing one option
    assert [(k.choice, k.needed) for k in points] == [(0, 1)] * 3 + [(1, 1)] * 3 + [(2, 1)] * 2 + [(None, 1)]
    # each option is read with the label over its list where two sets have one ("It needs its
    # strength tuned" says whose); one set's label alone adds nothing ("Common methods:", "Benefits:")
    assert points[0].text == "Weight decay: It needs its strength tuned on validation data"
    assert points[3].text == "Dropout: Training takes longer to converge"
    assert points[6].text == "both reduce overfitting"  # a sentence over a list is no label
    assert [k.essential for k in points] == [True] * 8 + [False]
    # Without the question (a bank answer) nothing changes: bullets are points, all needed.
    assert all(k.choice is None for k in derive_key_points(scheme))
    # A list no longer than what is asked is a list of points, read as before; the scheme's own "one of
    # the following" still makes a set.
    three = derive_key_points(scheme, question="Name three drawbacks.")
    assert [k.choice for k in three] == [None] * 6 + [0, 0]  # seven points in all
    # Bold and markdown headings end a list, so each kind's drawbacks stay their own set.
    bold = (
        "**Weight decay**\n- Needs tuning\n- Can underfit\n- Slows Adam\n"
        "### Dropout\n- Slower training\n- Clashes with BN\n- One more rate"
    )
    assert [k.choice for k in derive_key_points(bold, question=question)] == [0, 0, 0, 1, 1, 1]
    # A list only as long as what is asked ("the two kinds") is two points, not one of two.
    kinds = "The two kinds are:\n- weight decay shrinks the weights\n- dropout zeroes random units"
    assert [k.choice for k in derive_key_points(kinds, question=question)] == [None, None]
    # The sets are never written to a rubric file.
    assert "choice" not in points[0].model_dump()


@pytest.mark.parametrize(
    ("lead", "labelled"),
    [
        ("Replication\n", True),
        ("**Replication:**\n", True),  # a bold label
        ("## Replication\n", True),  # a markdown heading
        ("These include:\n", False),  # lines that only lead into a list are no labels
        ("Such as:\n", False),
        ("Possible downsides:\n", False),  # nor is one that offers choices
        ("Replicas can diverge over time:\n", False),  # nor a sentence
    ],
)
def test_options_are_read_with_their_lists_label_where_two_sets_have_one(lead, labelled):
    question = "Name the two modes and one downside for each."
    scheme = (
        lead + "● Copies can drift apart\n● More hardware costs more\n● Standby nodes idle\n"
        "Partitioning\n● Needs knowledge of neighbours\n● Lower availability\n● Coordination is hard\n"
    )
    texts = [k.text for k in derive_key_points(scheme, question=question) if k.choice is not None]
    label = "Replication: " if labelled else ""
    assert texts[0] == label + "Copies can drift apart"
    assert texts[3] == ("Partitioning: " if labelled else "") + "Needs knowledge of neighbours"
    # a label the option already says, as a whole word, is not repeated; a label inside a word is no match
    rate = "Rate\n● A rate too high diverges\n● Accurate steps need a low one\n● Warm up first\n"
    rate += "Batch\n● Larger batches are smoother\n● Smaller ones add noise\n● Memory caps it\n"
    texts = [k.text for k in derive_key_points(rate, question="Give one tip for each setting.")]
    assert texts[:2] == ["A rate too high diverges", "Rate: Accurate steps need a low one"]


def test_a_pasted_references_one_and_two_word_items_are_points_or_options():
    """A reference listing short items ("- Dropout", "- Early stopping") has them as its points, or
    as a set's options where the question asks for fewer: too short to be sentences, they were lost
    (a list of the seven OSI layers gave no points at all, "Physical" … "Application")."""
    methods = "Common methods:\n- Dropout\n- L2 weight decay\n- Early stopping\n- Data augmentation"
    points = derive_key_points(methods, question="How can you reduce overfitting?")
    assert [(k.text, k.choice) for k in points] == [
        ("Dropout", None),
        ("L2 weight decay", None),
        ("Early stopping", None),
        ("Data augmentation", None),
    ]
    one = derive_key_points(methods, question="Name one way to reduce overfitting.")
    assert [(k.text, k.choice, k.needed) for k in one] == [
        ("Dropout", 0, 1),
        ("L2 weight decay", 0, 1),
        ("Early stopping", 0, 1),
        ("Data augmentation", 0, 1),
    ]
    layers = "- Physical\n- Data link\n- Network\n- Transport\n- Session\n- Presentation\n- Application"
    assert len(derive_key_points(layers, question="Name the layers of the OSI model.")) == 7


def test_a_marking_schemes_sub_items_numbered_options_and_lead_ins_are_read_as_meant():
    """Sub-items were options of their own or points every answer had to make; numbered options
    were all needed; "The following are the tasks:" was a point no answer makes."""
    question = "Describe two benefits of SDN and name two tasks of its controller."
    scheme = (
        "Benefits:\n"
        "● Simpler switches: they only follow their flow tables\n"
        "● Routing converges faster thanks to a global view\n"
        "● Increased flexibility:\n"
        "1. Routing logic can be updated on the fly\n"
        "2. An API lets software program the network\n"
        "● Security concerns:\n"
        "○ Without dedicated hardware its security is lost\n"
        "The controller is logically central. The following are possible tasks of the controller:\n"
        "1. Configuring the forwarding tables\n"
        "2. Monitoring traffic statistics\n"
        "3. Discovering the topology\n"
    )
    points = derive_key_points(scheme, question=question)
    assert [(k.text, k.choice, k.needed) for k in points] == [
        ("Simpler switches: they only follow their flow tables", 0, 2),
        ("Routing converges faster thanks to a global view", 0, 2),
        ("Increased flexibility: Routing logic can be updated on the fly", 0, 2),
        ("Security concerns: Without dedicated hardware its security is lost", 0, 2),
        ("The controller is logically central.", None, 1),
        ("Configuring the forwarding tables", 1, 2),
        ("Monitoring traffic statistics", 1, 2),
        ("Discovering the topology", 1, 2),
    ]
    # Where any one option counts, a sub-item counts as its item would.
    one = (
        "One of the following justifications should be given:\n"
        "● B is a special case of C\n"
        "● A correct calculation of the three probabilities\n"
        "○ P(B) = 0.6^3 * 0.4^3, about 0.014\n"
    )
    assert [(k.text, k.choice) for k in derive_key_points(one, question="Order the events.")] == [
        ("B is a special case of C", 0),
        ("A correct calculation of the three probabilities", 0),
        ("P(B) = 0.6^3 * 0.4^3, about 0.014", 0),
    ]
    # Numbered items after bullets are another list, not more of the same options; and numbered items
    # are an answer's steps, all needed, unless the line before them offers choices.
    two = "● Dropout zeroes units\n● Weight decay shrinks weights\n1. Fit the model\n2. Then tune the rate"
    assert [k.choice for k in derive_key_points(two, question="Name one regularizer.")] == [0, 0, None, None]
    # Numbered steps no longer than what is asked stay points, all needed, with their lead-in.
    steps = "The steps are these two:\n1. Compute the loss on the batch\n2. Step against the gradient"
    assert [k.choice for k in derive_key_points(steps, question="Name the two steps.")] == [None] * 3
    # A bank answer's numbered items are points, as before.
    assert all(k.choice is None for k in derive_key_points(scheme))


@pytest.mark.parametrize(
    ("scheme", "question", "read"),
    [
        (  # a one-word label is named by its sub-item, not dropped with the sub-item given to another
            "● Simpler switches\n● Flexibility:\n○ Routing logic changes on the fly\n● Faster routing",
            "Name two benefits.",
            [
                ("Simpler switches", 0),
                ("Flexibility: Routing logic changes on the fly", 0),
                ("Faster routing", 0),
            ],
        ),
        (  # a label's one-word sub-items are all its members, not only the first
            "● Protocols:\n○ Transmission Control Protocol\n○ UDP\n○ SCTP\n"
            "● Flow control\n● Ordered delivery",
            "Name two transport-layer features.",
            [
                ("Protocols: Transmission Control Protocol, UDP, SCTP", 0),
                ("Flow control", 0),
                ("Ordered delivery", 0),
            ],
        ),
        (  # a longer one stays an option of its own where one option is needed, as before
            "● Speed:\n○ Faster routing\n○ Lower latency\n● Simpler switches",
            "Name one benefit.",
            [("Speed: Faster routing", 0), ("Lower latency", 0), ("Simpler switches", 0)],
        ),
        (  # so is a one-word item without a colon
            "● Simpler switches\n● Speed\n○ Routing converges faster\n● An API",
            "Name two benefits.",
            [("Simpler switches", 0), ("Speed: Routing converges faster", 0), ("An API", 0)],
        ),
        (  # bullets in any glyph are one list
            "- Dropout zeroes units\n* Weight decay shrinks weights\n- Early stopping halts",
            "Name one regularizer.",
            [("Dropout zeroes units", 0), ("Weight decay shrinks weights", 0), ("Early stopping halts", 0)],
        ),
        (  # letters after numbers are another list unless the number's line ends in ":"
            "1. Compute the gradient\n2. Step against it\n"
            "a) Adam adapts steps\nb) SGD uses one rate\nc) RMSProp scales",
            "Describe the two steps and name one optimizer.",
            [
                ("Compute the gradient", None),
                ("Step against it", None),
                ("Adam adapts steps", 0),
                ("SGD uses one rate", 0),
                ("RMSProp scales", 0),
            ],
        ),
        (  # numbered steps are all needed where nothing offers them as choices
            "1. Pick k centroids\n2. Assign each point to one\n3. Move centroids to means",
            "Name one clustering algorithm and describe it.",
            [
                ("Pick k centroids", None),
                ("Assign each point to one", None),
                ("Move centroids to means", None),
            ],
        ),
        (  # a line that only says what follows states nothing
            "The following points should be mentioned:\n- Dropout zeroes units\n- Weight decay shrinks them",
            "Why regularize?",
            [("Dropout zeroes units", None), ("Weight decay shrinks them", None)],
        ),
        (  # an offer of choices ends at a heading
            "Possible challenges:\n1. Topology changes\n2. Insecure links\n3. Hidden terminals\n# Steps\n"
            "1. Pick k centroids now\n2. Assign every point\n3. Move every centroid",
            "Name one challenge and describe the steps.",
            [
                ("Topology changes", 0),
                ("Insecure links", 0),
                ("Hidden terminals", 0),
                ("Pick k centroids now", None),
                ("Assign every point", None),
                ("Move every centroid", None),
            ],
        ),
        (  # "The following" that states something stays
            "The following code leaks memory because the buffer is never freed.",
            "Why does it leak?",
            [("The following code leaks memory because the buffer is never freed.", None)],
        ),
    ],
)
def test_a_marking_schemes_lists_are_read_by_their_markers(scheme, question, read):
    assert [(k.text, k.choice) for k in derive_key_points(scheme, question=question)] == read


OBJECTIVES = (
    "To support billions of end-systems.\nTo reduce routing tables.\nTo simplify protocol processing.\n"
    "To increase security.\nTo provide multicasting.\nTo support mobility (roaming)."
)


@pytest.mark.parametrize(
    ("scheme", "question", "choices"),
    [
        # One statement a line lists items as bullets would: more than the question asks for is a set
        # (SAF's IPv6 question gives ten; they were its first seven lines, all needed).
        (OBJECTIVES, "What are the objectives of IPv6? Please state at least 4 objectives.", [0] * 6),
        (OBJECTIVES, None, [None] * 6),  # a bank answer: points, as before
        (OBJECTIVES, "Name four objectives of IPv6.", [0] * 6),
        (OBJECTIVES, "Name the four objectives of IPv6.", [None] * 6),  # says how many there are
        (  # two unmarked lines are more often two parts of one answer than one of two options …
            "Advantage: it is more efficient than carrier extension.\nDisadvantage: frames wait in a buffer.",
            "Give 1 advantage and disadvantage.",
            [None, None],
        ),
        (  # … unless the scheme says they are
            "Accept any one of the following:\nThe window halves on loss.\nThe threshold drops to half.",
            "Why does TCP slow down?",
            [0, 0],
        ),
        (  # a line of several sentences, or a lead-in, ends the list; a sentence a line of an
            # explanation is no set where no count is asked
            "Dropout zeroes units. It regularizes the model.\nWeight decay shrinks weights.\n"
            "Early stopping halts training.\nAugmentation adds data.\nThe following matter too:\n"
            "Noise injection perturbs inputs.",
            "Name one regularizer.",
            [None, None, 0, 0, 0, None],
        ),
        (
            "Batch norm normalizes activations.\nIt uses batch statistics in training.\nAt inference it "
            "uses running averages.",
            "Explain batch norm in two sentences.",
            [None, None, None],
        ),
        (  # an explanation a sentence a line runs on ("It …"): no list, though a count is asked
            "Dropout zeroes activations at random.\nIt prevents co-adaptation of units.\nIt acts like an "
            "ensemble of thinned networks.\nAt test time every unit is used.",
            "What is dropout? Give two benefits.",
            [None] * 4,
        ),
        (  # items of a few words, a label's length, are items where no list follows them
            "Larger address space\nSimplified header format\nBetter multicast support\n"
            "Built-in IPsec for hosts",
            "Name two objectives of IPv6.",
            [0] * 4,
        ),
        (
            "Central control is a bottleneck.\nIT staff need retraining.\nNew hardware costs money.",
            "Name two drawbacks.",
            [0] * 3,
        ),
        (  # the line before bullets offers them, not the numbered steps after them
            "Possible examples:\n● Spam filters\n● Credit scoring\n● Image labels\n1. Collect the data\n"
            "2. Train the model\n3. Evaluate the model",
            "Name one example of supervised learning.",
            [0, 0, 0, None, None, None],
        ),
        (  # bullets under an unmarked line are a list of their own, not its sub-items
            "Methods to reduce overfitting\n  - Dropout\n  - Weight decay\n  - Early stopping",
            "Name one method to reduce overfitting.",
            [None, 0, 0, 0],
        ),
        (  # the line before an earlier list offered its items, not a numbered list after the lines
            "Possible examples:\n● Spam filters\n● Credit scoring\n● Image labels\nEach of these learns from "
            "labelled data.\nThey need many labels.\nLabels cost money.\n1. Collect the data\n"
            "2. Train the model\n3. Evaluate the model",
            "Name one example of supervised learning.",
            [0, 0, 0] + [None] * 6,
        ),
    ],
)
def test_a_schemes_unmarked_lines_of_one_statement_each_are_a_list(scheme, question, choices):
    assert [k.choice for k in derive_key_points(scheme, question=question)] == choices


def test_a_remark_between_two_items_of_a_list_is_its_items_not_the_lists_end():
    """SAF 11.2_SDN's drawbacks: "All these will cost … ROI." between two bullets ended the list, became
    a point every answer had to make, and left the last drawback out of the set."""
    scheme = (
        "Drawbacks:\n● The controller is a bottleneck\n● Staff need training on it\n"
        "(All these will cost depending on how much is reconfigured.)\n● Security concerns:\n"
        "○ Physical switches no longer guard the network"
    )
    points = derive_key_points(scheme, question="Describe two drawbacks of SDN.")
    assert [(k.text, k.choice) for k in points] == [
        ("The controller is a bottleneck", 0),
        ("Staff need training on it", 0),
        ("Security concerns: Physical switches no longer guard the network", 0),
    ]
    # A line that leads into or heads what follows still ends the list, as does a cue.
    heads = (
        "Partitioning",
        "Other drawbacks:",
        "**Mode 2**",
        "Partitioning (sharding)",
        "Partitioning costs more",
    )
    for lead in (*heads, "One of the following should be given"):
        split = derive_key_points(
            f"● Copies drift apart\n● Hardware costs more\n● Standby nodes idle\n{lead}\n"
            "● Neighbours must be known\n● Availability is lower\n● Coordination is hard",
            question="Name one downside of each mode.",
        )
        assert {k.choice for k in split} - {None} == {0, 1}, lead


def test_any_in_the_line_before_numbered_steps_does_not_offer_them_as_choices():
    scheme = (
        "Deduct a mark for any missing step:\n1. Pick k centroids now\n2. Assign every point\n3. Move them"
    )
    points = derive_key_points(scheme, question="Name one clustering algorithm and describe it.")
    assert [k.choice for k in points if "Pick" in k.text or "Assign" in k.text] == [None, None]


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("Name the two modes and name one downside for each of them.", 1),
        ("Describe two benefits and two drawbacks in 1-2 sentences each.", 2),
        ("State at least 4 of the differences between the headers.", 4),
        ("Summarize their functions in one sentence each.", None),
        ("You flip a coin 6 times; arrange the events by likelihood.", None),
        ("Explain one-hot encoding and list its drawbacks.", None),
        ("What is one epoch?", None),
        ("Explain in one or two sentences why a single-layer perceptron fails on XOR.", None),
        ("Name 2-3 regularizers.", None),
        ("What are two benefits of batch normalization?", 2),
        ("Name any two optimizers.", 2),
        ("Give two (2) examples.", 2),
        ("Name two advantages and one disadvantage of dropout.", 1),
        ("Describe the two phases of backpropagation.", None),  # says how many there are: no choice
    ],
)
def test_asked_count_reads_how_many_items_a_question_asks_for(question, count):
    assert asked_count(question) == count


@pytest.mark.parametrize(
    ("cue", "choices"),
    [
        ("Accept any one of the following:", [0, 0, 0]),
        ("Award 1 mark for any two of the following:", [0, 0, 0]),
        ("One of the following justifications should be given:", [0, 0, 0]),
        ("Deduct marks if any of the following is claimed:", [None, None, None, None]),
        ("The following are all needed:", [None, None, None]),  # the line states nothing to make
    ],
)
def test_a_schemes_own_cue_makes_its_list_a_set(cue, choices):
    options = "- dropout zeroes random units\n- weight decay shrinks weights\n- early stopping halts training"
    scheme = f"{cue}\n{options}"
    assert [k.choice for k in derive_key_points(scheme, question="Why regularize?")] == choices


def test_an_abbreviation_does_not_end_a_key_point():
    reference = "Round to two places, e.g. P(B) = 0.01. Compare it with i.e. The sum. Show the formula."
    assert [k.text for k in derive_key_points(reference)] == [
        "Round to two places, e.g. P(B) = 0.01.",
        "Compare it with i.e. The sum.",
        "Show the formula.",
    ]
