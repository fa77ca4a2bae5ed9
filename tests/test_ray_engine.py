"""`interviewer grade --engine ray`: the same records as the single-process path, on a local Ray.

Runs where the `scale` extra is installed (`pip install -e '.[scale]'`), skipped elsewhere.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from interviewer.grading.resolve import OWN_LABEL, REFERENCES_UNREAD  # noqa: E402
from interviewer.surfaces.batch import BatchOptions, BatchSummary, InputError, run_batch  # noqa: E402
from interviewer.surfaces.ray_engine import _read_failed, ray_failure, run_ray  # noqa: E402
from interviewer.workspace import Workspace  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STRONG = (
    "Vanishing gradients happen when the gradient shrinks exponentially as it is backpropagated through "
    "many layers, because the chain rule multiplies many small derivatives. Mitigations are ReLU, "
    "careful initialization, batch normalization and residual connections."
)
WARMUP_Q = "What does a learning-rate warmup do?"
WARMUP_REF = (
    "Warmup starts training with a small learning rate and raises it over the first steps. "
    "It avoids large, unstable updates while the optimizer statistics are still poor."
)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def rows() -> list[dict]:
    out = [
        {"id": "bank-strong", "question_id": "000-12", "answer": STRONG},
        {"id": "bank-weak", "question_id": "000-12", "answer": "Gradients get small."},
        {"id": "bank-empty", "question_id": "002-06", "answer": ""},
        {"id": "ghost", "question_id": "999-99", "answer": "anything"},
        {
            "id": "matched",
            "question": "What is the vanishing gradient problem, and how can it be mitigated?",
            "answer": STRONG,
        },
    ]
    for i, answer in enumerate([WARMUP_REF, "It uses bigger batches.", "Small steps first, then larger."]):
        out.append(
            {"id": f"adhoc-{i}", "question": WARMUP_Q, "reference_answer": WARMUP_REF, "answer": answer}
        )
    # Another acceptable answer, in a column the other rows do not have.
    out.append({**out[-1], "id": "two-refs", "reference_answer_2": "Small steps first, then larger ones."})
    # A bank id chooses the bank rubric over the row's reference (said once per run); an id of the
    # user's own is a label, and the row is graded against its reference.
    out.append({**out[0], "id": "bank-with-ref", "question": WARMUP_Q, "reference_answer": WARMUP_REF})
    out.append({**out[-2], "id": "own-id", "question_id": "Q7"})
    return out


def read(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def write_rows(tmp_path: Path) -> Path:
    source = tmp_path / "answers.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows()), encoding="utf-8")
    return source


def same_records(tmp_path: Path) -> dict[str, dict]:
    """The Ray output, once every record in it is the single-process run's, row by row."""
    expected, got = read(tmp_path / "single.jsonl"), read(tmp_path / "ray.jsonl")
    assert set(got) == set(expected)
    for key, record in expected.items():
        assert got[key] == record, key
    return got


def both_engines(grader, source: Path, tmp_path: Path) -> tuple[BatchSummary, BatchSummary, str]:
    """`source` graded by the single-process path (into single.jsonl) and by Ray on one actor (into
    ray.jsonl): both summaries, and what the Ray run said."""
    ws = Workspace(ROOT)
    ws._grader = grader
    single = run_batch(ws, source, tmp_path / "single.jsonl", console=Console(file=io.StringIO(), width=200))
    console = Console(file=io.StringIO(), width=300)
    summary = run_ray(Workspace(ROOT), source, tmp_path / "ray.jsonl", console=console, actors=1)
    return single, summary, console.file.getvalue()


