"""The `interviewer` command: one small function per command; the work happens in the core."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from interviewer.app import Workspace

app = typer.Typer(
    help="Mock interviewer and answer grader for deep-learning interviews.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rubrics_app = typer.Typer(help="Build and check the reference rubrics.", no_args_is_help=True)
app.add_typer(rubrics_app, name="rubrics")

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

CriticOption = typer.Option(
    None, "--critic", help="none | stub | openai (default: $INTERVIEWER_CRITIC, else none)"
)
ModelOption = typer.Option(None, "--model", help="LLM model name for --critic openai ($INTERVIEWER_MODEL)")
NoCacheOption = typer.Option(False, "--no-cache", help="Bypass the critic's on-disk verdict cache")


class UserError(Exception):
    """Anything a user can fix: printed as one line, exit code 2, never a traceback."""


def _notice(message: str) -> None:
    err.print(f"[dim]{message}[/dim]")


def _workspace() -> Workspace:
    return Workspace.discover(notice=_notice)


# ---- questions & rubrics ------------------------------------------------------------------------


@app.command()
def questions(
    topic: str | None = typer.Option(None, help="Only questions whose topic contains this text"),
    difficulty: str | None = typer.Option(None, help="beginner | intermediate | advanced"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per question"),
) -> None:
    """List the questions in the banks."""
    from contextlib import suppress

    from interviewer.bank import normalize_level
    from interviewer.rubric import RubricError

    ws = _workspace()
    rubric_topics = {}
    with suppress(RubricError):  # rubrics are optional for listing
        rubric_topics = {r.question_id: r.topic for r in ws.rubrics()}
    level = normalize_level(difficulty) if difficulty else None
    if difficulty and level is None:
        raise UserError(f"unknown difficulty {difficulty!r}: use beginner, intermediate or advanced")
    rows = []
    for q in ws.questions():
        topics = [t for t in (q.topic, rubric_topics.get(q.id)) if t]
        if topic and not any(topic.lower() in t.lower() for t in topics):
            continue
        if level and q.difficulty != level:
            continue
        rows.append(q)
    if as_json:
        for q in rows:
            record = {
                "id": q.id,
                "bank": q.bank,
                "topic": q.topic or rubric_topics.get(q.id),
                "difficulty": q.difficulty,
                "question": q.text,
                "has_reference": q.has_reference,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("id", "level", "topic", "question", "ref", box=None, pad_edge=False)
    for q in rows:
        cells = (q.id, q.difficulty or "", q.topic or rubric_topics.get(q.id) or "", q.text)
        table.add_row(*map(escape, cells), "✓" if q.has_reference else "")
    out.print(table)
    out.print(f"[dim]{len(rows)} questions[/dim]")


@rubrics_app.command("build")
def rubrics_build() -> None:
    """Write rubrics/ from the banks in corpus/, keeping everything already authored."""
    from rich.markup import escape

    from interviewer.rubric import load_rubrics, merge_rubric, rubric_files, save_rubrics

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
def rubrics_check() -> None:
    """Validate every rubric and report per bank what comes from the bank and what is authored."""
    from rich.markup import escape

    from interviewer.checks import check_rubrics

    ws = _workspace()
    report = check_rubrics(ws.questions(), ws.rubrics_dir)
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

    from interviewer.embedding import Embedder, default_cache_path
    from interviewer.index import RubricIndex, save_index

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
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV or JSONL of answers"),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="JSONL or CSV; JSONL to stdout if omitted"
    ),
    critic: str | None = CriticOption,
    model: str | None = ModelOption,
    no_cache: bool = NoCacheOption,
    workers: int = typer.Option(4, min=1, help="Concurrent critic calls"),
) -> None:
    """Grade a file of written answers (resumes where a previous run stopped)."""
    from interviewer.batch import run_batch
    from interviewer.critic import make_critic

    ws = _workspace()
    chosen = make_critic(critic, model=model, no_cache=no_cache)
    summary = run_batch(ws, input_path, output, critic=chosen, workers=workers, console=err)
    if summary.errors and summary.graded == 0 and summary.skipped_done == 0:
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
    semeval_splits: str = typer.Option("all", help="all | ua (unseen answers only, fast)"),
    semeval_limit: int | None = typer.Option(
        None, "--semeval-limit", help="Cap SemEval training and test rows per split at N (a quick look)"
    ),
    baseline: Path | None = typer.Option(None, help="Baseline figures (default: evals/baseline.json)"),
    update_baseline: bool = typer.Option(
        False, "--update-baseline", help="Accept these figures as the baseline"
    ),
    calibrate: bool = typer.Option(
        False, "--calibrate", help="Refit the calibration on the dev set and save it"
    ),
) -> None:
    """Measure the grader against human grades; exit 1 on a regression beyond tolerance."""
    from interviewer.critic import make_critic
    from interviewer.evals import run_eval

    ws = _workspace()
    chosen = make_critic(critic, model=model, no_cache=no_cache)
    ok = run_eval(
        ws,
        dataset=dataset,
        critic=chosen,
        report_dir=report,
        semeval_dir=None if no_semeval else semeval,
        use_semeval=not no_semeval,
        semeval_splits=semeval_splits,
        baseline_path=baseline,
        update_baseline=update_baseline,
        calibrate=calibrate,
        console=out,
        semeval_limit=semeval_limit,
    )
    if not ok:
        raise typer.Exit(1)


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
    from interviewer.terminal import PracticeOptions, run_practice

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
    from interviewer.terminal import run_progress

    raise typer.Exit(run_progress(_workspace(), plot))


def main() -> None:
    """Entry point: known errors become one clear line and exit code 2."""
    from interviewer.bank import BankError
    from interviewer.rubric import RubricError

    known: tuple[type[BaseException], ...] = (UserError, BankError, RubricError)
    try:
        from interviewer.embedding import EmbeddingError

        known += (EmbeddingError,)
    except ImportError:
        pass
    try:
        from interviewer.batch import InputError

        known += (InputError,)
    except ImportError:
        pass
    try:
        from interviewer.evals import EvalInputError

        known += (EvalInputError,)
    except ImportError:
        pass
    try:
        from interviewer.critic import CriticConfigError

        known += (CriticConfigError,)
    except ImportError:
        pass
    try:
        app()
    except known as exc:
        from rich.markup import escape

        # One line whatever its length, and a path like "[/x]" is text, not markup.
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("\nInterrupted. Everything graded so far is saved.")
        sys.exit(130)


if __name__ == "__main__":
    main()
