"""Agreement between the grader's scores and human grades."""

from __future__ import annotations

import numpy as np


def agreement(predicted: list[float], human: list[float]) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import cohen_kappa_score

    p, h = np.asarray(predicted, dtype=float), np.asarray(human, dtype=float)
    constant = np.ptp(p) == 0 or np.ptp(h) == 0
    return {
        "n": float(len(p)),
        "pearson": 0.0 if constant else round(float(pearsonr(p, h)[0]), 4),
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