def test_ray_results_equal_the_single_process_path_row_by_row_and_resume(local_ray, grader, tmp_path):
    source = write_rows(tmp_path)
    ws = Workspace(ROOT)
    ws._grader = grader
    quiet = Console(file=io.StringIO(), width=200)
    single = run_batch(ws, source, tmp_path / "single.jsonl", console=quiet)
    console = Console(file=io.StringIO(), width=200)
    # Chunks of 3 rows, so both actors grade some of them.
    summary = run_ray(
        Workspace(ROOT),
        source,
        tmp_path / "ray.jsonl",
        console=console,
        options=BatchOptions(chunk=3),
        actors=2,
    )
    assert summary.graded == single.graded == 10 and len(summary.errors) == 1
    got = same_records(tmp_path)
    assert "ghost" in console.file.getvalue()
    assert summary.notes == single.notes
    assert {kind: tally.first for kind, tally in summary.notes.items()} == {
        REFERENCES_UNREAD: ["bank-with-ref"],
        OWN_LABEL: ["own-id"],
    }
    assert "1 row (bank-with-ref) gave a bank question_id and reference answers" in console.file.getvalue()
    assert got["bank-with-ref"]["question_id"] == "000-12"
    assert got["own-id"]["question_id"].startswith("adhoc-") and got["own-id"]["score"] is not None

    again = run_ray(
        Workspace(ROOT), source, tmp_path / "ray.jsonl", console=console, options=BatchOptions(), actors=2
    )
    assert again.graded == 0 and again.skipped_done == 10
    assert read(tmp_path / "ray.jsonl") == got


def test_ray_in_bf16_equals_the_single_process_path_in_bf16(local_ray, tmp_path):
    """Where the CPU has native bf16, a local `grade` reads the judge in bf16 by default (and a Ray run
    with --device cpu); a row must grade the same whichever actor and chunk it lands in."""
    from interviewer.grading.judge import native_bf16

    if not native_bf16():
        pytest.skip("this CPU has no native bf16 (AMX or AVX512-BF16)")
    source = write_rows(tmp_path)
    quiet = Console(file=io.StringIO(), width=200)
    ws = Workspace(ROOT, device="cpu", backend="torch", precision="bf16")
    run_batch(ws, source, tmp_path / "single.jsonl", console=quiet)
    assert ws.grader().judge is not None and ws.grader().judge.precision == "bf16"
    run_ray(
        Workspace(ROOT, device="cpu", precision="bf16"),
        source,
        tmp_path / "ray.jsonl",
        console=quiet,
        options=BatchOptions(chunk=2),
        actors=2,
    )
    assert len(same_records(tmp_path)) == 10


def test_the_single_process_path_never_imports_ray(tmp_path):
    import subprocess

    probe = "import sys\nfrom interviewer.surfaces import batch, cli\nprint('ray' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_ray_reads_graded_examples_as_the_single_process_path_does(local_ray, grader, tmp_path):
    source = write_rows(tmp_path)
    examples = tmp_path / "examples.jsonl"
    graded = [("e-ref", WARMUP_REF, 5), ("e-batch", "It uses bigger batches.", 0), ("e-bad", "x", "high")]
    examples.write_text(
        "".join(
            json.dumps(
                {"id": i, "question": WARMUP_Q, "reference_answer": WARMUP_REF, "answer": a, "grade": g}
            )
            + "\n"
            for i, a, g in graded
        ),
        encoding="utf-8",
    )
    ws = Workspace(ROOT)
    ws._grader = grader
    quiet = Console(file=io.StringIO(), width=200)
    run_batch(ws, source, tmp_path / "single.jsonl", console=quiet, options=BatchOptions(examples=examples))
    console = Console(file=io.StringIO(), width=200)
    run_ray(
        Workspace(ROOT),
        source,
        tmp_path / "ray.jsonl",
        console=console,
        options=BatchOptions(chunk=3, examples=examples),
        actors=2,
    )
    got = same_records(tmp_path)
    assert "Graded examples" in got["adhoc-1"]["explanation"]
    assert "Graded examples" not in got["bank-strong"]["explanation"]
    assert "line 3 (id e-bad): `grade` must be a number" in console.file.getvalue()

    # An examples file given as the output too is refused before the output is read (a CSV output
    # with other columns would be rewritten on reading).
    kept = tmp_path / "kept.csv"
    kept.write_text(f'id,question,reference_answer,answer,grade\ne1,"{WARMUP_Q}","{WARMUP_REF}",x,5\n')
    before = kept.read_text()
    with pytest.raises(InputError, match="is also the output"):
        run_ray(Workspace(ROOT), source, kept, console=console, options=BatchOptions(examples=kept))
    assert kept.read_text() == before


