"""`interviewer grade --engine ray`: the same grading, spread over a Ray cluster with Ray Data.

The input (CSV, JSONL or Parquet; a local path or an object-store URI Ray can read) becomes a Ray
Dataset; `map_batches` sends chunks of rows to a pool of actors, each holding one loaded grader (and
critic), which return the very records the single-process path writes. The driver streams the
results into the same `ResultStore` (so the output, its fingerprints, resumption and compaction are
those of `run_batch`). Rows whose fingerprint is already in the output are marked done and pass the
actors ungraded (a light map, with no actor started, when every row is done), so that the driver
still sees their ids in file order.

Only this module imports Ray, and only when `--engine ray` is asked for (`pip install -e '.[scale]'`).
Connects to `$RAY_ADDRESS` (an existing cluster) when set, else starts a local Ray.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from interviewer.grading.embedding import is_gpu
from interviewer.sources.references import (
    unknown_column_message,
    unknown_reference_columns,
)
from interviewer.sources.tables import (
    CODECS,
    FORMATS,
    Format,
    InputError,
    Record,
    cell_text,
    column_key,
    compression_of,
    decoded_line,
    decoded_lines,
    format_of,
    header_problem,
    is_missing,
    jsonl_records,
    numbered_lines,
    open_records,
    text_records,
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
    parse_record,
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
        """Each row's record or problem, in the batch's order (so the driver tells skipped rows in
        file order), with where it is and, for a row read whole, its id (a later row of that id is a
        duplicate, graded or not, as the single-process path has it)."""
        from interviewer.surfaces.batch import CriticStreak, Resolved, _apply_critic

        out, jobs = _triage(batch, self.settings)
        told_of = {id(job): row for job, row in jobs}  # each job's output row, filled in below
        each = self.resolver.resolve_each([job for job, _ in jobs])
        for (job, _), found in zip(jobs, each, strict=True):
            if isinstance(found, RowProblem):
                told_of[id(job)]["problem"] = json.dumps([found.row_id, found.message])
        resolved = [r for r in each if isinstance(r, Resolved)]
        items = [(r.rubric, r.job.row.answer) for r in resolved]
        grades = self.grader.grade_many(items)
        if self.examples is not None:
            grades = self.grader.with_examples(items, grades, self.examples)
        if self.critic is not None:
            summary = BatchSummary()
            resolved, grades = _apply_critic(self.critic, resolved, grades, 4, summary, CriticStreak(0))
        # Every resolved row comes back: the actors' critic streak has no limit, so none is left unsent.
        for r, g in zip(resolved, grades, strict=True):
            record = result_record(r.job.row, g, r.rubric, r.matched, r.similarity, r.job.fingerprint)
            told_of[id(r.job)] |= {"record": json.dumps(record), "note": r.note or ""}
        return _as_columns(out)


def _triage(batch, settings: str) -> tuple[list[dict], list[tuple[Job, dict]]]:
    """What an actor hands back for each row of `batch`, in order (ACTOR_COLUMNS): a row the reader
    found unusable, a row done before, or a row to grade, paired with its job (its record is filled
    in once graded)."""
    out: list[dict] = []
    jobs: list[tuple[Job, dict]] = []
    for data in batch.to_pylist():
        line, file, kind = json.loads(data.pop(READ_AT, None) or "[0, null, null]")
        was_done = data.pop(DONE, None) is not None
        told = {
            "record": "",
            "problem": "",
            "note": "",
            "line": line,
            "file": file or "",
            "id": "",
            "done": False,
        }
        if read_problem := data.pop(READ_PROBLEM, None):
            out.append(told | {"problem": read_problem})
            continue
        parsed = _to_row(0, {k: v for k, v in data.items() if v is not None or k == "answer"})
        if parsed.problem is not None:
            out.append(told | {"problem": json.dumps([parsed.problem.row_id, parsed.problem.message])})
            continue
        assert parsed.row is not None  # a Parsed holds a row or a problem
        if was_done:
            out.append(told | {"id": parsed.row.id, "done": True})
            continue
        out.append(told | {"id": parsed.row.id})
        # Only a CSV row can be the rest of an answer cut at a line break (a hint that needs its line).
        jobs.append(
            (Job(line, parsed.row, fingerprint(parsed.row, settings), from_csv=kind == "csv"), out[-1])
        )
    return out, jobs


def _as_columns(out: list[dict]) -> dict[str, list]:
    return {name: [row[name] for row in out] for name in ACTOR_COLUMNS}


# A row the reader found unusable: [row id or None, what is wrong], reported by an actor as the
# single-process path reports it.
READ_PROBLEM = "read_problem"
# Where a CSV or JSONL row is, [line, file, format], so that it is named by its line as the single-process
# path names it (a Parquet row has none: Ray splits its files where it likes).
READ_AT = "read_at"
# A row graded before with the same settings (a rerun), passed on ungraded for its id alone.
DONE = "done_before"
# What an actor hands back for each row, in order.
ACTOR_COLUMNS = ("record", "problem", "note", "line", "file", "id", "done")

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


def source_format(source: str, fmt: str | None) -> Format:
    """The format of a file, `--format`, or of a local folder's files when their names agree on one
    (`answers/part-0000.csv.gz` …): what Ray reads there, every file but those whose path in the
    folder starts with "." or "_" (`_SUCCESS`, `.hidden`)."""
    folder = Path(source)
    if fmt or "://" in source or not folder.is_dir():
        if "://" in source and not fmt and not Path(source.rstrip("/")).suffix:
            raise InputError(f"{source}: name its format with --format csv, jsonl or parquet")
        return format_of(source, fmt)
    files = [
        f
        for f in folder.rglob("*")
        if f.is_file() and not any(part.startswith((".", "_")) for part in f.relative_to(folder).parts)
    ]
    kinds: set[Format | None] = set()
    for file in files:
        try:
            kinds.add(format_of(file))
        except InputError:
            kinds.add(None)
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is not None:
        return kind
    found = "is an empty folder" if not files else "is a folder of files of several or unknown types"
    raise InputError(f"{source}: {found}; name their format with --format csv, jsonl or parquet")


def _dataset(ray, source: str, kind: Format):
    if kind == "jsonl":
        return _read_jsonl(ray, source)
    if kind != "parquet":
        return _read_csv(ray, source, kind)
    dataset = ray.data.read_parquet(source, num_cpus=LIGHT)
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


# The files of a folder read as JSON Lines: the names `format_of` reads so, compressed or not.
JSONL_EXTENSIONS = [
    f"{suffix[1:]}{packed}" for packed in ("", *CODECS) for suffix, kind in FORMATS.items() if kind == "jsonl"
]
LINES_READ = 1 << 24  # bytes of a file read at a time
ROWS_PER_BLOCK = 8192  # rows (CSV records, JSONL lines) a read task hands on at a time
_BOM = b"\xef\xbb\xbf"


def _chunked_lines(stream) -> Iterator[bytes]:
    """A byte stream's lines, their ends kept, read a chunk at a time and cut at "\n" only (as the
    single-process reader cuts them; Ray's text reader also cuts at U+2028, which a JSON string may
    hold, and reads a file whole). Arrow's streams are read by chunk: a decompressing one cannot read
    a line."""
    rest = b""
    while chunk := stream.read(LINES_READ):
        *lines, rest = (rest + chunk).split(b"\n")
        yield from (line + b"\n" for line in lines)
    if rest:
        yield rest


def _file_lines(f, path: str) -> Iterator[bytes]:
    """A file's byte lines as the single-process reader reads them: decompressed by Python's gzip or
    bz2 by its suffix, whatever its case (so a stream cut short gives up every whole line before the
    cut, where Arrow's decompressing stream gives up none of its last chunk), else read by chunk."""
    packed = compression_of(path)
    if packed:
        return CODECS[packed].open(f, "rb")
    return _chunked_lines(f)


class _OwnDecompression:
    """A `FileBasedDatasource` mixin: the files whose compression `_file_lines` reads are handed to it
    undecompressed; any other Ray decompresses as it would."""

    def resolve_compression(self, path: str, open_args: dict) -> str | None:
        if compression_of(path):
            return None
        return super().resolve_compression(path, open_args)  # type: ignore[misc]


def _files(source: str, extensions: list[str] | None) -> list[str] | None:
    """The extensions a folder's files are read by; a file named is read whatever its name
    (`--format jsonl answers.txt`)."""
    named = "://" not in source and Path(source).is_file()
    return None if named else extensions


def _read_jsonl(ray, source: str):
    """JSON Lines a line a row, each parsed as the single-process reader parses it: Ray's JSON reader
    fails the whole run on one line that is not JSON, and reads a row without an `answer` key as an
    empty answer, where the single-process reader names each such row and grades the others."""
    import pyarrow as pa
    from ray.data.datasource import FileBasedDatasource

    class JsonLines(_OwnDecompression, FileBasedDatasource):
        """A file's lines, undecoded, a block of them at a time."""

        def _read_stream(self, f, path: str):
            lines = numbered_lines(_file_lines(f, path), path)
            # Blocks of a fixed size, a partial one only at the end: Ray retries a read that failed
            # on I/O by skipping the blocks the first try gave, so they must fall the same each try.
            while block := list(itertools.islice(lines, ROWS_PER_BLOCK)):
                numbers, texts = zip(*block, strict=True)
                if numbers[0] == 1 and texts[0].startswith(_BOM):  # as the single-process reader drops it
                    texts = (texts[0][len(_BOM) :], *texts[1:])
                yield pa.table(
                    {
                        "line": pa.array(texts, pa.binary()),
                        "number": pa.array(numbers, pa.int64()),
                        "file": pa.array([path] * len(block), pa.string()),
                    }
                )

    datasource = JsonLines(source, file_extensions=_files(source, JSONL_EXTENSIONS))
    lines = ray.data.read_datasource(datasource, num_cpus=LIGHT)
    return lines.map_batches(jsonl_text_columns, batch_size=None, batch_format="pyarrow", num_cpus=LIGHT)


def _read_csv(ray, source: str, kind: Format):
    """CSV or TSV read by the single-process reader, a file to a read task: a row it cannot parse (more
    fields than the header, a quote never closed) is named by its line and skipped, where Ray's CSV
    reader failed the whole run, and every cell is text as that reader has it ("007" stays "007")."""
    if Path(source).is_file():  # the header checked here, in the single-process reader's words
        open_records(source, kind, required=REQUIRED, one_of=ONE_OF, read=ROW_COLUMNS).close()  # type: ignore[attr-defined]
    from ray.data.datasource import FileBasedDatasource

    class CsvRows(_OwnDecompression, FileBasedDatasource):
        def _read_stream(self, f, path: str):
            lines = decoded_lines(_file_lines(f, path), path)
            records = text_records(lines, kind, path, list(REQUIRED), list(ONE_OF), ROW_COLUMNS)
            while block := list(itertools.islice(records, ROWS_PER_BLOCK)):  # fixed, as JsonLines'
                yield csv_text_columns(block, path, kind)

    return ray.data.read_datasource(CsvRows(source, file_extensions=_files(source, None)), num_cpus=LIGHT)


def csv_text_columns(records: Sequence[Record], path: str, kind: Format) -> pa.Table:
    """CSV records as the row columns, all text; a row the single-process reader would skip has its
    problem in READ_PROBLEM instead; each has its line and file in READ_AT."""
    rows = [_row_cells(r.data, _skipped_as(r), [r.number, path, kind]) for r in records]
    return _table(rows)


def _skipped_as(record: Record) -> list | None:
    """[row id or None, what is wrong] for a record the single-process reader would skip, in its
    words (`parse_record`'s); None for a row to grade."""
    problem = parse_record(record).problem
    return None if problem is None else [problem.row_id, problem.message]


def _row_cells(data: dict | None, problem: list | None, at: list) -> dict[str, str | None]:
    """One row as the actors get it: its columns as text, or only its problem, and where it is."""
    where = {READ_AT: json.dumps(at)}
    if problem is not None or data is None:
        return dict.fromkeys(ROW_COLUMNS) | {READ_PROBLEM: json.dumps(problem)} | where
    cells = _columns(data)
    return {n: _text_cell(cells.get(n)) for n in ROW_COLUMNS} | {READ_PROBLEM: None} | where


def _table(rows: list[dict[str, str | None]]) -> pa.Table:
    import pyarrow as pa

    names = (*ROW_COLUMNS, READ_PROBLEM, READ_AT)
    return pa.table({name: pa.array([row[name] for row in rows], pa.string()) for name in names})


def jsonl_text_columns(batch: pa.Table) -> pa.Table:
    """Lines of JSON Lines (a `line` column of bytes, with its `number` and `file`) as the row
    columns, all text as `as_text_columns` has them; a line the single-process reader would skip has
    its problem in READ_PROBLEM instead, a line that is not UTF-8 among them."""
    rows = []
    for raw, number, file in zip(
        batch.column("line").to_pylist(),
        batch.column("number").to_pylist(),
        batch.column("file").to_pylist(),
        strict=True,
    ):
        found = next(jsonl_records([decoded_line(raw, number, file)]), None)
        if found is None:  # a line of blanks
            continue
        record = Record(number, found[1], found[2])
        rows.append(_row_cells(record.data, _skipped_as(record), [number, file, "jsonl"]))
    return _table(rows)


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
    kind = source_format(source, options.fmt)  # a folder's files are looked at once, here
    if kind == "xlsx":  # before Ray starts
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

    def mark_done(batch: pa.Table) -> pa.Table:
        """Each row already graded with these settings marked DONE. It still reaches an actor (or,
        where every row is done, a light map), ungraded, so that the driver sees its id in file order:
        a later row of that id is a duplicate, as in the default engine (filtered out here, it let that
        row be graded over it on every rerun)."""
        import pyarrow as pa

        marks = []
        for row in batch.to_pylist():
            parsed = _to_row(0, row)  # a READ_PROBLEM row has no columns: a problem, never done
            key = parsed.row and f"{parsed.row.id}\0{fingerprint(parsed.row, settings)}"
            marks.append("done" if key in done else None)
        return batch.append_column(DONE, pa.array(marks, pa.string()))

    summary = BatchSummary()
    remaining = None

    def skip(row_id: str | None, message: str, line: int = 0, file: str | None = None) -> None:
        """A row skipped, told as the single-process path tells it: by its line where it has one."""
        skipped = RowProblem(line, row_id, message)
        summary.errors.append(skipped)
        if line:
            # Ray names an object-store file without its scheme ("bucket/x.csv").
            told = f"{input_path if file in (None, '', source.split('://')[-1]) else file}: {skipped}"
        else:
            where = f"{input_path}: id {row_id}" if row_id is not None else str(input_path)
            told = f"{where}: {message}"
        console.print(f"[yellow]skipped[/yellow] {escape(told)}", soft_wrap=True)

    try:
        dataset = _dataset(ray, source, kind)
        if done:  # reads the whole input: a block Ray cannot read fails here, not mid-run
            dataset = dataset.map_batches(mark_done, batch_size=None, batch_format="pyarrow", num_cpus=LIGHT)
            remaining = dataset.filter(lambda row: row[DONE] is None, num_cpus=LIGHT).count()
    except Exception as exc:  # Ray wraps reader errors in its own (an InputError too); say which file
        if isinstance(exc, InputError) and not isinstance(exc, ray.exceptions.RayError):
            raise
        raise InputError(f"{input_path}: cannot be read by Ray Data ({ray_failure(exc)})") from None
    pool = actors or max(1, int(ray.available_resources().get("CPU", 1)))
    if remaining == 0:
        # Everything is already in the output: no actor (no model) is started, yet the rows still
        # reach the driver in order, so a repeated id is named on every run, as in the default engine.
        def passed_on(batch) -> dict[str, list]:
            return _as_columns(_triage(batch, settings)[0])

        graded = dataset.map_batches(passed_on, batch_size=None, batch_format="pyarrow", num_cpus=LIGHT)
    else:
        built_examples = None
        if examples is not None:
            # Built once here, where each bad example can be named, and sent to every actor (vectors and
            # the fitted share and start): the actors grade, they do not refit.
            grader = ws.grader()
            built_examples = load_examples(
                grader,
                RubricResolver(grader),
                examples,
                lambda text: console.print(escape(text), soft_wrap=True),
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
    seen: dict[str, tuple[int, str]] = {}  # each id read whole, where it was first
    finished = False
    try:
        for batch in graded.iter_batches(batch_size=None, batch_format="pyarrow"):
            records = []
            for text, problem, note, line, file, row_id, was_done in zip(
                *(batch.column(name).to_pylist() for name in ACTOR_COLUMNS), strict=True
            ):
                if row_id and row_id in seen:
                    skip(row_id, _duplicate(*seen[row_id], file), line, file)
                    continue
                if row_id:
                    seen[row_id] = (line, file)
                if was_done:
                    summary.skipped_done += 1
                    continue
                if problem:
                    skipped_id, message = json.loads(problem)
                    skip(skipped_id, message, line, file)
                    continue
                record = json.loads(text)
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
                f"{input_path}: cannot be read by Ray Data ({ray_failure(exc)}). {saved}"
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


def _duplicate(first_line: int, first_file: str, file: str) -> str:
    """A repeated id's message, with where its first row was (a Parquet row has no line)."""
    if not first_line:
        return "duplicate id"
    where = f"line {first_line}" if first_file == file else f"{first_file} line {first_line}"
    return f"duplicate id (first on {where})"


def _refuse_empty(input_path: Path | str, summary: BatchSummary) -> None:
    """An input with no rows is an error, as in the default engine ("Graded 0 answers (mean 0.00)" said
    nothing was wrong)."""
    if summary.graded + len(summary.errors) + summary.skipped_done == 0:
        raise InputError(f"{input_path}: no rows found")


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
