"""The `interviewer` command: one small function per command; the work happens in the core."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from interviewer.domain.errors import InterviewerError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from rich.console import Console

    from interviewer.grading.judge_train import TrainSettings
    from interviewer.workspace import Workspace

app = typer.Typer(
    help="Mock interviewer and answer grader for deep-learning interviews.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich's help formatter alone costs more than the rest of `--help` (0.13 s).
    rich_markup_mode=None,
)
rubrics_app = typer.Typer(
    help="Build and check the reference rubrics.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(rubrics_app, name="rubrics")
judge_app = typer.Typer(
    help="Train and measure the judge model.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(judge_app, name="judge")


class _LazyConsole:
    """A rich Console made on first use: importing rich costs a tenth of a second `--help` need not pay."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.get(), name)


err = _LazyConsole(stderr=True)
out = _LazyConsole(stderr=False)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("interviewer")
        except PackageNotFoundError:
            number = "unknown (not installed)"
        out.print(f"interviewer {number}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit"
    ),
    judge: str | None = typer.Option(
        None,
        "--judge",
        help="minilm (default) | mpnet: the judge every command grades with (default: $INTERVIEWER_JUDGE); "
        "mpnet reads negations better, 3-6x slower a turn, and needs its part packages (README)",
    ),
) -> None:
    """Mock interviewer and answer grader for deep-learning interviews."""
    if judge is not None:
        from interviewer.grading.judge import JudgeError, chosen_base

        try:
            # Through the environment, so Ray actors and any process this one starts grade alike.
            os.environ["INTERVIEWER_JUDGE"] = chosen_base(judge)
        except JudgeError as exc:
            raise UserError(str(exc)) from None


CriticOption = typer.Option(
    None, "--critic", help="none | stub | openai (default: $INTERVIEWER_CRITIC, else none)"
)
ModelOption = typer.Option(None, "--model", help="LLM model name for --critic openai ($INTERVIEWER_MODEL)")
NoCacheOption = typer.Option(False, "--no-cache", help="Bypass the critic's on-disk verdict cache")


class UserError(InterviewerError):
    """Anything a user can fix: printed as one line, exit code 2, never a traceback."""


def _notice(message: str) -> None:
    err.print(f"[dim]{message}[/dim]")


def _workspace() -> Workspace:
    from interviewer.workspace import Workspace

    return Workspace.discover(notice=_notice)


def _batch_workspace() -> Workspace:
    """The workspace for a command that reads many answers at once (grade, eval, judge floors): on
    the batch backend (torch when installed), which pays its import once and reads a batch faster."""
    from interviewer.grading.embedding import throughput_backend

    ws = _workspace()
    ws.backend = throughput_backend()
    return ws


# ---- questions & rubrics ------------------------------------------------------------------------


@app.command()
def questions(
    topic: str | None = typer.Option(None, help="Only questions whose topic contains this text"),
    difficulty: str | None = typer.Option(None, help="beginner | intermediate | advanced"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per question"),
) -> None:
    """List the questions in the banks."""
    from contextlib import suppress

    from interviewer.domain.levels import normalize_level
    from interviewer.sources.rubric import RubricError

    ws = _workspace()
    rubrics = {}
    with suppress(RubricError):  # rubrics are optional for listing
        rubrics = {r.question_id: r for r in ws.rubrics()}
    level = normalize_level(difficulty) if difficulty else None
    if difficulty and level is None:
        raise UserError(f"unknown difficulty {difficulty!r}: use beginner, intermediate or advanced")
    rows = []
    topics: set[str] = set()
    for q in ws.questions():
        # Topic and level from the rubric (the taxonomy, reviewed), the bank's only where it has none:
        # one label per question, the same one practice shows.
        rubric = rubrics.get(q.id)
        q_topic = (rubric.topic if rubric else None) or q.topic
        q_level = (rubric.difficulty if rubric else None) or q.difficulty
        topics.add(q_topic or "")
        if topic and topic.lower() not in (q_topic or "").lower():
            continue
        if level and q_level != level:
            continue
        rows.append((q, q_topic, q_level, rubric.prompt if rubric else q.text))
    if topic and not rows and not any(topic.lower() in t.lower() for t in topics):
        # A topic no question has is most likely a typo: say which exist (as practice does).
        known = ", ".join(sorted(t for t in topics if t))
        raise UserError(f"no topic contains {topic!r}: known topics are {known}")
    if as_json:
        for q, q_topic, q_level, asked in rows:
            record = {
                "id": q.id,
                "bank": q.bank,
                "topic": q_topic,
                "difficulty": q_level,
                "question": q.text,
                "asked": asked,
                "has_reference": q.has_reference,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    # Plain aligned columns, the question last and whole: rendering a rich table of 150 rows took
    # longer than everything else this command does.
    table = [("id", "level", "topic", "ref", "question")]
    for q, q_topic, q_level, asked in rows:
        table.append((q.id, q_level or "", q_topic or "", "✓" if q.has_reference else "", asked))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)), r[4]]) for r in table]
    sys.stdout.write("\n".join(lines) + f"\n{len(rows)} questions\n")