def test_a_nan_cell_reaches_the_actors_blank_as_the_local_reader_has_it():
    """A Parquet column of floats (pandas writes a column with gaps so) is cast to text: NaN is no "nan"."""
    import pyarrow as pa

    from interviewer.surfaces.batch import _to_row
    from interviewer.surfaces.ray_engine import as_text_columns

    floats = pa.array([float("nan"), None], pa.float64())
    batch = pa.table(
        {
            "id": pa.array([7.0, 8.0], pa.float64()),  # pandas' integer ids, where a column has gaps
            "reference_answer_3": floats,
            "answer": floats,
            "question_id": floats,
            "question": ["Q?"] * 2,
        }
    )
    text = as_text_columns(batch)
    assert text.column("id").to_pylist() == ["7", "8"]
    for column in ("reference_answer_3", "answer", "question_id"):
        assert text.column(column).to_pylist() == [None, None]
    # Any cell that is not text reads as the local reader reads it, not as Arrow casts it.
    odd = pa.table({"id": pa.array([1e15, 2.5]), "answer": pa.array([True, False])})
    local = _to_row(1, {"id": 1e15, "answer": True, "question": "Q?"}).row
    assert local is not None
    assert as_text_columns(odd).column("id").to_pylist() == [local.id, "2.5"]
    assert as_text_columns(odd).column("answer").to_pylist() == [local.answer, "False"]
    # The local reader, given the same cells, reads the same row.
    local = _to_row(1, {"id": 7.0, "answer": float("nan"), "question_id": float("nan"), "question": "Q?"}).row
    assert local is not None and (local.id, local.answer, local.question_id) == ("7", "", None)


