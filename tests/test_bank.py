"""The bank parser gets every question and every answer boundary of the five seed formats right."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interviewer.sources.bank import BankError, load_corpus, parse_bank

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def questions():
    return {q.id: q for q in load_corpus(CORPUS)}


def test_the_five_banks_hold_150_questions_80_with_answers(questions):
    by_bank = Counter(q.bank.split("_")[0] for q in questions.values())
    assert by_bank == {"000": 43, "001": 50, "002": 10, "003": 17, "004": 30}
    assert sum(q.has_reference for q in questions.values()) == 80


def test_bank_000_has_topics_levels_and_answers(questions):
    q = questions["000-12"]
    assert q.topic == "Neural Networks Basics" and q.difficulty == "advanced"
    assert q.answer.startswith("Vanishing gradients occur") and "Residual connections" in q.answer
    assert questions["000-13"].topic == "Convolutional Neural Networks (CNNs)"
    assert questions["000-13"].difficulty == "beginner"
    assert all(questions[f"000-{n:02d}"].has_reference for n in range(1, 44))


def test_bank_001_answer_boundaries(questions):
    assert all(questions[f"001-{n:02d}"].has_reference for n in range(1, 11))
    assert not any(questions[f"001-{n:02d}"].has_reference for n in range(11, 51))
    # Numbered list items inside answers belong to the answer, not to new questions.
    assert "1. Sigmoid:" in questions["001-04"].answer and "4. Softmax:" in questions["001-04"].answer
    assert "1. **Proper Initialization:**" in questions["001-06"].answer
    assert questions["001-05"].text.startswith("What is backpropagation")
    assert questions["001-07"].text.startswith("What is overfitting")
    assert questions["001-31"].text.startswith("What is data augmentation")
    assert questions["001-50"].text.startswith("What are some recent advancements")


def test_bank_002_and_003_keep_bullets_tables_and_code(questions):
    assert "- **Fully connected layers**" in questions["002-05"].answer
    assert not questions["002-05"].answer.startswith("**Answer:**")
    answer = questions["003-02"].answer
    assert (
        "| **Ensemble Effect** |" in answer and "nn.Dropout(0.5)" in answer and "### Python Example" in answer
    )
    assert questions["003-03"].text == "Difference between standard neural network and Autoencoder"
    assert questions["003-17"].answer.rstrip().endswith("Building trust with stakeholders")


def test_bank_004_levels_restart_numbering_with_stable_ids(questions):
    levels = Counter(q.difficulty for q in questions.values() if q.bank.startswith("004"))
    assert levels == {"beginner": 10, "intermediate": 10, "advanced": 10}
    assert questions["004-intermediate-04"].text.startswith("Explain the vanishing gradient problem")
    assert not any(q.has_reference for q in questions.values() if q.bank.startswith("004"))


def test_ids_are_stable_across_reparsing():
    first = [(q.id, q.text) for q in load_corpus(CORPUS)]
    second = [(q.id, q.text) for q in load_corpus(CORPUS)]
    assert first == second and len({i for i, _ in first}) == 150


def test_a_bank_without_questions_names_file_and_line(tmp_path):
    bad = tmp_path / "notes.md"
    bad.write_text("# My notes\n\nJust some prose about neural nets.\n")
    with pytest.raises(BankError, match=r"notes\.md line 1: no questions found"):
        load_corpus(tmp_path)


def test_repeated_question_number_is_reported_with_its_line():
    text = "### 1. What is a tensor?\nAnswer: an array.\n\n### 1. What is a gradient?\nAnswer: a slope.\n"
    with pytest.raises(BankError, match=r"bank\.md line 4: question number 1 repeats the one on line 1"):
        parse_bank(text, "my_bank", source="bank.md")


def test_a_bold_title_that_wraps_onto_the_next_line_is_one_question():
    text = "## CNNs\n### Basic\n1. **What is a convolution,\n   and why use it?**\n   It slides a filter.\n"
    [q] = parse_bank(text, "x_bank")
    assert q.text == "What is a convolution, and why use it?" and q.answer == "It slides a filter."


_question = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=3, max_size=40).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_question, st.one_of(st.none(), _question)), min_size=1, max_size=12))
def test_any_numbered_heading_bank_parses_back(entries):
    lines = []
    for n, (title, answer) in enumerate(entries, start=1):
        lines.append(f"### {n}. {title.strip()}?")
        lines.append(f"Answer: {answer.strip()}" if answer else "Answer:")
        lines.append("")
    parsed = parse_bank("\n".join(lines), "gen_bank")
    assert [q.text for q in parsed] == [f"{t.strip()}?" for t, _ in entries]
    assert [q.answer for q in parsed] == [a.strip() if a else None for _, a in entries]
