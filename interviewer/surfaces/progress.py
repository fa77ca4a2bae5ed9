"""`interviewer progress`: scores by topic and level over time, the weakest topics, and a plot."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from interviewer.domain.grade import ADEQUATE_AT, STRONG_AT
from interviewer.session.history import History, progress_rows, weakest_topics
from interviewer.workspace import Workspace, user_data_dir


def run_progress(ws: Workspace, plot_path: Path | None) -> int:
    console = Console(highlight=False)
    data_dir = user_data_dir()
    history = History.open(data_dir)
    try:
        outcomes = history.outcomes()
        due = history.due_reviews()
    finally:
        history.close()
    rows = progress_rows(outcomes)
    if not rows:
        console.print("No practice history yet: run `interviewer practice` first.")
        return 0
    table = Table("topic", "level", "answers", "mean", "per session", "last", box=None)
    for row in rows:
        when = time.strftime("%Y-%m-%d", time.localtime(row.last_at))
        table.add_row(
            escape(row.topic), row.level, str(row.answered), f"{row.mean:.1f}", trend(row.sessions), when
        )
    console.print(table)
    weakest = weakest_topics(outcomes)
    if weakest:
        names = ", ".join(f"{escape(t)} ({m:.1f} over {n})" for t, m, n in weakest)
        console.print(f"[bold]Weakest topics:[/bold] {names}")
    if due:
        console.print(
            f"{len(due)} question{'s' if len(due) != 1 else ''} due for review in your next session."
        )
    path = plot_path or data_dir / "progress.png"
    try:
        write_progress_plot(outcomes, path)
    except ImportError:
        console.print("[dim]Install matplotlib for the progress plot.[/dim]")
    else:
        console.print(f"Plot: {path}")
    return 0


_SPARKS = "▁▂▃▄▅▆▇█"


def trend(means: list[float], last: int = 8) -> str:
    """Per-session means as a sparkline (0–5) and first → latest: '▂▅▇ 1.5 → 4.2'."""
    if not means:
        return ""
    spark = "".join(_SPARKS[min(len(_SPARKS) - 1, int(m / 5 * len(_SPARKS)))] for m in means[-last:])
    if len(means) == 1:
        return f"{spark} {means[0]:.1f}"
    return f"{spark} {means[0]:.1f} → {means[-1]:.1f}"


def write_progress_plot(outcomes: list[Any], path: Path) -> None:
    """Mean score per session for each topic over time, and overall (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import datetime

    import matplotlib.pyplot as plt

    graded = [o for o in outcomes if o.status == "graded" and o.score is not None]
    series: dict[str, dict[float, list[float]]] = {}
    for o in graded:
        series.setdefault(o.topic, {}).setdefault(o.started_at, []).append(o.score)
        series.setdefault("all topics", {}).setdefault(o.started_at, []).append(o.score)
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=100)
    for topic, by_session in sorted(series.items(), key=lambda kv: (kv[0] == "all topics", kv[0])):
        xs = sorted(by_session)
        ys = [sum(by_session[x]) / len(by_session[x]) for x in xs]
        style = {"color": "black", "linewidth": 2.5} if topic == "all topics" else {"alpha": 0.8}
        ax.plot([datetime.fromtimestamp(x) for x in xs], ys, marker="o", label=topic, **style)
    ax.axhspan(STRONG_AT, 5, color="green", alpha=0.06)
    ax.axhspan(0, ADEQUATE_AT, color="red", alpha=0.06)
    ax.set_ylim(0, 5)
    ax.set_ylabel("mean score (0–5)")
    ax.set_title("Practice scores by topic over time")
    ax.legend(fontsize="small", loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