def test_ray_skips_and_names_the_jsonl_rows_the_single_process_path_skips(local_ray, grader, tmp_path):
    """Ray's own JSON reader failed the whole run on one line that is not JSON ("cannot be read by Ray
    Data (ray::ReadPandasJSON…)") and graded a row without an `answer` key as an empty answer."""
    source = tmp_path / "answers.ndjson"  # a name Ray's own JSON reader did not read
    lines = [
        "\ufeff" + json.dumps({"id": "a", "question_id": "000-12", "answer": STRONG}),  # a BOM, dropped
        json.dumps({"id": "no-answer", "question_id": "000-12"}),
        json.dumps({"id": "null", "question_id": "000-12", "answer": None}),  # a blank answer, graded
        '{"id": "broken", "question_id": "000-12", ',
        "   ",
        "[1, 2]",
        json.dumps({"question_id": "000-12", "answer": "no id"}),
        json.dumps({"id": 7, "question": WARMUP_Q, "reference_answer": WARMUP_REF, "answer": WARMUP_REF}),
        # a line separator inside a string is no line's end (Ray's text reader cut there)
        json.dumps(
            {"id": "u2028", "question_id": "000-12", "answer": "Shrinks.\u2028Yes."}, ensure_ascii=False
        ),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single, summary, said = both_engines(grader, source, tmp_path)
    assert list(same_records(tmp_path)) == ["a", "null", "7", "u2028"]
    assert summary.graded == single.graded == 4
    # The same problems, each said by its line, as the single-process path says them.
    assert (
        [str(e) for e in summary.errors]
        == [str(e) for e in single.errors]
        == [
            "line 2 (id no-answer): missing `answer` column",
            "line 4: not valid JSON (Expecting property name enclosed in double quotes)",
            "line 6: expected a JSON object (JSON Lines: one object per line, not an array)",
            "line 7: missing `id`; give every row a unique id",
        ]
    )
    assert f"skipped {source}: line 2 (id no-answer): missing `answer` column" in said
    assert f"skipped {source}: line 6: expected a JSON object" in said
    # A rerun grades nothing again and names the same rows again.
    quiet = Console(file=io.StringIO(), width=200)
    again = run_ray(Workspace(ROOT), source, tmp_path / "ray.jsonl", console=quiet, actors=1)
    assert (again.graded, again.skipped_done) == (0, 4)
    assert [str(e) for e in again.errors] == [str(e) for e in summary.errors]


def test_ray_skips_and_names_the_csv_rows_the_single_process_path_skips(local_ray, grader, tmp_path):
    """Ray's own CSV reader stopped the whole run at a row with more fields than the header ("CSV parse
    error: Expected 3 columns, got 5"), where the single-process reader names the row by its line and
    grades the others. Both now read a CSV with that reader."""
    source = tmp_path / "answers.csv"
    source.write_text(
        "id,question_id,answer\n"
        "a,000-12,Gradients shrink.\n"
        "b,000-12,x,extra,fields\n"
        'c,000-12,"an answer\nover two lines"\n'
        ",000-12,no id\n"
        "e,999-99,no such question\n"
        "a,000-12,Gradients shrink twice.\n"
        "e,000-12,A repeated id is one though its first row had no question.\n"
        'd,000-12,"a quote never closed\n'
    )
    single, summary, told = both_engines(grader, source, tmp_path)
    assert list(same_records(tmp_path)) == ["a", "c"]
    # The same rows named by the same lines, in file order; an unknown question (found by an actor) and
    # a repeated id (found by the driver) too.
    assert [str(e) for e in summary.errors] == [str(e) for e in single.errors]
    assert [e.line for e in summary.errors] == [3, 6, 7, 8, 9, 10]
    assert str(summary.errors[3]) == "line 8 (id a): duplicate id (first on line 2)"
    assert str(summary.errors[4]) == "line 9 (id e): duplicate id (first on line 7)"
    said = [line for line in told.splitlines() if line.startswith("skipped")]
    assert said == [f"skipped {source}: {e}" for e in single.errors]
    assert any(f"skipped {source}: line 3: 5 fields where the header has 3 columns" in line for line in said)


def test_a_rerun_names_a_repeated_id_as_the_single_process_path_does(local_ray, grader, tmp_path):
    """Rows done before still reach the driver, in order: a later row of their id stays a duplicate
    (Ray filtered the done rows out, so that row was graded over the first on every rerun)."""
    source = tmp_path / "answers.csv"
    source.write_text(
        "id,question_id,answer\na,000-12,Gradients shrink.\nb,000-12,They vanish.\na,000-12,Another answer.\n"
    )
    both_engines(grader, source, tmp_path)
    first = read(tmp_path / "ray.jsonl")
    for _ in range(2):
        quiet = Console(file=io.StringIO(), width=200)
        ws = Workspace(ROOT)
        ws._grader = grader
        single = run_batch(ws, source, tmp_path / "single.jsonl", console=quiet)
        summary = run_ray(Workspace(ROOT), source, tmp_path / "ray.jsonl", console=quiet, actors=1)
        for run in (single, summary):
            assert (run.graded, run.skipped_done, run.regraded) == (0, 2, 0)
            assert [str(e) for e in run.errors] == ["line 4 (id a): duplicate id (first on line 2)"]
        assert read(tmp_path / "ray.jsonl") == first


def test_ray_gives_a_tsv_row_no_csv_hint_as_the_single_process_path_does(local_ray, grader, tmp_path):
    """The hint that a row may be the rest of an answer cut at a line break is a CSV row's only."""
    source = tmp_path / "answers.tsv"
    source.write_text(
        "id\tquestion\tanswer\n"
        "a\tWhat is the vanishing gradient problem?\tGradients shrink.\n"
        "student seven\tand then it keeps going down slowly\tx\n"
    )
    single, summary, _ = both_engines(grader, source, tmp_path)
    assert [str(e) for e in summary.errors] == [str(e) for e in single.errors]
    assert len(summary.errors) == 1 and "line break" not in summary.errors[0].message


def test_a_file_ray_cannot_read_is_named_with_its_readers_words(local_ray, grader, tmp_path):
    """A byte that is not UTF-8 stops both engines (the single-process reader names its line), and the
    rows graded before it are kept; Ray's wrapper ("ray::ReadCsvRows->…(pid=…)") is not what is said."""
    source = tmp_path / "answers.csv"
    source.write_bytes(b"id,question_id,answer\na,000-12,Gradients shrink.\nb,000-12,caf\xe9\n")
    console = Console(file=io.StringIO(), width=200)
    with pytest.raises(InputError) as raised:
        run_ray(Workspace(ROOT), source, tmp_path / "out.jsonl", console=console)
    said = str(raised.value)
    assert said.startswith(f"{source}: cannot be read by Ray Data (")
    assert f"{source.resolve()} line 3: not UTF-8 text (byte 61); save it as UTF-8" in said
    assert "\x1b" not in said and "pid=" not in said


def test_a_ray_tasks_failure_is_said_in_the_tasks_words(local_ray):
    @ray.remote
    def fails():
        raise ValueError("Failed to read CSV file: x.csv. Please check the CSV file has correct format")

    with pytest.raises(ray.exceptions.RayTaskError) as raised:
        ray.get(fails.remote())
    assert (
        ray_failure(raised.value)
        == "Failed to read CSV file: x.csv. Please check the CSV file has correct format"
    )
    assert ray_failure(KeyError("id")) == "'id'"
    assert ray_failure(RuntimeError("")) == "RuntimeError"
    # The last error a traceback names, any class; not its code, frames or a note
    chained = (
        'ray::MapWorker(X).submit() (pid=1)\n  File "x.py", line 3\n    raise ValueError(\n'
        "KeyError: 'judge'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "    self.last_error: str = compute()\nFileNotFoundError: no judge model at /x\nNote: a note\n"
        "ray.exceptions.UserCodeException: UDF failed to process a data block."
    )
    assert ray_failure(RuntimeError(chained)) == "no judge model at /x"
    assert ray_failure(RuntimeError("httpx.ConnectTimeout: timed out")) == "timed out"

    # A grading actor's error, which Ray wraps as "UDF failed to process a data block.", is said too,
    # and told from a read task's (a rerun would not stop at it again).
    class Fails:
        def __call__(self, batch):
            raise ValueError("the judge could not be loaded")

    blocks = ray.data.from_items([{"a": 1}]).map_batches(Fails, compute=ray.data.ActorPoolStrategy(size=1))
    with pytest.raises(ray.exceptions.RayError) as failed:
        blocks.take_all()
    assert ray_failure(failed.value) == "the judge could not be loaded"
    assert not _read_failed(failed.value)


def test_a_jsonl_line_that_is_not_utf8_is_named_by_its_id():
    import pyarrow as pa

    from interviewer.surfaces.ray_engine import READ_AT, READ_PROBLEM, jsonl_text_columns

    line = b'{"ID": "x1", "question_id": "000-12", "answer": "caf' + b'\xe9"}'
    lines = {"line": [line, b"  "], "number": [5, 6], "file": ["/a/b.jsonl"] * 2}
    read = jsonl_text_columns(pa.table(lines))
    assert read.column(READ_PROBLEM).to_pylist() == [
        json.dumps(["x1", "not UTF-8 text (byte 52 of the line: save the file as UTF-8)"])
    ]
    assert read.column(READ_AT).to_pylist() == [json.dumps([5, "/a/b.jsonl", "jsonl"])]


def test_a_jsonl_line_that_is_not_utf8_is_skipped_and_named_alike_by_both_engines(
    local_ray, grader, tmp_path
):
    source = tmp_path / "answers.jsonl"
    source.write_bytes(
        b'{"ID": "x1", "question_id": "000-12", "answer": "caf\xe9"}\n'
        b'{"id": "a", "question_id": "000-12", "answer": "Gradients shrink."}\n'
    )
    single, summary, said = both_engines(grader, source, tmp_path)
    for run in (single, summary):
        assert run.graded == 1
        assert [str(e) for e in run.errors] == [
            "line 1 (id x1): not UTF-8 text (byte 52 of the line: save the file as UTF-8)"
        ]
    assert set(same_records(tmp_path)) == {"a"}
    assert "skipped" in said and "line 1 (id x1): not UTF-8 text" in said


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_ray_refuses_an_input_without_rows_as_the_single_process_path_does(local_ray, tmp_path, text):
    source = tmp_path / "answers.jsonl"
    source.write_text(text)
    console = Console(file=io.StringIO(), width=200)
    for run in (run_ray, run_batch):
        with pytest.raises(InputError, match="answers.jsonl: no rows found"):
            run(Workspace(ROOT), source, tmp_path / "out.jsonl", console=console)
    assert not (tmp_path / "out.jsonl").exists()


def test_ray_names_a_misnumbered_reference_column_as_the_single_process_path_does(
    local_ray, grader, tmp_path
):
    """A `reference_answer_17` must not vanish unread: each CSV row is named with it, as the
    single-process path names it; a Parquet file (whose columns Ray reads by the schema) is refused."""
    source = tmp_path / "answers.csv"
    source.write_text(
        f'id,question,reference_answer,reference_answer_17,answer\na,"{WARMUP_Q}","{WARMUP_REF}",x,y\n'
    )
    ws = Workspace(ROOT)
    ws._grader = grader
    console = Console(file=io.StringIO(), width=200)
    single = run_batch(ws, source, tmp_path / "single.jsonl", console=console)
    summary = run_ray(Workspace(ROOT), source, tmp_path / "ray.jsonl", console=console)
    assert [str(e) for e in summary.errors] == [str(e) for e in single.errors]
    assert "unknown column `reference_answer_17`: other acceptable answers go in" in str(summary.errors[0])
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = tmp_path / "answers.parquet"
    pq.write_table(
        pa.table({"id": ["a"], "question": [WARMUP_Q], "reference_answer_17": ["x"], "answer": ["y"]}),
        parquet,
    )
    with pytest.raises(
        InputError, match=r"unknown column `reference_answer_17`: other acceptable answers go in"
    ):
        run_ray(Workspace(ROOT), parquet, tmp_path / "out.jsonl", console=console)
    assert not (tmp_path / "out.jsonl").exists()


def test_ray_reads_a_spreadsheets_column_names_as_the_single_process_path_does(local_ray, grader, tmp_path):
    """Headers "ID " and "reference Answer" are `id` and `reference_answer`, typed from the header as
    written: "007", "0012" and "1.50" stay text (Arrow would read them as numbers)."""
    source = tmp_path / "answers.csv"
    source.write_text(
        'ID ,"question\nID",Question,reference Answer,Answer\n'  # a wrapped header cell, as Excel writes it
        f'007,0012,"{WARMUP_Q}","{WARMUP_REF}",1.50\n'
    )
    _, _, said = both_engines(grader, source, tmp_path)
    got = same_records(tmp_path)
    assert list(got) == ["007"] and got["007"]["question_id"].startswith("adhoc-")
    assert "1 row (007) gave a question_id that is no bank id" in said


def test_ray_reads_compressed_files_as_the_single_process_path_does(local_ray, grader, tmp_path):
    """`answers.csv.gz` is a CSV file to both engines, read by Python's gzip, bz2 and lzma by the
    suffix in any case (Arrow's codec detection missed `.GZ` and read the raw bytes, and has no xz);
    so are a folder of `.jsonl.bz2` parts, and a file cut short, named by the last line read however
    the run started."""
    import bz2
    import gzip
    import lzma

    table = f'id,question_id,answer\na,000-12,"{STRONG}"\nb,000-12,Gradients get small.\n'
    line = json.dumps({"id": "c", "question": WARMUP_Q, "reference_answer": WARMUP_REF, "answer": WARMUP_REF})
    for name, packed, ids in (
        ("answers.csv.gz", gzip.compress(table.encode()), ["a", "b"]),
        ("ANSWERS.CSV.GZ", gzip.compress(table.encode()), ["a", "b"]),
        ("answers.jsonl.xz", lzma.compress(line.encode()), ["c"]),
    ):
        source = tmp_path / name
        source.write_bytes(packed)
        both_engines(grader, source, tmp_path)
        assert list(same_records(tmp_path)) == ids, name
        for each in ("single.jsonl", "ray.jsonl"):
            (tmp_path / each).unlink()

    quiet = Console(file=io.StringIO(), width=200)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(2):
        line = json.dumps({"id": f"p{i}", "question_id": "000-12", "answer": "Gradients shrink."})
        (parts / f"part-{i}.jsonl.bz2").write_bytes(bz2.compress(line.encode()))
    run_ray(Workspace(ROOT), parts, tmp_path / "parts.jsonl", console=quiet, actors=1)
    assert sorted(read(tmp_path / "parts.jsonl")) == ["p0", "p1"]

    table = "id,question_id,answer\n" + "".join(f"r{i},999-99,answer {i}\n" for i in range(20000))
    packed = gzip.compress(table.encode())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    ws = Workspace(ROOT)
    ws._grader = grader
    with pytest.raises(InputError) as single:
        run_batch(ws, cut, tmp_path / "cut-single.jsonl", console=quiet)
    last = str(single.value).split("cannot be read past line ")[1].split(":")[0]
    resumed = tmp_path / "cut-ray.jsonl"
    resumed.write_text(json.dumps({"id": "old", "fingerprint": "f"}) + "\n")  # a resumed run counts first
    for output in (tmp_path / "cut-fresh.jsonl", resumed):
        with pytest.raises(InputError) as raised:
            run_ray(Workspace(ROOT), cut, output, console=quiet, actors=1)
        said = str(raised.value)
        assert said.startswith(f"{cut}: cannot be read by Ray Data (") and "\x1b" not in said, said
        assert f"cannot be read past line {last}: Compressed file ended before the end-of-stream" in said


def test_ray_refuses_an_input_without_an_answer_column_as_the_single_process_path_does(local_ray, tmp_path):
    """Where every answer would otherwise be graded as empty."""
    source = tmp_path / "answers.csv"
    source.write_text("id,question_id,response\na,000-12,Gradients shrink.\n")
    console = Console(file=io.StringIO(), width=200)
    with pytest.raises(InputError, match=r"has no answer column \(it has: id, question_id, response\)"):
        run_ray(Workspace(ROOT), source, tmp_path / "out.jsonl", console=console)
    with pytest.raises(InputError, match=r"has no answer column \(it has: id, question_id, response\)"):
        run_batch(Workspace(ROOT), source, tmp_path / "out.jsonl", console=console)


def test_ray_refuses_a_workbook_and_says_what_reads_it(local_ray, tmp_path):
    source = tmp_path / "answers.xlsx"
    source.write_bytes(b"")
    console = Console(file=io.StringIO(), width=200)
    with pytest.raises(InputError, match=r"--engine ray reads CSV, JSONL or Parquet; grade a workbook with"):
        run_ray(Workspace(ROOT), source, tmp_path / "out.jsonl", console=console)


def test_ray_reads_every_csv_file_of_a_folder_by_its_own_header(local_ray, grader, tmp_path):
    """Every file of a folder (compressed, without a suffix), each under its own header, but those
    whose path in it starts with "." or "_"; a row is told by its file and line."""
    import gzip

    folder = tmp_path / "answers"
    folder.mkdir()
    (folder / "part-0000.csv.gz").write_bytes(
        gzip.compress(b"ID ,Question ID,Answer\n007,000-12,Gradients shrink.\n")
    )
    (folder / "part-0001").write_text('"Question\nID",answer,id\n000-12,They vanish.,0012\n000-12,x,y,z\n')
    # The same id on the same line of two files: each named by its own file.
    for name in ("part-0002.csv", "part-0003.csv"):
        (folder / name).write_text("id,question_id,answer\nz,999-99,no such question\n")
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.csv").write_text("id,question_id,answer\nh,000-12,hidden\n")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "x.csv").write_text("id,question_id,answer\nt,000-12,temporary\n")
    console = Console(file=io.StringIO(), width=300)
    options = BatchOptions(fmt="csv")  # a folder has no suffix to tell it by
    summary = run_ray(
        Workspace(ROOT), folder, tmp_path / "ray.jsonl", console=console, options=options, actors=1
    )
    assert sorted(read(tmp_path / "ray.jsonl")) == ["0012", "007"]
    said = console.file.getvalue()
    assert f"skipped {folder / 'part-0001'}: line 4: 4 fields where the header has 3 columns" in said
    first, second = sorted(("part-0002.csv", "part-0003.csv"), key=said.index)
    assert f"skipped {folder / first}: line 2 (id z): unknown question_id '999-99'" in said
    assert (
        f"skipped {folder / second}: line 2 (id z): duplicate id (first on {folder / first} line 2)" in said
    )
    assert len(summary.errors) == 3


def test_a_folders_format_is_told_by_the_names_of_the_files_ray_reads(tmp_path):
    from interviewer.surfaces.ray_engine import source_format

    folder = tmp_path / "answers"
    folder.mkdir()
    with pytest.raises(InputError, match=r"answers: is an empty folder; name their format with --format"):
        source_format(str(folder), None)
    (folder / "part-0000.csv.gz").write_bytes(b"")
    (folder / "part-0001.csv").write_text("")
    (folder / "_SUCCESS").write_text("")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "x.jsonl").write_text("")
    assert source_format(str(folder), None) == "csv"
    (folder / "notes.txt").write_text("")
    with pytest.raises(
        InputError, match=r"is a folder of files of several or unknown types; name their format"
    ):
        source_format(str(folder), None)
    assert source_format(str(folder), "jsonl") == "jsonl"
    with pytest.raises(InputError, match=r"s3://bucket/answers/: name its format with --format"):
        source_format("s3://bucket/answers/", None)
    assert source_format("s3://bucket/answers.parquet", None) == "parquet"