@rubrics_app.command("build")
def rubrics_build() -> None:
    """Write rubrics/ from the banks in corpus/, keeping everything already authored."""
    from rich.markup import escape

    from interviewer.sources.rubric import load_rubrics, merge_rubric, rubric_files, save_rubrics

    ws = _workspace()
    existing = {}
    if ws.rubrics_dir.is_dir() and rubric_files(ws.rubrics_dir):
        existing = {r.question_id: r for r in load_rubrics(ws.rubrics_dir)}
    questions = ws.questions()
    rubrics = [merge_rubric(q, existing.get(q.id)) for q in questions]
    paths = save_rubrics(ws.rubrics_dir, rubrics)
    with_ref = sum(r.has_reference for r in rubrics)
    where = f"{len(paths)} files in {ws.rubrics_dir}"
    out.print(escape(f"Wrote {len(rubrics)} rubrics to {where} ({with_ref} with a reference)."))
    missing = len(rubrics) - with_ref
    if missing:
        out.print(
            f"{missing} questions have no reference answer yet: the grader will say so instead of scoring."
        )
    # A renumbered or deleted question takes its authored rubric with it: never do that silently.
    rewritten = {q.bank for q in questions}
    gone = sorted(set(existing) - {q.id for q in questions})
    dropped = [qid for qid in gone if existing[qid].bank in rewritten]
    if dropped:
        message = f"{len(dropped)} rubrics match no question in corpus/ and were dropped: "
        message += ", ".join(dropped)
        err.print(escape(message), soft_wrap=True)
    if len(dropped) < len(gone):
        left = len(gone) - len(dropped)
        err.print(f"{left} rubrics belong to banks no longer in corpus/; their files were left as they were.")


@rubrics_app.command("check")
def rubrics_check(
    model_answers: bool = typer.Option(
        False,
        "--model-answers",
        help="Also grade every model answer as an answer: it must cover its essential points, score 4.5, "
        "raise no flag (loads the models)",
    ),
) -> None:
    """Validate every rubric and report per bank what comes from the bank and what is authored."""
    from rich.markup import escape

    from interviewer.surfaces.checks import check_judge_pairs, check_model_answers, check_rubrics

    ws = _workspace()
    report = check_rubrics(ws.questions(), ws.rubrics_dir)
    if not report.problems:
        report.problems += check_judge_pairs(ws.rubrics(), ws.root)
    if not report.problems and model_answers:
        report.problems += check_model_answers(ws.rubrics(), ws.grader())
    out.print(report.table())
    for problem in report.problems:
        err.print(f"[red]✗[/red] {escape(problem)}", soft_wrap=True)
    if report.problems:
        raise typer.Exit(1)
    out.print(f"[green]✓[/green] {report.total} rubrics valid.")


@app.command()
def index() -> None:
    """Rebuild the FAISS index over the rubrics."""
    import os
    import time

    from rich.markup import escape

    from interviewer.grading.embedding import Embedder, default_cache_path
    from interviewer.grading.index import RubricIndex, save_index

    ws = _workspace()
    rubrics = ws.rubrics()
    started = time.perf_counter()
    # The same embedding cache the grader uses (keyed by model and text): a rebuild after a small rubric
    # edit embeds only what changed. INTERVIEWER_NO_EMBED_CACHE=1 embeds everything afresh.
    cache = None if os.environ.get("INTERVIEWER_NO_EMBED_CACHE") else default_cache_path()
    built = RubricIndex.build(rubrics, Embedder(disk_cache=cache))
    try:
        save_index(built, ws.index_dir)
    except OSError as exc:
        raise UserError(f"cannot write the index to {ws.index_dir} ({exc.strerror or exc})") from None
    m = built.manifest
    out.print(
        escape(
            f"Indexed {m.items} items from {len(built.rubrics)} rubrics with {m.model} "
            f"(dim {m.dimension}) in {time.perf_counter() - started:.1f}s → {ws.index_dir}"
        ),
        soft_wrap=True,
    )


# ---- grading ------------------------------------------------------------------------------------


