"""Agreement between the grader's scores and human grades."""

from __future__ import annotations

import numpy as np


def _constant(p: np.ndarray, h: np.ndarray) -> bool:
    """Fewer than two answers, or either side constant: no correlation to measure."""
    return len(p) < 2 or np.ptp(p) == 0 or np.ptp(h) == 0


def pearson(predicted: list[float], human: list[float]) -> float:
    """Pearson correlation to 4 places; 0 where there is no correlation to measure."""
    from scipy.stats import pearsonr

    p, h = np.asarray(predicted, dtype=float), np.asarray(human, dtype=float)
    return 0.0 if _constant(p, h) else round(float(pearsonr(p, h)[0]), 4)


def agreement(predicted: list[float], human: list[float]) -> dict[str, float]:
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    p, h = np.asarray(predicted, dtype=float), np.asarray(human, dtype=float)
    constant = _constant(p, h)
    return {
        "n": float(len(p)),
        "pearson": pearson(predicted, human),
        "spearman": 0.0 if constant else round(float(spearmanr(p, h)[0]), 4),
        "qwk": round(
            float(
                cohen_kappa_score(
                    np.rint(p).astype(int), np.rint(h).astype(int), weights="quadratic", labels=list(range(6))
                )
            ),
            4,
        ),
        "mae": round(float(np.mean(np.abs(p - h))), 4),
        "rmse": round(float(np.sqrt(np.mean((p - h) ** 2))), 4),
    }


def spearman_within(predicted: list[float], human: list[float], groups: list[str]) -> float | None:
    """Spearman correlation inside each group (a question's answers), averaged weighted by the group's
    size: how well answers to the same question are ranked, apart from how the questions' score levels
    differ. Groups of fewer than 3 answers, or where either side is constant, are left out; None when
    none is left."""
    from scipy.stats import spearmanr

    by_group: dict[str, list[tuple[float, float]]] = {}
    for p, h, g in zip(predicted, human, groups, strict=True):
        by_group.setdefault(g, []).append((p, h))
    total, weight = 0.0, 0
    for pairs in by_group.values():
        p, h = np.array(pairs, dtype=float).T
        if len(pairs) < 3 or np.ptp(p) == 0 or np.ptp(h) == 0:
            continue
        total += float(spearmanr(p, h)[0]) * len(pairs)
        weight += len(pairs)
    return round(total / weight, 4) if weight else None
