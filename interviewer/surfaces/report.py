"""`interviewer eval --report DIR`: a Markdown report with a scatter plot, a confusion matrix and the
worst disagreements, for people to look at."""

from __future__ import annotations

from pathlib import Path

import numpy as np

WORST = 15


def saf_table(saf: dict[str, dict[str, float]]) -> list[str]:
    """The SAF figures as Markdown table lines (the columns `interviewer eval` prints); a figure a
    split lacks is a dash."""
    from interviewer.surfaces.evals import SAF_COLUMNS

    return [
        "| split | n | " + " | ".join(header for header, _, _ in SAF_COLUMNS) + " |",
        "|---|---|" + "---|" * len(SAF_COLUMNS),
        *(
            f"| {k} | {int(v['n'])} | "
            + " | ".join(f"{v[key]:.{decimals}f}" if key in v else "–" for _, key, decimals in SAF_COLUMNS)
            + " |"
            for k, v in saf.items()
        ),
    ]


def _scatter(path: Path, human: list[float], grader: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.15, 0.15, len(human))  # grades are integers: jitter so points don't hide
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(np.asarray(human) + jitter, grader, s=12, alpha=0.5)
    ax.plot([0, 5], [0, 5], color="grey", linewidth=1, linestyle="--")
    ax.set_xlabel("human grade (jittered)")
    ax.set_ylabel("grader score")
    ax.set_xlim(-0.5, 5.5)
    ax.set_ylim(-0.2, 5.2)
    ax.set_title("Grader vs human")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def confusion(human: list[float], grader: list[float]) -> np.ndarray:
    matrix = np.zeros((6, 6), dtype=int)
    for h, g in zip(human, grader, strict=True):
        matrix[int(round(h)), int(round(g))] += 1
    return matrix


def write_report(folder: Path, result, semeval: dict | None, saf: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(r, g) for r, g in zip(result.rows, result.grades, strict=True) if g.score is not None]
    human = [r.grade for r, _ in pairs]
    scores = [g.score for _, g in pairs]
    _scatter(folder / "scatter.png", human, scores)
    matrix = confusion(human, scores)

    m = result.metrics
    lines = [
        f"# Grader evaluation: {result.name}",
        "",
        f"{len(pairs)} answers. Scores are cross-validated by question (each answer scored by a calibration "
        "fitted without its question)."
        if result.name == "dev"
        else f"{len(pairs)} answers.",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {k} | {m[k]:.3f} |" for k in ("pearson", "spearman", "qwk", "mae", "rmse")),
        "",
        "![grader vs human](scatter.png)",
        "",
        "## Confusion matrix (rows: human grade, columns: grader score rounded)",
        "",
        "| human \\ grader | " + " | ".join(str(i) for i in range(6)) + " |",
        "|---" * 7 + "|",
        *(f"| **{i}** | " + " | ".join(str(v) for v in matrix[i]) + " |" for i in range(6)),
        "",
        "## Mean score by category",
        "",
        "| category | n | grader | human |",
        "|---|---|---|---|",
        *(
            f"| {c} | {int(v['n'])} | {v['grader']:.2f} | {v['human']:.2f} |"
            for c, v in result.by_category.items()
        ),
        "",
    ]
    if result.critic_metrics:
        cm = result.critic_metrics
        lines += [
            "## With the critic",
            "",
            "| metric | grader | with critic |",
            "|---|---|---|",
            *(f"| {k} | {m[k]:.3f} | {cm[k]:.3f} |" for k in ("pearson", "spearman", "qwk", "mae", "rmse")),
            "",
        ]
    if semeval:
        lines += [
            "## SemEval-2013 Task 7 (ad-hoc rubric per row from its reference answer)",
            "",
            "| dataset/split | n | 2-way accuracy | 2-way ROC AUC | 3-way macro-F1 |",
            "|---|---|---|---|---|",
            *(
                f"| {k} | {int(v['n'])} | {v['accuracy_2way']:.3f} | {v['roc_auc_2way']:.3f} "
                f"| {v['macro_f1_3way']:.3f} |"
                for k, v in semeval.items()
            ),
            "",
        ]
    if saf:
        lines += [
            "## SAF, communication networks (ad-hoc rubric per row; never trained on these splits)",
            "",
            *saf_table(saf),
            "",
        ]
    worst = sorted(pairs, key=lambda p: -abs(p[1].score - p[0].grade))[:WORST]
    lines += ["## Worst disagreements", ""]
    for row, g in worst:
        answer = " ".join(row.answer.split())
        answer = answer if len(answer) <= 300 else answer[:300] + "…"
        lines += [
            f"### {row.id} — human {row.grade:g}, grader {g.score:.1f} ({row.category})",
            "",
            f"Question `{g.question_id}`. Flags: {', '.join(g.flags) or 'none'}.",
            "",
            f"> {answer or '(empty)'}",
            "",
            f"Why: {g.explanation} Signals: "
            + ", ".join(
                f"{k} {v:.2f}"
                for k, v in g.signals.items()
                if k in ("coverage", "similarity", "question_sim", "judge_coverage", "judge_consistent")
            ),
            "",
        ]
    path = folder / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