@app.command()
def grade(
    input_path: Path = typer.Argument(
        ...,
        metavar="INPUT",
        help="CSV, JSONL (either may be .gz, .bz2, .xz), Parquet or Excel workbook of answers; - reads stdin",
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="JSONL, CSV or Parquet by extension; - (or none) is JSONL to stdout"
    ),
    input_format: str | None = typer.Option(
        None, "--format", help="csv | jsonl | parquet | xlsx: the input's format when its name does not say"
    ),
    critic: str | None = CriticOption,
    model: str | None = ModelOption,
    no_cache: bool = NoCacheOption,
    workers: int = typer.Option(4, min=1, help="Concurrent critic calls"),
    retry_fallbacks: bool = typer.Option(
        False, "--retry-fallbacks", help="Re-grade rows whose critic failed in an earlier run"
    ),
    keep_going: bool = typer.Option(
        False, "--keep-going", help="Do not stop after repeated critic connection failures"
    ),
    mkdir: bool = typer.Option(False, "--mkdir", help="Create the output's folder if it is missing"),
    device: str | None = typer.Option(
        None, "--device", help="auto | cpu | cuda for the models (default: $INTERVIEWER_DEVICE, else auto)"
    ),
    engine: str = typer.Option(
        "local", "--engine", help="local (one process) | ray (Ray Data over a cluster; the scale extra)"
    ),
    actors: int | None = typer.Option(
        None, "--actors", min=1, help="With --engine ray: graders to run (default: one per CPU)"
    ),
    precision: str = typer.Option(
        "auto",
        "--precision",
        help="auto | fp32 | bf16 for the judge (auto: bf16 on a CPU with native bf16, 2.2x faster)",
    ),
    examples: Path | None = typer.Option(
        None,
        "--examples",
        help="Answers already graded by hand (the input's columns plus `grade`, 0-5): "
        "each answer's closest ones are blended into its score",
    ),
) -> None:
    """Grade a file of written answers (resumes where a previous run stopped).

    Exit status: 0 all graded; 1 some rows fell back to the embedding grade, the run stopped early,
    or no row could be graded; 2 a usage or input error."""
    from interviewer.critic import make_critic
    from interviewer.grading.embedding import requested_device, resolve_device
    from interviewer.grading.judge import JudgeError, resolve_precision
    from interviewer.surfaces.batch import BatchOptions, run_batch

    ws = _batch_workspace()
    # An unusable device fails here, before any row is read; Ray actors resolve it where they run.
    ws.device = device if engine == "ray" else resolve_device(device)
    # Decided here, for the run's fingerprints; Ray actors read in what the driver decided (bf16 only
    # where it was told the actors run on CPUs: their device is resolved where they run).
    try:
        ws.precision = resolve_precision(precision, requested_device(ws.device), ws.backend)
    except JudgeError as exc:
        raise UserError(str(exc)) from None
    chosen = make_critic(critic, model=model, no_cache=no_cache)
    options = BatchOptions(
        fmt=input_format,
        retry_fallbacks=retry_fallbacks,
        keep_going=keep_going,
        mkdir=mkdir,
        examples=examples,
    )
    if engine not in ("local", "ray"):
        raise UserError(f"unknown engine {engine!r}: use local or ray")
    if engine == "ray":
        from interviewer.surfaces.ray_engine import run_ray

        summary = run_ray(
            ws, input_path, output, critic, model, console=err.get(), options=options, actors=actors
        )
        raise typer.Exit(1 if summary.failed else 0)
    summary = run_batch(
        ws, input_path, output, critic=chosen, workers=workers, console=err.get(), options=options
    )
    if summary.failed:
        raise typer.Exit(1)


