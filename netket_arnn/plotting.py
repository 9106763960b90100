"""Figures of annealing runs (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from .driver.anneal import AnnealResult

__all__ = ["plot_anneal"]


def plot_anneal(
    results: Mapping[str, AnnealResult] | AnnealResult,
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> str:
    r"""Write a two-panel PNG: :math:`f[q]` vs β, and its error vs β.

    The second panel shows the relative error :math:`|f[q] - f|/|f|` (with the statistical
    error bar scaled the same way) when the results carry exact values, otherwise the
    statistical error of :math:`f[q]` alone. Returns ``path``.

    Args:
        results: one :class:`AnnealResult` or a mapping ``label -> AnnealResult``.
        path: output file (``.png``).
        title: figure title.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if isinstance(results, AnnealResult):
        results = {results.metadata.get("model", "model"): results}
    if not results:
        raise ValueError("nothing to plot: results is empty")

    fig, (ax_f, ax_err) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    exact_drawn = False
    any_exact = any(np.isfinite(r.column("exact_free_energy")).any() for r in results.values())
    for label, res in results.items():
        beta, f, err = res.betas, res.column("free_energy"), res.column("free_energy_error")
        exact = res.column("exact_free_energy")
        ax_f.errorbar(beta, f, yerr=err, marker="o", ms=3, capsize=2, label=label)
        if not exact_drawn and np.isfinite(exact).any():
            ax_f.plot(beta, exact, "kx--", lw=0.8, ms=5, label="exact", zorder=3)
            exact_drawn = True
        if any_exact:
            rel = res.column("relative_error")
            rel_err = err / np.abs(exact)
            # On a log axis a bar reaching below zero is drawn to -inf: clip its lower half.
            lower = np.minimum(rel_err, 0.9 * rel)
            ax_err.errorbar(beta, rel, yerr=[lower, rel_err], marker="o", ms=3, capsize=2, label=label)
        else:
            ax_err.plot(beta, err, marker="o", ms=3, label=label)
    ax_f.set_xlabel(r"$\beta$")
    ax_f.set_ylabel(r"$f[q] = F[q]/N$")
    ax_f.legend(fontsize=8)
    ax_err.set_xlabel(r"$\beta$")
    ax_err.set_yscale("log")
    ax_err.set_ylabel(r"$|f[q] - f| \,/\, |f|$" if any_exact else r"statistical error of $f[q]$")
    ax_err.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
