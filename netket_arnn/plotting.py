r"""Figures of annealing runs (matplotlib; the backend is matplotlib's choice, e.g. ``MPLBACKEND=Agg``).

The curves of :math:`f[q]` of different models overlap to the eye, so the figure shows what
differs: the distance to the exact free energy (or to the best model at each β when no exact
value is known) on a symmetric-log axis, the relative error, the sample diagnostics, and
:math:`P(q)` when the run estimated it. Every energy is per spin, in units of the coupling
:math:`J` (:math:`k_B = 1`); every curve carries its statistical error bars.
"""

from __future__ import annotations

import json
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
    beta_c: float | None = None,
    metadata: Mapping | None = None,
) -> str:
    r"""Write a PNG of one or several annealing runs; returns ``path``.

    Panels (one legend of the models for all, below them):

    1. :math:`f[q] - f` per spin against β (symmetric-log axis, with the statistical error
       bars), where :math:`f` is the exact free energy when the records carry it; otherwise
       :math:`f[q] - \min_\text{models} f[q]`, the distance to the best variational bound at each β.
    2. The relative error :math:`|f[q] - f|/|f|` (log axis) with its error bar
       :math:`\sigma_{f[q]}/|f|`, when exact values are known; otherwise the relative difference
       to the best model.
    3. ESS/M of the importance weights (solid) and the fraction of distinct samples (dashed),
       where M is the number of fresh samples of each β's estimates.
    4. :math:`P(q)` at the last β, when the run estimated overlaps.

    Args:
        results: one :class:`AnnealResult`, a mapping ``label -> AnnealResult``, or the path of
            a JSON file of results (see :func:`netket_arnn.driver.load_results`).
        path: output file (``.png``).
        title: figure title.
        beta_c: β of the phase transition, marked by a dotted vertical line where given
            (Curie–Weiss :math:`1/J`, SK :math:`1/J`, square-lattice ferromagnet
            :math:`\ln(1+\sqrt 2)/2`).
        metadata: plain values (e.g. the provenance) written into the PNG's text chunks, as
            JSON under ``"Description"``.

    The file is written atomically by :func:`netket_arnn._io.atomic_write`: in a run over several
    JAX processes every process calls this function and process 0 writes the file.
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
    fig, axes = plt.subplots(1, n_panels, figsize=(4.6 * n_panels, 4.4), layout="constrained")
    ax_gap, ax_rel, ax_diag = axes[:3]
    errors, sizes = [], set()
    for i, (label, res) in enumerate(results.items()):
        color = f"C{i}"
        beta, f, err = res.betas, res.column("free_energy"), res.column("free_energy_error")
        ref = np.array([reference.get(b, np.nan) for b in beta])
        gap = f - ref
        ax_gap.errorbar(beta, gap, yerr=err, marker="o", ms=3, capsize=2, color=color, label=label)
        rel, rel_err = np.abs(gap) / np.abs(ref), err / np.abs(ref)
        shown = rel > 0  # a relative error of exactly 0 (an exact model at round-off) has no place on a log axis
        ax_rel.errorbar(
            beta[shown], rel[shown], yerr=rel_err[shown], marker="o", ms=3, capsize=2, color=color, label=label
        )
        ax_diag.plot(beta, res.column("ess_fraction"), marker="o", ms=3, color=color, label=label)
        ax_diag.plot(beta, res.column("distinct_fraction"), ls="--", marker=".", ms=3, color=color)
        errors.extend(err[np.isfinite(err)])
        sizes.update(int(n) for n in res.column("n_samples") if np.isfinite(n))
    # Linear within the typical statistical error (noise), logarithmic beyond it.
    typical = float(np.median(errors)) if errors else 0.0
    floor = 1e-9 * max(abs(v) for v in reference.values()) if reference else 1e-12
    ax_gap.set_yscale("symlog", linthresh=max(typical, floor, 1e-15))
    ax_gap.axhline(0.0, color="k", lw=0.6)
    ax_gap.set_ylabel(
        r"$f[q] - f$ per spin (units of $J$)" if exact else r"$f[q] - \min_{\rm models} f[q]$ per spin (units of $J$)"
    )
    ax_gap.set_title("distance to the exact free energy" if exact else "distance to the best model", fontsize=10)
    ax_rel.set_yscale("log")
    ax_rel.set_ylabel(
        r"relative error $|f[q] - f|\,/\,|f|$" if exact else r"$|f[q] - f_{\rm best}|\,/\,|f_{\rm best}|$"
    )
    ax_rel.set_title("relative error of the free energy per spin", fontsize=10)
    m = f"M = {sizes.pop()}" if len(sizes) == 1 else "M"
    ax_diag.set_ylim(-0.02, 1.05)
    ax_diag.set_ylabel(f"fraction of the {m} samples per β")
    ax_diag.set_title("ESS/M (solid), distinct samples/M (dashed)", fontsize=10)
    for ax in axes[:3]:
        ax.set_xlabel(r"inverse temperature $\beta$ (units of $1/J$)")
        if beta_c is not None:
            ax.axvline(beta_c, color="0.4", ls=":", lw=1.0, label=rf"$\beta_c = {beta_c:.4g}$")
    if overlaps:
        ax_pq = axes[3]
        for label, pq in overlaps.items():
            q, p = np.asarray(pq["q"]), np.asarray(pq["probability"])
            ax_pq.step(q, p, where="mid", color=f"C{list(results).index(label)}", label=label)
        ax_pq.set_xlabel(r"overlap $q$")
        ax_pq.set_ylabel(rf"$P(q)$ at $\beta = {next(iter(results.values()))[-1].beta:g}$")
        ax_pq.set_title("overlap distribution", fontsize=10)
    handles, labels = ax_gap.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: labels[k].startswith(r"$\beta_c"))  # the models first
    handles, labels = [handles[k] for k in order], [labels[k] for k in order]
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=9)
    if title:
        fig.suptitle(title)
    info = {"Software": "netket-arnn"}
    if title:
        info["Title"] = title
    if metadata:
        info["Description"] = json.dumps(dict(metadata), default=str)
    from ._io import atomic_write  # written once (process 0 of a multi-process run), never half-written

    atomic_write(path, lambda f: fig.savefig(f, dpi=120, format="png", metadata=info))
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