@app.command("eval")
def evaluate(
    dataset: Path | None = typer.Argument(None, help="Labelled CSV/JSONL (default: the dev set in evals/)"),
    critic: str | None = CriticOption,
    model: str | None = ModelOption,
    no_cache: bool = NoCacheOption,
    report: Path | None = typer.Option(None, "--report", help="Write a Markdown report with plots here"),
    semeval: Path | None = typer.Option(
        None, help="SemEval-2013 folder (default: ../shared/benchmarks/semeval2013 when present)"
    ),
    no_semeval: bool = typer.Option(False, "--no-semeval", help="Skip the SemEval-2013 benchmark"),
    no_saf: bool = typer.Option(False, "--no-saf", help="Skip the SAF benchmark (../shared/benchmarks/saf)"),
    semeval_splits: str = typer.Option("all", help="all | ua (unseen answers only, fast)"),
    semeval_limit: int | None = typer.Option(
        None,
        "--public-limit",
        "--semeval-limit",
        help="Cap the SemEval and SAF test rows per split at N, a fixed sample (a quick look)",
    ),
    baseline: Path | None = typer.Option(None, help="Baseline figures (default: evals/baseline.json)"),
    update_baseline: bool = typer.Option(
        False, "--update-baseline", help="Accept these figures as the baseline"
    ),
    calibrate: bool = typer.Option(
        False, "--calibrate", help="Refit the calibration on the dev set and grade with it"
    ),
    calibration_out: Path | None = typer.Option(
        None, "--calibration-out", help="With --calibrate: save the fitted calibration to this JSON file"
    ),
    public_calibration: bool = typer.Option(
        False,
        "--public-calibration",
        help="Fit (and cross-validate) the calibration on SemEval and SAF train too, not the dev set alone",
    ),
    map_slope: str | None = typer.Option(
        None,
        "--map-slope",
        help="With --calibrate: the map's least slope (a number), or auto to choose it on the dev set, "
        "SemEval train and SAF train (default: the shipped calibration's)",
    ),
    validity: bool = typer.Option(
        False,
        "--validity",
        help="Also grade the validity probes (evals/validity.yaml): each rubric's model answer, a faithful "
        "paraphrase of it and the model answer with one essential point negated (minutes)",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the figures as one JSON object on stdout (the tables go to stderr)"
    ),
) -> None:
    """Measure the grader against human grades. Exit 0: no regression; 1: a regression beyond
    tolerance; 2: a usage or input error."""
    from interviewer.critic import make_critic
    from interviewer.sources.validity import VALIDITY_FILE
    from interviewer.surfaces.evals import EvalOptions, run_eval

    ws = _batch_workspace()
    chosen = make_critic(critic, model=model, no_cache=no_cache)
    options = EvalOptions(
        dataset=dataset,
        report_dir=report,
        semeval_dir=None if no_semeval else semeval,
        use_semeval=not no_semeval,
        semeval_splits=semeval_splits,
        baseline_path=baseline,
        update_baseline=update_baseline,
        calibrate=calibrate,
        calibration_out=calibration_out,
        semeval_limit=semeval_limit,
        use_saf=not no_saf,
        public_calibration=public_calibration,
        map_slope=map_slope,
        validity_path=ws.evals_dir / VALIDITY_FILE if validity else None,
    )
    outcome = run_eval(ws, options, critic=chosen, console=err.get() if as_json else out.get())
    if as_json:
        sys.stdout.write(json.dumps(outcome.figures, ensure_ascii=False, allow_nan=False) + "\n")
    if not outcome.ok:
        raise typer.Exit(1)


# ---- the judge ----------------------------------------------------------------------------------


