"""`interviewer grade`'s core: CSV/JSONL in, JSONL/CSV out, bad rows named and skipped, resumable."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from interviewer.app import Workspace
from interviewer.batch import OUTPUT_FIELDS, InputError, done_ids, run_batch

ROOT = Path(__file__).resolve().parent.parent

STRONG = (
    "Vanishing gradients happen when the gradient shrinks exponentially as it is backpropagated through "
    "many layers, because the chain rule multiplies many small derivatives, for example from saturating "
    "sigmoid or tanh units. The early layers then barely learn. Mitigations are ReLU-family activations, "
    "He or Xavier initialization, batch normalization, residual connections, and gated units like LSTMs."
)
WEAK = "The gradients get small so training is slow."
DROPOUT = (
    "Dropout randomly zeroes activations during training so units cannot co-adapt; it is off at inference."
)


@pytest.fixture()
def ws(grader):
    """The repo's workspace wired to the session's grader (the model loads once per test run)."""
    workspace = Workspace(ROOT)
    workspace._grader = grader
    return workspace


class Run:
    def __init__(self, ws):
        self.ws = ws
        # Narrow on purpose: every message must stay one line however long it is.
        self.console = Console(file=io.StringIO(), width=40, highlight=False, color_system=None)

    def __call__(self, input_path: Path, output: Path | None = None):
        return run_batch(self.ws, input_path, output, console=self.console)

    @property
    def lines(self) -> list[str]:
        return self.console.file.getvalue().splitlines()

    @property
    def skipped(self) -> list[str]:
        return [line for line in self.lines if line.startswith("skipped ")]


@pytest.fixture()
def run(ws):
    return Run(ws)


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rows_by_question_id_get_score_band_covered_missed_and_flags(run, tmp_path):
    source = write_jsonl(
        tmp_path / "answers.jsonl",
        [
            {"id": "s", "question_id": "000-12", "answer": STRONG},
            {"id": "w", "question_id": "000-12", "answer": WEAK},
        ],
    )
    summary = run(source, tmp_path / "out.jsonl")
    strong, weak = read_jsonl(tmp_path / "out.jsonl")
    assert summary.graded == 2 and summary.errors == []
    assert set(strong) == set(OUTPUT_FIELDS)
    assert strong["id"] == "s" and strong["question_id"] == "000-12" and strong["matched_question"] is None
    assert strong["band"] == "strong" and strong["score"] >= 4.0 and strong["flags"] == []
    assert 0 < weak["score"] < strong["score"] and len(weak["missed"]) > len(strong["missed"])
    assert len(strong["covered"]) + len(strong["missed"]) == 7
    assert run.lines[-1].startswith("Graded 2 answers (mean ")


def test_a_free_text_question_is_matched_by_retrieval_and_the_match_reported(run, tmp_path, grader):
    source = write_jsonl(
        tmp_path / "answers.jsonl",
        [
            {
                "id": "q",
                "question": "What is the vanishing gradient problem, and how can it be mitigated?",
                "answer": STRONG,
            }
        ],
    )
    run(source, tmp_path / "out.jsonl")
    [record] = read_jsonl(tmp_path / "out.jsonl")
    group = {r.question_id for r in grader.group_of(grader.rubric("000-12"))}
    assert record["matched_question"] in group and record["question_id"] == record["matched_question"]
    assert 0.6 <= record["match_similarity"] <= 1.0
    assert record["score"] >= 3.5


def test_a_question_with_its_own_reference_is_graded_against_an_adhoc_rubric(run, tmp_path):
    question = "What does a learning-rate warmup do?"
    reference = (
        "Warmup starts training with a small learning rate and raises it over the first steps. "
        "It avoids large, unstable updates while the optimizer statistics are still poor."
    )
    source = write_jsonl(
        tmp_path / "answers.jsonl",
        [
            {"id": "good", "question": question, "reference_answer": reference, "answer": reference},
            {
                "id": "bad",
                "question": question,
                "reference_answer": reference,
                "answer": "It uses bigger batches.",
            },
        ],
    )
    run(source, tmp_path / "out.jsonl")
    good, bad = read_jsonl(tmp_path / "out.jsonl")
    assert good["question_id"].startswith("adhoc-") and good["question_id"] == bad["question_id"]
    assert good["matched_question"] is None
    assert good["score"] >= 4.0 > bad["score"]


def test_an_empty_answer_is_graded_zero_not_rejected(run, tmp_path):
    source = tmp_path / "answers.csv"
    source.write_text('id,question_id,answer\nblank,000-12,\nspaces,000-12,"   "\n', encoding="utf-8")
    json_source = write_jsonl(
        tmp_path / "answers.jsonl", [{"id": "null", "question_id": "000-12", "answer": None}]
    )
    for path in (source, json_source):
        summary = run(path, tmp_path / f"out-{path.suffix[1:]}.jsonl")
        assert summary.errors == []
    records = read_jsonl(tmp_path / "out-csv.jsonl") + read_jsonl(tmp_path / "out-jsonl.jsonl")
    assert [r["id"] for r in records] == ["blank", "spaces", "null"]
    for record in records:
        assert record["score"] == 0 and record["band"] == "no answer" and record["flags"] == ["empty"]


def test_bad_csv_rows_are_named_by_line_and_id_and_the_rest_are_graded(run, tmp_path):
    source = tmp_path / "answers.csv"
    source.write_text(
        "id,question_id,question,reference_answer,answer\n"  # 1
        'ok1,000-12,,,"Gradients shrink\nas they flow back."\n'  # 2-3: a quoted newline
        "\n"  # 4: blank
        ",000-12,,,no id here\n"  # 5
        "ghost,999-99,,,an answer\n"  # 6
        "loose,,,,an answer with no question\n"  # 7
        "ref-only,000-12,,A reference alone.,an answer\n"  # 8
        'ok1,000-12,,,"a second ok1"\n'  # 9
        "paris,,What is the capital of France?,,Paris\n"  # 10
        "tiny-ref,,What is X?,ab,an answer\n"  # 11
        f'ok2,002-06,,,"{DROPOUT}"\n',  # 12
        encoding="utf-8",
    )
    summary = run(source, tmp_path / "out.jsonl")
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["ok1", "ok2"]
    assert summary.graded == 2 and len(summary.errors) == 7
    # Rows that cannot be parsed are reported first, rows no rubric fits as grading reaches them.
    assert sorted((p.line, p.row_id) for p in summary.errors) == [
        (5, None),
        (6, "ghost"),
        (7, "loose"),
        (8, "ref-only"),
        (9, "ok1"),
        (10, "paris"),
        (11, "tiny-ref"),
    ]
    messages = run.skipped
    assert len(messages) == 7
    expected = [
        f"skipped {source}: line 5: missing `id`; give every row a unique id",
        f"skipped {source}: line 6 (id ghost): unknown question_id '999-99'; see `interviewer questions`",
        f"skipped {source}: line 7 (id loose): needs `question_id` or `question`",
        f"skipped {source}: line 8 (id ref-only): `reference_answer` needs the `question` text too",
        f"skipped {source}: line 9 (id ok1): duplicate id (first on line 2)",
        f"skipped {source}: line 11 (id tiny-ref): `reference_answer` is too short to grade against; "
        "give a sentence or more",
    ]
    for line in expected:
        assert line in messages
    [paris] = [m for m in messages if "(id paris)" in m]
    assert paris.startswith(
        f"skipped {source}: line 10 (id paris): no bank question matches 'What is the capital"
    )
    assert paris.endswith("add `reference_answer` to grade it against your own reference")
    assert run.lines[-1].startswith("Graded 2 answers") and "7 rows skipped" in run.lines[-1]


def test_bad_jsonl_lines_are_named_and_skipped(run, tmp_path):
    source = write_jsonl(
        tmp_path / "answers.jsonl",
        [
            '{"id": "broken", "answer": ',
            "[1, 2, 3]",
            {"id": "no-answer", "question_id": "000-12"},
            "",
            {"id": 7, "question_id": "000-12", "answer": WEAK},
        ],
    )
    summary = run(source, tmp_path / "out.jsonl")
    assert [str(p) for p in summary.errors] == [
        "line 1: not valid JSON (Expecting value)",
        "line 2: expected a JSON object",
        "line 3 (id no-answer): missing `answer` column",
    ]
    [record] = read_jsonl(tmp_path / "out.jsonl")
    assert record["id"] == "7"  # ids are text, whatever the JSON type


def test_csv_output_by_extension_with_lists_as_json_arrays(run, tmp_path):
    source = write_jsonl(tmp_path / "answers.jsonl", [{"id": "s", "question_id": "000-12", "answer": STRONG}])
    run(source, tmp_path / "out.csv")
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == OUTPUT_FIELDS
        [row] = list(reader)
    assert row["id"] == "s" and row["band"] == "strong" and float(row["score"]) >= 4.0
    covered = json.loads(row["covered"])
    assert len(covered) >= 4 and all(isinstance(p, str) for p in covered)
    assert json.loads(row["flags"]) == [] and row["matched_question"] == ""
    assert json.loads(row["contradictions"]) == []


def test_without_an_output_file_results_go_to_stdout_as_jsonl(run, tmp_path, capsys):
    source = write_jsonl(tmp_path / "answers.jsonl", [{"id": "w", "question_id": "000-12", "answer": WEAK}])
    run(source)
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["id"] == "w"


def test_a_rerun_resumes_after_the_rows_already_written(run, tmp_path):
    rows = [{"id": f"r{i}", "question_id": "000-12", "answer": WEAK + f" Note {i}."} for i in range(3)]
    source = write_jsonl(tmp_path / "answers.jsonl", rows)
    output = tmp_path / "out.jsonl"
    run(source, output)
    before = output.read_text()
    rows.append({"id": "r3", "question_id": "002-06", "answer": DROPOUT})
    write_jsonl(source, rows)
    summary = run(source, output)
    assert summary.skipped_done == 3 and summary.graded == 1
    assert output.read_text().startswith(before)
    assert [r["id"] for r in read_jsonl(output)] == ["r0", "r1", "r2", "r3"]
    assert f"Resuming: 3 rows already in {output}." in run.lines


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_torn_last_line_from_a_crash_is_dropped_and_that_row_graded_again(run, tmp_path, suffix):
    rows = [{"id": f"r{i}", "question_id": "000-12", "answer": WEAK + f" Take {i}."} for i in range(3)]
    source = write_jsonl(tmp_path / "answers.jsonl", rows)
    output = tmp_path / f"out{suffix}"
    run(source, output)
    complete = output.read_bytes()
    output.write_bytes(complete[: len(complete) - 25])  # the crash cut the last row short
    summary = run(source, output)
    assert summary.skipped_done == 2 and summary.graded == 1
    if suffix == ".csv":
        with output.open(encoding="utf-8", newline="") as handle:
            ids = [r["id"] for r in csv.DictReader(handle)]
    else:
        ids = [r["id"] for r in read_jsonl(output)]  # every line parses
    assert ids == ["r0", "r1", "r2"]
    assert done_ids(output) == {"r0", "r1", "r2"}


def _bad_utf8(path: Path) -> None:
    path.write_bytes(b"id,question_id,answer\nr1,000-12,caf\xe9\n")


UNUSABLE = {
    "empty jsonl": ("answers.jsonl", lambda p: p.write_text(""), "no rows found"),
    "blank jsonl": ("answers.jsonl", lambda p: p.write_text("\n\n"), "no rows found"),
    "empty csv": ("answers.csv", lambda p: p.write_text(""), "empty file; expected a header row"),
    "header-only csv": ("answers.csv", lambda p: p.write_text("id,question_id,answer\n"), "no rows found"),
    "csv without an answer column": (
        "answers.csv",
        lambda p: p.write_text("id,question_id,text\nr1,000-12,hello\n"),
        "line 1: the header has no answer column",
    ),
    "unknown extension": ("answers.xlsx", lambda p: p.write_text("id,answer\n"), "unknown file type .xlsx"),
    "not UTF-8": ("answers.csv", _bad_utf8, "not UTF-8 text (byte 35); save it as UTF-8"),
    "missing": ("answers.jsonl", lambda p: None, "no such file"),
    "a folder": ("answers.csv", lambda p: p.mkdir(), "is a folder, not a file"),
}


@pytest.mark.parametrize(("name", "make", "message"), UNUSABLE.values(), ids=UNUSABLE.keys())
def test_an_unusable_input_file_is_one_clear_error(run, tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    with pytest.raises(InputError) as caught:
        run(path, tmp_path / "out.jsonl")
    text = str(caught.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text
    assert not (tmp_path / "out.jsonl").exists()


def test_an_unusable_output_is_refused_before_anything_is_touched(run, tmp_path):
    source = write_jsonl(tmp_path / "answers.jsonl", [{"id": "w", "question_id": "000-12", "answer": WEAK}])
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, no trailing newline")
    with pytest.raises(InputError, match=r"notes\.txt: unknown output type \.txt; use \.jsonl or \.csv"):
        run(source, notes)
    assert notes.read_text() == "my notes, no trailing newline"  # not truncated as a "torn line"
    with pytest.raises(InputError, match="the output would overwrite the input"):
        run(source, source)
    (tmp_path / "results.jsonl").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        run(source, tmp_path / "results.jsonl")


def test_user_text_that_looks_like_markup_is_printed_verbatim(run, tmp_path):
    source = write_jsonl(
        tmp_path / "answers.jsonl", [{"id": "[/bold]", "question_id": "[red]x", "answer": "hi"}]
    )
    summary = run(source, tmp_path / "out.jsonl")
    assert summary.graded == 0
    assert run.skipped == [
        f"skipped {source}: line 1 (id [/bold]): unknown question_id '[red]x'; see `interviewer questions`"
    ]
