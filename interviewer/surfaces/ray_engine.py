"""`interviewer grade --engine ray`: the same grading, spread over a Ray cluster with Ray Data.

The input (CSV, JSONL or Parquet; a local path or an object-store URI Ray can read) becomes a Ray
Dataset; `map_batches` sends chunks of rows to a pool of actors, each holding one loaded grader (and
critic), which return the very records the single-process path writes. The driver streams the
results into the same `ResultStore` (so the output, its fingerprints, resumption and compaction are
those of `run_batch`). Rows whose fingerprint is already in the output are filtered out before any
actor sees them.

Only this module imports Ray, and only when `--engine ray` is asked for (`pip install -e '.[scale]'`).
Connects to `$RAY_ADDRESS` (an existing cluster) when set, else starts a local Ray.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from interviewer.grading.embedding import is_gpu
from interviewer.sources.references import (
    unknown_column_message,
    unknown_reference_columns,
)
from interviewer.sources.tables import (
    InputError,
    cell_text,
    column_key,
    format_of,
    header_problem,
    is_missing,
    jsonl_records,
)
from interviewer.surfaces.batch import (
    CHUNK,
    ONE_OF,
    REQUIRED,
    ROW_COLUMNS,
    STDIO,
    BatchOptions,
    BatchSummary,
    Job,
    RowProblem,
    RubricResolver,
    _columns,
    _to_row,
    check_examples,
    fingerprint,
    is_stdout,
    load_examples,
    plural,
    read_examples,
    result_record,
    run_settings,
    say_notes,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from rich.console import Console

    from interviewer.grading.examples import ExampleSet
    from interviewer.workspace import Workspace

# Variables the actors need to grade as the driver would (models, caches, critic endpoint).
PASSED_PREFIXES = ("INTERVIEWER_", "OPENAI_", "HF_", "TRANSFORMERS_")


def ray_modules():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError(
            "--engine ray needs Ray Data: run `pip install -e '.[scale]'` (or `pip install 'ray[data]'`)"
        ) from None
    return ray


class GradeActor:
    """One loaded grader (and critic) per actor; grades a batch of rows into output records."""

    def __init__(
        self,
        root: str,
        settings: str,
        device: str | None,
        critic: str | None,
        model: str | None,
        precision: str = "fp32",
        judge: str | None = None,
        examples: ExampleSet | None = None,
    ) -> None:
        import torch

        from interviewer.critic import make_critic
        from interviewer.grading.embedding import throughput_backend
        from interviewer.workspace import Workspace

        torch.set_num_threads(1)  # one CPU per actor: more threads would only contend
        self.ws = Workspace(
            Path(root), device=device, backend=throughput_backend(), precision=precision, judge_base=judge
        )
        self.grader = self.ws.grader()
        self.resolver = RubricResolver(self.grader)
        self.examples = examples  # built, told and fitted by the driver
        self.critic = make_critic(critic, model=model)
        self.settings = settings

    def __call__(self, batch) -> dict[str, list]:
        from interviewer.surfaces.batch import CriticStreak, _apply_critic

        jobs: list[Job] = []
        problems: list[str] = []
        for data in batch.to_pylist():
            if read_problem := data.pop(READ_PROBLEM, None):
                problems.append(read_problem)
                continue
            parsed = _to_row(0, {k: v for k, v in data.items() if v is not None or k == "answer"})
            if parsed.problem is not None:
                problems.append(json.dumps([parsed.problem.row_id, parsed.problem.message]))
                continue
            assert parsed.row is not None  # a Parsed holds a row or a problem
            jobs.append(Job(0, parsed.row, fingerprint(parsed.row, self.settings)))
        resolved, unresolved = self.resolver.resolve(jobs)
        problems += [json.dumps([p.row_id, p.message]) for p in unresolved]
        items = [(r.rubric, r.job.row.answer) for r in resolved]
        grades = self.grader.grade_many(items)
        if self.examples is not None:
            grades = self.grader.with_examples(items, grades, self.examples)
        if self.critic is not None:
            summary = BatchSummary()
            resolved, grades = _apply_critic(self.critic, resolved, grades, 4, summary, CriticStreak(0))
        records = [
            json.dumps(result_record(r.job.row, g, r.rubric, r.matched, r.similarity, r.job.fingerprint))
            for r, g in zip(resolved, grades, strict=True)
        ]
        return {
            "record": records + [""] * len(problems),
            "problem": [""] * len(records) + problems,
            "note": [r.note or "" for r in resolved] + [""] * len(problems),
        }


# A row the reader found unusable: [row id or None, what is wrong], reported by an actor as the
# single-process path reports it.
READ_PROBLEM = "read_problem"

# Reading and filtering are light; the actors hold the CPUs. Were a read task to ask for a whole CPU
# while the actors held them all, the pipeline would wait forever.
LIGHT = 0.1
ACTOR_CPUS = 0.9


def _text_cell(value: object) -> str | None:
    """A cell as the local reader reads it: missing (None, NaN) as None, anything else `cell_text`."""
    return None if is_missing(value) else cell_text(value)


def as_text_columns(batch):
    """The row columns only, all as text (a block where a column is all null is read as a number, and
    blocks of different types cannot be batched together). A cell that is not text becomes the text
    the local reader makes of it (`cell_text`: an id 7.0 is "7", a NaN is blank), not Arrow's cast
    ("1e+15", "true")."""
    import pyarrow as pa

    names = {column_key(n): n for n in batch.column_names}
    columns = []
    for name in ROW_COLUMNS:
        if name not in names:
            columns.append(pa.nulls(batch.num_rows, pa.string()))
            continue
        column = batch.column(names[name])
        if column.type not in (pa.string(), pa.large_string()):
            cells = column.to_pylist()
            column = pa.array([_text_cell(v) for v in cells], pa.string())
        columns.append(column)
    return pa.table(columns, names=list(ROW_COLUMNS))


def _dataset(ray, source: str, fmt: str | None):
    kind = format_of(source, fmt)
    if kind == "parquet":
        dataset = ray.data.read_parquet(source, num_cpus=LIGHT)
    elif kind == "jsonl":
        return _read_jsonl(ray, source)
    else:
        dataset = _read_csv(ray, source, kind)
    # Only the row columns reach the actors: a misnumbered reference column would vanish unread, and a
    # missing answer column would read as empty answers, where the single-process reader names both.
    schema = dataset.schema()  # None for an empty input: nothing to check
    names = list(schema.names) if schema is not None else []
    unknown = unknown_reference_columns(names)
    if unknown:
        raise InputError(f"{source}: {unknown_column_message(unknown[0])}")
    problem = header_problem(names, REQUIRED, ONE_OF, ROW_COLUMNS, "the input") if names else None
    if problem:
        raise InputError(f"{source}: {problem}")
    return dataset.map_batches(as_text_columns, batch_size=None, batch_format="pyarrow", num_cpus=LIGHT)


# The files Ray's own JSON reader reads in a folder.
JSONL_EXTENSIONS = [
    f"{name}{packed}" for packed in ("", ".gz", ".br", ".zst", ".lz4") for name in ("json", "jsonl", "ndjson")
]
LINES_READ = 1 << 24  # bytes of a JSONL file read at a time
_BOM = b"\xef\xbb\xbf"


def _read_jsonl(ray, source: str):
    """JSON Lines a line a row, each parsed as the single-process reader parses it: Ray's JSON reader
    fails the whole run on one line that is not JSON, and reads a row without an `answer` key as an
    empty answer, where the single-process reader names each such row and grades the others."""
    import pyarrow as pa
    from ray.data.datasource import FileBasedDatasource

    class JsonLines(FileBasedDatasource):
        """A file's lines, undecoded, cut at "\\n" only (as the single-process reader cuts them; Ray's
        text reader also cuts at U+2028, which a JSON string may hold) and read a chunk at a time
        (Ray's text reader reads a file whole)."""

        def _read_stream(self, f, path: str):
            rest = b""
            first = True
            while chunk := f.read(LINES_READ):
                if first and chunk.startswith(_BOM):  # as the single-process reader drops it
                    chunk = chunk[len(_BOM) :]
                first = False
                *lines, rest = (rest + chunk).split(b"\n")
                if lines:
                    yield pa.table({"line": pa.array(lines, pa.binary())})
            if rest:
                yield pa.table({"line": pa.array([rest], pa.binary())})

    # A file named is read whatever its name (`--format jsonl answers.txt`); a folder's by their names.
    named = "://" not in source and Path(source).is_file()
    extensions = None if named else JSONL_EXTENSIONS
    lines = ray.data.read_datasource(JsonLines(source, file_extensions=extensions), num_cpus=LIGHT)
    return lines.map_batches(jsonl_text_columns, batch_size=None, batch_format="pyarrow", num_cpus=LIGHT)


def jsonl_text_columns(batch: pa.Table) -> pa.Table:
    """Lines of JSON Lines (a `line` column of bytes) as the row columns, all text as
    `as_text_columns` has them; a line the single-process reader would skip has its problem in
    READ_PROBLEM instead, and so has a line that is not UTF-8 (where that reader stops)."""
    import pyarrow as pa

    columns: dict[str, list[str | None]] = {name: [] for name in (*ROW_COLUMNS, READ_PROBLEM)}
    for raw in batch.column("line").to_pylist():
        record: tuple[int, dict | None, str | None] | None
        undecoded = None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.decode("utf-8", "replace")  # read for its id only
            undecoded = f"not UTF-8 text (byte {exc.start} of the line: save the file as UTF-8)"
        record = next(jsonl_records([line]), None)
        if record is None:  # a line of blanks
            continue
        _, data, problem = record
        row_id = None
        if data is not None:
            parsed = _to_row(0, data)
            if parsed.problem is not None:
                row_id, problem = parsed.problem.row_id, parsed.problem.message
            elif undecoded and parsed.row is not None:
                row_id = parsed.row.id  # however its column is spelled ("ID")
        problem = undecoded or problem
        if problem is not None:
            where = "" if row_id is not None else f" in the line “{' '.join(line.split())[:60]}”"
            read = dict.fromkeys(ROW_COLUMNS) | {READ_PROBLEM: json.dumps([row_id, problem + where])}
        else:
            assert data is not None
            cells = _columns(data)
            read = {n: _text_cell(cells.get(n)) for n in ROW_COLUMNS}
            read[READ_PROBLEM] = None
        for name, value in read.items():
            columns[name].append(value)
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _read_csv(ray, source: str, kind: str):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # Everything is text, as the single-process reader has it ("007" stays "007", "N/A" is no null):
    # each row column typed as text under the name its header gives it.
    delimiter = "\t" if kind == "tsv" else ","
    names = _csv_header_names(source, delimiter) | _spellings(ROW_COLUMNS)
    text = {name: pa.string() for name in names if column_key(name) in ROW_COLUMNS}
    convert = pacsv.ConvertOptions(column_types=text, strings_can_be_null=False)
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    return ray.data.read_csv(source, convert_options=convert, parse_options=parse, num_cpus=LIGHT)


# Headers read before a run: a few files of a folder or prefix say how its columns are spelled (Ray's
# reader wants every file to have the same columns anyway); any others fall back on `_spellings`.
HEADERS_READ = 16


def _csv_header_names(source: str, delimiter: str) -> set[str]:
    """The column names of a CSV file's header, or of the first files Ray would read in a folder, as
    written; those that cannot be read here add none (the spellings in `_spellings` still apply)."""
    import csv
    import io

    import pyarrow.fs as pafs

    try:
        if "://" in source:
            filesystem, path = pafs.FileSystem.from_uri(source)
        else:
            filesystem, path = pafs.LocalFileSystem(), source
        if filesystem.get_file_info(path).type == pafs.FileType.Directory:
            found = filesystem.get_file_info(pafs.FileSelector(path, recursive=True))
            # The files Ray reads (any kind, compressed ones too), but for those whose path inside the
            # folder starts with "." or "_" (`_SUCCESS`, `_temporary/`, `.hidden`), as Ray tells them.
            paths = sorted(
                f.path
                for f in found
                if f.type == pafs.FileType.File and not f.path[len(path) :].lstrip("/").startswith((".", "_"))
            )[:HEADERS_READ]
        else:
            paths = [path]
    except Exception:  # an object store without credentials here: keep the spellings
        return set()
    names: set[str] = set()
    for each in paths:
        try:
            with filesystem.open_input_stream(each) as stream:  # decompressed by its suffix
                head = stream.read(1 << 16).decode("utf-8-sig", "replace")
        except Exception:  # a corrupt or unknown compression: Ray will say so when it reads it
            continue
        # As a CSV reader reads it: a quoted name may hold a line break ("Question\nID").
        names.update(next(csv.reader(io.StringIO(head), delimiter=delimiter), []))
    return names


def _spellings(columns: Sequence[str]) -> set[str]:
    """Each column as a header may spell it: `question_id`, `Question_ID`, `Question ID`, `QUESTION-ID`…"""
    out: set[str] = set()
    for column in columns:
        for joined in (column, column.replace("_", " "), column.replace("_", "-")):
            title = joined.title()
            out |= {joined, title, title.replace("Id", "ID"), joined.upper(), joined.capitalize()}
    return out


def run_ray(
    ws: Workspace,
    input_path: Path | str,
    output: Path | str | None,
    critic_kind: str | None = None,
    model: str | None = None,
    console: Console | None = None,
    options: BatchOptions | None = None,
    actors: int | None = None,
) -> BatchSummary:
    """Grade with Ray Data; the summary and the output are those `run_batch` gives."""
    from rich.console import Console
    from rich.markup import escape

    from interviewer.critic import make_critic
    from interviewer.grading.judge import chosen_base
    from interviewer.surfaces.batch import ResultStore, check_output

    options = options or BatchOptions()
    console = console or Console(stderr=True, highlight=False)
    source = str(input_path)
    if source == STDIO:
        raise InputError("--engine ray reads files or object-store URIs, not stdin; use the default engine")
    is_uri = "://" in source
    if not is_uri:
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such file")
        source = str(path.resolve())
    if format_of(source, options.fmt) == "xlsx":  # before Ray starts
        raise InputError(
            f"{input_path}: --engine ray reads CSV, JSONL or Parquet; grade a workbook with the default "
            "engine, or save it as CSV"
        )
    check_output(output, None if is_uri else input_path, mkdir=options.mkdir)
    check_examples(options.examples, input_path, output)  # before the output is read (and maybe rewritten)
    store = ResultStore(output, mkdir=options.mkdir)
    prior = store.prior()
    critic = make_critic(critic_kind, model=model)
    examples = read_examples(options.examples) if options.examples else None
    settings = run_settings(ws, critic, examples)
    done = {
        key
        for key, old in prior.items()
        if old.fingerprint and not (options.retry_fallbacks and old.fell_back)
        for key in [f"{key}\0{old.fingerprint}"]
    }

    ray = ray_modules()
    if not ray.is_initialized():
        env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_PREFIXES)}
        ray.init(
            address=os.environ.get("RAY_ADDRESS") or None,
            runtime_env={"env_vars": env},
            ignore_reinit_error=True,
            log_to_driver=False,
            include_dashboard=False,
        )
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False

    def pending(row: dict) -> bool:
        parsed = _to_row(0, dict(row))  # a READ_PROBLEM row has no columns: a problem too
        if parsed.row is None:
            return True  # reported by an actor
        return f"{parsed.row.id}\0{fingerprint(parsed.row, settings)}" not in done

    summary = BatchSummary()
    remaining = None
    try:
        dataset = _dataset(ray, source, options.fmt)
        if done:  # reads the whole input: a block Ray cannot read fails here, not mid-run
            total = dataset.count()
            dataset = dataset.filter(pending, num_cpus=LIGHT)
            remaining = dataset.count()
            summary.skipped_done = total - remaining
    except InputError:
        raise
    except Exception as exc:  # Ray wraps reader errors in its own; say which file
        raise InputError(
            f"{input_path}: cannot be read by Ray Data ({ray_failure(exc)}){ROW_BY_ROW}"
        ) from None
    pool = actors or max(1, int(ray.available_resources().get("CPU", 1)))
    if remaining == 0:  # everything is already in the output: start no actor
        store.close(finish=True)
        _refuse_empty(input_path, summary)
        _say_summary(console, summary, pool, output)
        return summary
    built_examples = None
    if examples is not None:
        # Built once here, where each bad example can be named, and sent to every actor (vectors and
        # the fitted share and start): the actors grade, they do not refit.
        grader = ws.grader()
        built_examples = load_examples(
            grader, RubricResolver(grader), examples, lambda text: console.print(escape(text), soft_wrap=True)
        )
    graded = dataset.map_batches(
        GradeActor,
        fn_constructor_kwargs={
            "root": str(ws.root),
            "settings": settings,
            "device": ws.device,
            "precision": ws.precision,
            # Said to each actor: a cluster's workers do not share the driver's environment.
            "judge": chosen_base(ws.judge_base),
            "critic": critic_kind,
            "model": model,
            "examples": built_examples,
        },
        batch_size=options.chunk or CHUNK,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=pool),
        num_cpus=ACTOR_CPUS,
        num_gpus=1 if is_gpu(ws.device) else 0,
    )
    seen: set[str] = set()
    finished = False
    try:
        for batch in graded.iter_batches(batch_size=None, batch_format="pyarrow"):
            records = []
            for text, problem, note in zip(
                batch.column("record").to_pylist(),
                batch.column("problem").to_pylist(),
                batch.column("note").to_pylist(),
                strict=True,
            ):
                if problem:
                    row_id, message = json.loads(problem)
                    summary.errors.append(RowProblem(0, row_id, message))
                    where = f"{input_path}: id {row_id}" if row_id is not None else str(input_path)
                    console.print(f"[yellow]skipped[/yellow] {escape(f'{where}: {message}')}", soft_wrap=True)
                    continue
                record = json.loads(text)
                if record["id"] in seen:
                    summary.errors.append(RowProblem(0, record["id"], "duplicate id"))
                    continue
                seen.add(record["id"])
                if record["id"] in prior:
                    summary.regraded += 1
                    store.superseded += 1
                if record["score"] is not None:
                    summary.score_sum += record["score"]
                    summary.scored += 1
                summary.fallbacks += "critic-unavailable" in record["flags"]
                summary.truncated += "truncated" in record["flags"]
                summary.note(note, record["id"])
                records.append(record)
            if records:
                store.write(records)
                summary.graded += len(records)
        finished = True
    except ray.exceptions.RayError as exc:  # a block that cannot be read, or an actor that failed
        saved = f"What was graded ({plural(summary.graded, 'answer')}) is saved"
        if _read_failed(exc):  # a rerun would stop there again
            raise InputError(
                f"{input_path}: cannot be read by Ray Data ({ray_failure(exc)}). {saved}{ROW_BY_ROW}"
            ) from None
        raise InputError(
            f"{input_path}: Ray Data stopped ({ray_failure(exc)}). {saved}, and a rerun goes on after it"
        ) from None
    except KeyboardInterrupt:
        # The rows graded so far resume as done: what was noted of them is said now or never.
        say_notes(summary.notes, lambda text: console.print(escape(text), soft_wrap=True))
        raise
    finally:
        store.close(finish=finished)
    _refuse_empty(input_path, summary)
    _say_summary(console, summary, pool, output)
    return summary