@judge_app.command("train")
def judge_train(
    out_dir: Path | None = typer.Option(
        None,
        "--out",
        help="Where to write the weights (default: the base's shipped judge folder, which only the "
        "shipped recipe trained on the CPU may replace: a sweep, another --seed or a GPU needs --out)",
    ),
    benchmarks: Path | None = typer.Option(
        None, help="Public sets folder (default: ../shared/benchmarks when present)"
    ),
    epochs: float | None = typer.Option(None, min=0.05, help="Passes over the training pairs (one judge)"),
    seed: int = typer.Option(13, help="Random seed (the shipped weights use 13; another needs --out)"),
    learning_rate: float | None = typer.Option(
        None, "--lr", min=1e-7, max=1e-2, help="Peak learning rate (one judge; default 5e-5)"
    ),
    bf16: bool = typer.Option(
        False,
        "--bf16",
        help="Train under bf16 autocast (a CPU with AMX, or a GPU): faster, weights stay fp32 (one judge)",
    ),
    semeval_per_dataset: int | None = typer.Option(
        None,
        min=0,
        help="SemEval-2013 train rows per dataset (one judge; 2,500 by default, of 4,969 and 3,941)",
    ),
    hold_out_every: int | None = typer.Option(
        None,
        "--hold-out-every",
        min=0,
        help="Hold 1 concept group in N out of training and measure it (7 by default); 0 trains on every "
        "rubric's pairs, with no authored pairs left to measure (one judge)",
    ),
    across_pairs: bool = typer.Option(
        False,
        "--across-pairs",
        help="Also each point's denials against its affirmations, as contradictions (one judge)",
    ),
    negations: bool = typer.Option(
        False,
        "--negations",
        help="Also each point denied by 'not' in its main clause, as a contradiction (one judge)",
    ),
    whole_answers: bool = typer.Option(
        False,
        "--whole-answers",
        help="Also whole answers made of the pairs, read against the model answer (one judge)",
    ),
    opposites: bool = typer.Option(
        False,
        "--opposites",
        help="Also each point, its affirmations and SemEval train's correct answers with one word turned "
        "into its opposite, as contradictions (one judge)",
    ),
    rewordings: bool = typer.Option(
        False,
        "--rewordings",
        help="Also each point, its affirmations and SemEval train's correct answers with one word turned "
        "into another that says the same, as entailments (one judge; beside --opposites)",
    ),
    swaps: bool = typer.Option(
        False,
        "--swaps",
        help="Also each point of a question that contrasts two terms (judge/swaps.yaml) with the terms "
        "traded, as contradictions (one judge)",
    ),
    reasoned_affirmations: bool = typer.Option(
        False,
        "--reasoned-affirmations",
        help="Also each point said right with a contrast or reason clause (judge/reasoned_affirmations."
        "yaml), as entailments (one judge)",
    ),
    misconception_readings: bool = typer.Option(
        False,
        "--misconception-readings",
        help="Also each misconception asserted and denied as candidates say it (judge/misconception_"
        "readings.yaml) (one judge)",
    ),
    premises_as_read: bool = typer.Option(
        False,
        "--premises-as-read",
        help="Train on each premise as the grader reads an answer, spoken fillers taken out (one judge)",
    ),
    composed: bool = typer.Option(
        False,
        "--composed",
        help="Also long premises running several of a question's points together, labelled by one "
        "point alone (one judge)",
    ),
    reasoned_denials: bool | None = typer.Option(
        None,
        "--reasoned-denials/--no-reasoned-denials",
        help="Read judge/denials.yaml, as the shipped judges do; --no-reasoned-denials for a control "
        "(one judge)",
    ),
    device: str | None = typer.Option(
        None, help="auto | cpu | cuda (default: cpu, where the shipped weights reproduce; a GPU for sweeps)"
    ),
    whole_recipe: bool = typer.Option(
        False,
        "--whole-recipe",
        help="Change every judge of the base's recipe as the sweep options ask and average them at its "
        "shares, instead of training its first judge alone",
    ),
    keep_parts: Path | None = typer.Option(
        None,
        "--keep-parts",
        help="Also save each judge of a soup, before averaging, in this folder (to measure other shares)",
    ),
    base: str = typer.Option(
        "minilm",
        "--base",
        help="minilm (the default judge) | mpnet (LoRA on all-mpnet-base-v2: needs the train extra and "
        "the mpnet part packages; about an hour on 2 CPU cores with AMX)",
    ),
) -> None:
    """Train the shipped judge (two judges, their weights averaged: about 30 minutes on 2 idle CPU
    cores with AVX2) from judge/pairs/, judge/denials.yaml and the public sets; any of the sweep options
    trains one judge instead: the shipped recipe's first, changed as asked (with --whole-recipe, every
    judge of the recipe, averaged as shipped). Only the shipped recipe, trained on the CPU (with AMX
    for the mpnet judge's bf16), replaces the shipped judge: anything else needs --out."""
    from rich.markup import escape

    from interviewer.grading.embedding import resolve_device
    from interviewer.grading.judge import JudgeError, base_model_path, chosen_base, shipped_weights_dir
    from interviewer.grading.judge_data import PAIRS_DIR
    from interviewer.grading.judge_train import RECIPES, chosen_recipe, run_training

    try:
        base = chosen_base(base)
        base_model_path(base)  # a missing base is said now, not after the pairs are read
    except JudgeError as exc:
        raise UserError(str(exc)) from None
    sweep = {
        "epochs": epochs,
        "learning_rate": learning_rate,
        "bf16": bf16 or None,
        "semeval_per_dataset": semeval_per_dataset,
        "hold_out_every": hold_out_every,
        "across_pairs": across_pairs or None,
        "negations": negations or None,
        "whole_answers": whole_answers or None,
        "opposites": opposites or None,
        "rewordings": rewordings or None,
        "swaps": swaps or None,
        "reasoned_affirmations": reasoned_affirmations or None,
        "misconception_readings": misconception_readings or None,
        "premises_as_read": premises_as_read or None,
        "composed": composed or None,
        "reasoned_denials": reasoned_denials,
    }
    recipe = chosen_recipe(base, seed, {k: v for k, v in sweep.items() if v is not None}, whole_recipe)
    target = out_dir or shipped_weights_dir(base)
    chosen_device = resolve_device(device or "cpu")
    over_shipped = _shipped_base(target)
    options = [_option_given(name, value) for name, value in sweep.items() if value is not None]
    options += [f"--seed {seed}"] * (seed != RECIPES[base][0].seed) + ["--whole-recipe"] * whole_recipe
    unlike = _unlike_shipped_training(over_shipped, base, recipe, chosen_device, options)
    _refuse_over_shipped(unlike, target)
    ws = _workspace()
    public = _benchmarks_folder(ws, benchmarks)
    if keep_parts is not None and keep_parts.exists() and not keep_parts.is_dir():
        # Said now, not after the first judge has trained (twenty minutes or more) and cannot be saved.
        raise UserError(f"--keep-parts {keep_parts}: not a folder; name a folder to save each judge in")
    pairs_dir = ws.root / PAIRS_DIR
    if not pairs_dir.is_dir():
        raise UserError(f"{pairs_dir}: no authored pairs; the judge is trained mostly on them")
    if public is None:
        # A judge trained from the pairs alone reads SemEval and SAF far worse (a recipe trained so
        # measured SemEval AUC 0.726 / 0.790, SAF unseen questions 0.46): never over the shipped one.
        missing = _default_benchmarks(ws)
        if over_shipped is not None:
            raise UserError(
                f"{missing}: no public sets, and the shipped judge is trained on SemEval, SAF and SNLI "
                "train too; pass --benchmarks DIR, or --out DIR to train a judge from the pairs alone"
            )
        err.print(
            escape(f"No public sets at {missing}: training from the authored pairs alone (--benchmarks DIR)"),
            soft_wrap=True,
        )
    _refuse_over_shipped(_unlike_shipped_sources(ws, target, public) if over_shipped else None, target)
    if any(s.lora_rank for s in recipe):
        import importlib.util

        if importlib.util.find_spec("peft") is None:
            raise UserError("LoRA training needs peft: pip install -e '.[train]'")
    _make_judge(
        lambda: run_training(
            ws.rubrics(),
            pairs_dir,
            public,
            target,
            recipe,
            progress=lambda line: err.print(escape(line)),
            device=chosen_device,
            parts_dir=keep_parts,
        ),
        target,
    )