def test_a_rerun_with_every_row_done_still_names_a_repeated_id(local_ray, grader, tmp_path):
    """With every row already in the output Ray starts no actor, yet the rows still reach the driver:
    a repeated id (here the very same row twice, so it is "done" too) is named on every run."""
    source = tmp_path / "answers.csv"
    source.write_text(
        "id,question_id,answer\n"
        "a,000-12,Gradients shrink.\nb,000-12,They vanish.\na,000-12,Gradients shrink.\n"
    )
    both_engines(grader, source, tmp_path)
    first = read(tmp_path / "ray.jsonl")
    quiet = Console(file=io.StringIO(), width=200)
    ws = Workspace(ROOT)
    ws._grader = grader
    single = run_batch(ws, source, tmp_path / "single.jsonl", console=quiet)
    told = Console(file=io.StringIO(), width=300)
    summary = run_ray(Workspace(ROOT), source, tmp_path / "ray.jsonl", console=told, actors=1)
    for run in (single, summary):
        assert (run.graded, run.skipped_done, run.regraded) == (0, 2, 0)
        assert [str(e) for e in run.errors] == ["line 4 (id a): duplicate id (first on line 2)"]
    assert f"skipped {source}: line 4 (id a): duplicate id (first on line 2)" in told.file.getvalue()
    assert read(tmp_path / "ray.jsonl") == first