def _refuse_empty(input_path: Path | str, summary: BatchSummary) -> None:
    """An input with no rows is an error, as in the default engine ("Graded 0 answers (mean 0.00)" said
    nothing was wrong)."""
    if summary.graded + len(summary.errors) + summary.skipped_done == 0:
        raise InputError(f"{input_path}: no rows found")


# Where Ray cannot read a file, the default engine can name the rows it cannot read and grade the rest.
ROW_BY_ROW = (
    ". Without --engine ray a file is read row by row, and a row that cannot be read is named and skipped"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# An error as a traceback ends it ("ValueError: boom"; "pyarrow.lib.ArrowInvalid: CSV parse error: …").
# Unindented (frames and code are indented), a CamelCase class name, dotted or not: not "Note: …".
_RAISED = re.compile(r"^(?:[A-Za-z_]\w*\.)*([A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+)(?:: (.*))?$")
_RAY_WRAPPERS = frozenset({"UserCodeException", "RayTaskError", "RayError"})


def ray_failure(exc: BaseException) -> str:
    """What failed in a Ray task, in the task's words: the last error its traceback names that is not
    Ray's wrapper ("Failed to read CSV file: …", or what a grading actor raised, not "ray::ReadCSV->…()
    (pid=…)" or "UDF failed to process a data block."), without terminal colours."""
    cause = getattr(exc, "cause", None)
    inner = cause if isinstance(cause, BaseException) else exc
    for text in (str(exc), str(inner)):
        named = [m for line in _ANSI.sub("", text).splitlines() if (m := _RAISED.match(line.rstrip()))]
        named = [m for m in named if m.group(1) not in _RAY_WRAPPERS]
        if named:
            return named[-1].group(2) or named[-1].group(1)
    lines = [line.strip() for line in _ANSI.sub("", str(inner)).splitlines() if line.strip()]
    return lines[0] if lines else type(inner).__name__


def _read_failed(exc: BaseException) -> bool:
    """Whether a Ray error is a read task's ("ray::ReadCSV->…"), not a grading actor's."""
    return _ANSI.sub("", str(exc)).lstrip().startswith("ray::Read")


def _say_summary(console, summary: BatchSummary, pool: int, output) -> None:
    from rich.markup import escape

    say_notes(summary.notes, lambda text: console.print(escape(text), soft_wrap=True))
    console.print(
        escape(
            f"Graded {plural(summary.graded, 'answer')} (mean {summary.mean:.2f}) with Ray on "
            f"{plural(pool, 'actor')}, {plural(len(summary.errors), 'row')} skipped"
            + (f", {summary.skipped_done} already done" if summary.skipped_done else "")
            + (f", {summary.regraded} re-graded" if summary.regraded else "")
            + (f", {plural(summary.fallbacks, 'critic fallback')}" if summary.fallbacks else "")
            + ("" if is_stdout(output) else f" → {output}")
        ),
        soft_wrap=True,
    )