@judge_app.command("soup")
def judge_soup(
    parts: Path = typer.Option(
        ..., "--parts", help="The folder `judge train --keep-parts` saved the judges in"
    ),
    shares: str = typer.Option(..., "--shares", help="Each judge's share, comma-separated, e.g. 0.6,0.4"),
    out_dir: Path | None = typer.Option(
        None,
        "--out",
        help="Where to write the weights (default: the package's judge_model/, which only the shipped "
        "recipe's judges at its shares may replace)",
    ),
    benchmarks: Path | None = typer.Option(
        None, help="Public sets folder (default: ../shared/benchmarks when present)"
    ),
) -> None:
    """Average kept judges at other shares (a few minutes, no training): the judge `judge train` would
    make with those shares in its recipe, same weights and version, measured like it."""
    from rich.markup import escape

    from interviewer.grading.judge import shipped_weights_dir
    from interviewer.grading.judge_data import PAIRS_DIR
    from interviewer.grading.judge_train import mix_parts

    ws = _workspace()
    public = _benchmarks_folder(ws, benchmarks)
    if not parts.is_dir():
        raise UserError(f"--parts {parts}: no such folder; keep the judges with `judge train --keep-parts`")
    try:
        weights = [float(share) for share in shares.split(",")]
    except ValueError:
        raise UserError(f"--shares {shares}: give numbers separated by commas, e.g. 0.6,0.4") from None
    pairs_dir = ws.root / PAIRS_DIR
    if not pairs_dir.is_dir():
        raise UserError(
            f"{pairs_dir}: no authored pairs, so what the judges were trained on cannot be checked"
        )
    target = out_dir or shipped_weights_dir()
    shipped_base = _shipped_base(target)
    _refuse_over_shipped(_unlike_shipped_sources(ws, target, public) if shipped_base else None, target)
    _make_judge(
        lambda: mix_parts(
            ws.rubrics(),
            pairs_dir,
            public,
            parts,
            weights,
            target,
            progress=lambda line: err.print(escape(line)),
            shipped_base=shipped_base,
        ),
        target,
    )


def _default_benchmarks(ws: Workspace) -> Path:
    """Where the public sets are looked for without --benchmarks: ../shared/benchmarks beside the root."""
    return ws.root.parent / "shared" / "benchmarks"


def _benchmarks_folder(ws: Workspace, given: Path | None) -> Path | None:
    """The public sets a judge is trained and measured on: --benchmarks, else ../shared/benchmarks
    when present (a judge can be made without them)."""
    folder = given or _default_benchmarks(ws)
    if given is not None and not folder.is_dir():
        raise UserError(f"--benchmarks {folder}: no such folder")
    return folder if folder.is_dir() else None


def _same_folder(one: Path, other: Path) -> bool:
    """Whether two paths name one folder, however written: relative, through a link, or in other case
    where the filesystem folds case."""
    try:
        return os.path.samefile(one, other)
    except OSError:  # either is missing: then only the same path names the same folder
        return one.resolve() == other.resolve()


def _shipped_base(folder: Path) -> str | None:
    """The base whose shipped judge lives in this folder, if it is one of those folders."""
    from interviewer.grading.judge import shipped_weights_dir
    from interviewer.grading.judge_train import RECIPES

    return next((b for b in RECIPES if _same_folder(shipped_weights_dir(b), folder)), None)


