r"""Figures of annealing runs (matplotlib; the backend is matplotlib's choice, e.g. ``MPLBACKEND=Agg``).

The curves of :math:`f[q]` of different models overlap to the eye, so the figure shows what
differs: the distance to the exact free energy (or to the best model at each β when no exact
value is known) on a symmetric-log axis, the sample diagnostics, and :math:`P(q)` when the
run estimated it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from .driver.results import AnnealResult, load_results

__all__ = ["plot_anneal"]


def plot_anneal(
    results: Mapping[str, AnnealResult] | AnnealResult | str | os.PathLike,
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> str:
    r"""Write a PNG of one or several annealing runs; returns ``path``.

    Panels:

    1. :math:`f[q] - f` against β (symmetric-log axis, with the statistical error bars), where
       :math:`f` is the exact free energy when the records carry it; otherwise
       :math:`f[q] - \min_\text{models} f[q]`, the distance to the best variational bound at each β.
    2. The relative error :math:`|f[q] - f|/|f|` (log axis) when exact values are known; otherwise
       the relative difference to the best model.
    3. ESS/M of the importance weights (solid) and the fraction of distinct samples (dashed).
    4. :math:`P(q)` at the last β, when the run estimated overlaps.

    Args:
        results: one :class:`AnnealResult`, a mapping ``label -> AnnealResult``, or the path of
            a JSON file of results (see :func:`netket_arnn.driver.load_results`).
        path: output file (``.png``).
        title: figure title.
    """
    import matplotlib.pyplot as plt

    if isinstance(results, str | os.PathLike):
        results = load_results(results)
    if isinstance(results, AnnealResult):
        results = {results.metadata.get("name", results.metadata.get("model", "model")): results}
    results = {label: res for label, res in results.items() if len(res)}
    if not results:
        raise ValueError("nothing to plot: no records")

    reference, exact = _reference(results)
    overlaps = {label: res[-1].extra["overlaps"] for label, res in results.items() if "overlaps" in res[-1].extra}
    n_panels = 3 + bool(overlaps)
    fig, axes = plt.subplots(1, n_panels, figsize=(4.6 * n_panels, 4.0), constrained_layout=True)
    ax_gap, ax_rel, ax_diag = axes[:3]
    errors = []
    for i, (label, res) in enumerate(results.items()):
        color = f"C{i}"
        beta, f, err = res.betas, res.column("free_energy"), res.column("free_energy_error")
        ref = np.array([reference.get(b, np.nan) for b in beta])
        gap = f - ref
        ax_gap.errorbar(beta, gap, yerr=err, marker="o", ms=3, capsize=2, color=color, label=label)
        rel = np.abs(gap) / np.abs(ref)
        ax_rel.plot(beta, np.where(rel > 0, rel, np.nan), marker="o", ms=3, color=color, label=label)
        ax_diag.plot(beta, res.column("ess") / res.column("n_samples"), marker="o", ms=3, color=color, label=label)
        ax_diag.plot(beta, res.column("distinct_fraction"), ls="--", marker=".", ms=3, color=color)
        errors.extend(err[np.isfinite(err)])
    # Linear within the typical statistical error (noise), logarithmic beyond it.
    typical = float(np.median(errors)) if errors else 0.0
    floor = 1e-9 * max(abs(v) for v in reference.values()) if reference else 1e-12
    ax_gap.set_yscale("symlog", linthresh=max(typical, floor, 1e-15))
    ax_gap.axhline(0.0, color="k", lw=0.6)
    ax_gap.set_xlabel(r"$\beta$")
    ax_gap.set_ylabel(r"$f[q] - f$" if exact else r"$f[q] - \min_{\rm models} f[q]$")
    ax_gap.set_title("distance to the exact free energy" if exact else "distance to the best model", fontsize=10)
    ax_gap.legend(fontsize=8)
    ax_rel.set_yscale("log")
    ax_rel.set_xlabel(r"$\beta$")
    ax_rel.set_ylabel(r"$|f[q] - f|\,/\,|f|$" if exact else r"$|f[q] - f_{\rm best}|\,/\,|f_{\rm best}|$")
    ax_diag.set_ylim(-0.02, 1.05)
    ax_diag.set_xlabel(r"$\beta$")
    ax_diag.set_ylabel("ESS/M (solid), distinct samples/M (dashed)")
    if overlaps:
        ax_pq = axes[3]
        for label, pq in overlaps.items():
            q, p = np.asarray(pq["q"]), np.asarray(pq["probability"])
            ax_pq.step(q, p, where="mid", color=f"C{list(results).index(label)}", label=label)
        ax_pq.set_xlabel(r"overlap $q$")
        ax_pq.set_ylabel(rf"$P(q)$ at $\beta = {next(iter(results.values()))[-1].beta:g}$")
        ax_pq.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


def _reference(results: Mapping[str, AnnealResult]) -> tuple[dict[float, float], bool]:
    """``beta -> f`` (the exact value, else the lowest f[q] over the models), and whether exact."""
    exact = {}
    for res in results.values():
        for r in res:
            if r.exact_free_energy is not None and np.isfinite(r.exact_free_energy):
                exact[r.beta] = r.exact_free_energy
    if exact:
        return exact, True
    best = {}
    for res in results.values():
        for r in res:
            if np.isfinite(r.free_energy):
                best[r.beta] = min(best.get(r.beta, np.inf), r.free_energy)
    return best, False