def _unlike_shipped_sources(ws: Workspace, target: Path, public: Path | None) -> str | None:
    """What makes the files a judge would be made from, over the shipped one in `target`, other than
    that judge's (None: none): the rubrics and pairs of another home than the repository it ships in,
    or public sets other than those its judge.json records (a file's sha256; none found counts too).
    Public files that change on purpose: train with --out, then copy the judge over the shipped one."""
    from interviewer.grading.judge import judge_meta
    from interviewer.grading.judge_train import other_public_files, public_files_read

    repository = target.resolve().parent.parent  # the shipped folders sit in the package
    if not _same_folder(ws.root, repository):
        home = " (INTERVIEWER_HOME)" if os.environ.get("INTERVIEWER_HOME") else ""
        return (
            f"{ws.root}{home}: the rubrics and pairs of another folder than {repository}, which the "
            "shipped judge is made from"
        )
    recorded: dict[str, str] = judge_meta(target).get("data") or {}
    read = public_files_read(public) if public is not None else {}
    other = other_public_files(recorded, read) if recorded else []  # no record: nothing to compare
    if not other:
        return None
    said = ", ".join(f"{name} ({how})" for name, how in other)
    return f"public sets {public or '(none found)'}: {said} against the shipped judge's judge.json"


def _unlike_shipped_training(
    folder_base: str | None,
    base: str,
    recipe: Sequence[TrainSettings],
    device: str,
    options: list[str],
) -> str | None:
    """What makes a `judge train` run another judge than the one shipped in `folder_base`'s folder,
    in the options' words (None: it is that judge, or the folder is no shipped one)."""
    from interviewer.grading.judge import amx_bf16
    from interviewer.grading.judge_train import NotShipped, why_not_shipped

    if folder_base is None:
        return None
    said = {
        NotShipped.BASE: f"--base {base} (that folder holds the {folder_base} judge)",
        NotShipped.RECIPE: " ".join(options),
        NotShipped.DEVICE: f"--device {device} (a GPU's weights differ from the CPU's)",
        NotShipped.OTHER_BF16: "bf16 on this CPU, which has no AMX (the shipped weights were trained "
        "with it; bf16 elsewhere is not known to give the same weights)",
    }
    amx = amx_bf16() if any(s.bf16 for s in recipe) else True  # torch is imported only when it matters
    reasons = why_not_shipped(folder_base, recipe, [device] * len(recipe), amx)
    return "; ".join(said.get(r, r.value) for r in reasons) or None


def _refuse_over_shipped(unlike: str | None, target: Path) -> None:
    """Said before training or averaging: another judge over the shipped one would leave the shipped
    calibration, floors and baseline describing a judge that is gone (and `make test` failing on them)."""
    if unlike:
        raise UserError(
            f"{unlike}: not the shipped judge, so it is not written over {target}; pass --out DIR to keep "
            "it apart (INTERVIEWER_JUDGE_DIR=DIR grades with it)"
        )


def _option_given(name: str, value: object) -> str:
    """A `judge train` sweep setting as the option that asks for it."""
    shown = {"learning_rate": "lr"}.get(name, name.replace("_", "-"))
    if isinstance(value, bool):
        return f"--{shown}" if value else f"--no-{shown}"
    return f"--{shown} {value:g}" if isinstance(value, float) else f"--{shown} {value}"


def _make_judge(make: Callable[[], dict], target: Path) -> None:
    """Run what makes a judge (training or a soup), saying a bad pairs file or kept part in one line,
    then print how it measured and where it went."""
    from rich.markup import escape

    from interviewer.grading.judge_data import PairsError
    from interviewer.grading.judge_train import PartsError

    try:
        meta = make()
    except (PairsError, PartsError) as exc:
        raise UserError(str(exc)) from None
    _print_judge_metrics(meta.get("metrics", {}))
    out.print(escape(f"Judge {meta['version']} → {target}"), soft_wrap=True)


@judge_app.command("floors")
def judge_floors(
    out_path: Path | None = typer.Option(
        None, "--out", help="Where to write them (default: the package's judge_floors.json)"
    ),
) -> None:
    """Read every bank rubric's model answer with the judge and ship what it finds there (the
    floors its readings of answers count from), for this judge and calibration (about a minute)."""
    from importlib import resources

    from rich.markup import escape

    from interviewer.grading.floors import FLOORS_FILE, floors_to_json
    from interviewer.grading.judge import chosen_base, judge_weights_dir

    ws = _batch_workspace()  # 150 model answers in one batch, read in fp32 (the default)
    grader = ws.grader()
    if grader.judge is None:
        raise UserError("no trained judge: run `interviewer judge train` first")
    shipped = grader.read_floors(ws.rubrics())
    # The default judge's floors ship beside the calibration; another judge's in its own folder.
    base = chosen_base(ws.judge_base)
    package = Path(str(resources.files("interviewer").joinpath(FLOORS_FILE)))
    own = judge_weights_dir(base) / FLOORS_FILE
    target = out_path or (package if base == "minilm" else own)
    try:
        target.write_text(floors_to_json(shipped), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{target}: cannot write ({exc.strerror or exc})") from None
    nonzero = sum(1 for f in shipped.floors.values() if any(f.contradictions) or any(f.assertions))
    out.print(
        escape(f"{len(shipped.floors)} floors ({nonzero} not zero) for {shipped.judge} → {target}"),
        soft_wrap=True,
    )


@judge_app.command("info")
def judge_info() -> None:
    """What the shipped judge was trained on, and how it measured."""
    from interviewer.grading.judge import JudgeError, chosen_base, judge_meta, shipped_weights_dir

    try:
        folder = shipped_weights_dir(chosen_base())
    except JudgeError as exc:
        raise UserError(str(exc)) from None
    meta = judge_meta(folder)
    if not meta:
        raise UserError(f"no trained judge in {folder}: run `interviewer judge train`")
    made = meta.get("recipe") or [{"settings": meta.get("settings", {})}]
    seeds = sorted({str(m["settings"].get("seed")) for m in made})
    shares = " / ".join(f"{m['settings'].get('share', 1.0):g}" for m in made)
    soup = f"{len(made)} judges averaged (shares {shares}), " if len(made) > 1 else ""
    out.print(
        f"judge {meta.get('version')}: {soup}{meta.get('train_pairs')} training pairs, seed "
        f"{', '.join(seeds)}, {meta.get('train_seconds')} s"
    )
    _print_judge_metrics(meta.get("metrics", {}))


def _print_judge_metrics(metrics: dict) -> None:
    from rich.table import Table

    table = Table("set", "n", "accuracy", "entail AUC", "recall E/N/C", box=None)
    for name, m in metrics.items():
        recalls = "/".join(
            f"{m[k]:.2f}" if k in m else "–"
            for k in ("recall_entailment", "recall_neutral", "recall_contradiction")
        )
        auc = f"{m['auc_entailment']:.3f}" if "auc_entailment" in m else "–"
        table.add_row(name, str(int(m["n"])), f"{m['accuracy']:.3f}", auc, recalls)
    out.print(table)


# ---- practice -----------------------------------------------------------------------------------


@app.command()
def practice(
    topic: list[str] | None = typer.Option(None, "--topic", help="Topic(s) to practise (repeatable)"),
    difficulty: str | None = typer.Option(None, help="Starting level: beginner | intermediate | advanced"),
    count: int = typer.Option(5, "--count", "-n", min=1, help="Number of questions"),
    critic: str | None = CriticOption,
    model: str | None = ModelOption,
    no_cache: bool = NoCacheOption,
    resume: bool = typer.Option(False, "--resume", help="Continue the last interrupted session"),
    time_limit: int | None = typer.Option(None, "--time-limit", help="Seconds per answer (countdown)"),
    no_review: bool = typer.Option(False, "--no-review", help="Don't bring back questions answered poorly"),
    voice: bool = typer.Option(False, "--voice", help="Speak questions and transcribe spoken answers"),
    voice_in: list[Path] | None = typer.Option(
        None, "--voice-in", help="WAV file(s) to use as spoken answers"
    ),
    voice_out: Path | None = typer.Option(None, "--voice-out", help="Write spoken questions as WAV here"),
    seed: int | None = typer.Option(None, help="Seed the question order (reproducible sessions)"),
) -> None:
    """A mock interview in the terminal: questions, graded feedback, follow-ups, a summary."""
    from interviewer.surfaces.terminal import PracticeOptions, run_practice

    options = PracticeOptions(
        topics=list(topic or []),
        difficulty=difficulty,
        count=count,
        critic=critic,
        model=model,
        no_cache=no_cache,
        resume=resume,
        time_limit=time_limit,
        review=not no_review,
        voice=voice,
        voice_in=list(voice_in or []),
        voice_out=voice_out,
        seed=seed,
    )
    raise typer.Exit(run_practice(_workspace(), options))


@app.command()
def progress(
    plot: Path | None = typer.Option(None, "--plot", help="Where to write the PNG plot"),
) -> None:
    """Scores by topic and level over time, and the weakest topics."""
    from interviewer.surfaces.progress import run_progress

    raise typer.Exit(run_progress(_workspace(), plot))


def main() -> None:
    """Entry point: an InterviewerError becomes one clear line and exit code 2."""
    # The CLI uses no pydantic plugin, and looking for them reads the metadata of every installed
    # package (~10 ms of a 0.3 s start-up budget). A user who sets the variable keeps theirs.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        app()
    except InterviewerError as exc:
        from rich.markup import escape

        # One line whatever its length, and a path like "[/x]" is text, not markup.
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("\nInterrupted. Everything graded so far is saved.")
        sys.exit(130)


if __name__ == "__main__":
    main()
