r"""Beyond the paper: sparse SK_kRSB on a 2D Edwards–Anderson spin glass, against MADE.

What it shows. The 2D Edwards–Anderson model (Gaussian couplings on the edges of an L × L square
lattice with open boundaries, :func:`netket_arnn.edwards_anderson`) has N = L² spins but only
about 2N couplings. :class:`~netket_arnn.models.SpinGlassARNN` built on a sparse Hamiltonian
keeps hidden units only for the "frontier" pairs of the lattice (a site and the unsampled sites
its sampled neighbours couple to), so its size grows like N·L instead of N²
(:func:`~netket_arnn.models.spin_glass_n_params`). It is compared with the paper's generic MADE
baseline of at least the same parameter count (:func:`~netket_arnn.models.made_width_for`; at
these sizes even the narrowest MADE, width 1, is several times larger than the sparse net, and
its sampling costs a full forward pass per site).

The reference is exact where it can be: the transfer matrix of the lattice
(:func:`netket_arnn.exact.thermodynamics`, which :func:`netket_arnn.anneal` calls by itself,
:math:`O(L^2 2^L)` per β) gives the free energy of any L × L lattice up to L = 20
(:data:`netket_arnn.exact.MAX_TRANSFER_WIDTH`), far beyond enumeration (N ≤ 30). Beyond it
(the full mode's L = 32 and 64) the reference at each β is the importance-weighted estimate
:math:`-\log \hat Z/(\beta N)` (:func:`netket_arnn.observables.log_z_importance`) of the net with
the largest effective sample size, and only where that ESS/M is at least
:data:`MIN_REFERENCE_ESS`: a net whose weights have collapsed (ESS/M ≈ 0) gives no reference,
and that β is left without one. The panels show (a) the distance :math:`f[q] - f` of each net's
variational free energy to the reference (:math:`\ge 0` against the exact f: every
:math:`f[q]` is an upper bound), (b) the effective sample size of the importance weights
:math:`p/q` (1 when :math:`q = p`), (c) parameters and seconds per training step. The paper has
no such experiment: there are no published numbers to draw beside ours.

The nets come from the registry (``sk_rs_sparse``, ``sk_1rsb_sparse``); the MADE of matching
size is registered here when the package has none of that width
(:func:`netket_arnn.register_net`).

Modes (each writes ``edwards_anderson_sparse.csv`` (per net and β), ``edwards_anderson_sparse.json``
and ``.png`` into ``--out``; runs are saved after each β under ``runs/`` and reused when the
script is run again):

- ``--smoke``: about a minute of CPU time (mostly compilation), L = 4; only checks the pipeline.
- default (quick, about 5 minutes on 2 CPU cores): L = 16 (N = 256), seed 1; SK_RS and SK_1RSB
  sparse against MADE; β = 0.25 … 2.0 step 0.25, Adam 1e-2, batch 256, 160 warm-up steps and
  40 steps per β. So short a training shows the head start of the physics nets, whose first
  layer is the couplings: MADE, started from NetKet's random initialisation, is still above the
  free energy of the uniform distribution at small β, and SK_1RSB, with more parameters to
  train, is still behind SK_RS.
- ``--full``: the paper's protocol (Adam 1e-3, batch 2000, β = 0.1 … 2.0 step 0.05, 5000 warm-up
  steps, 1020 steps per β, 20,000 final samples) at L = 32 and 64; MADE only at L = 32 (at
  L = 64 its narrowest version has 50 million parameters and each sample costs 4096 forward
  passes): meant for a GPU.

    python examples/edwards_anderson_sparse.py [--smoke | --full] [--out results/edwards_anderson_sparse/quick]
"""

from __future__ import annotations

import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib.pyplot as plt  # noqa: E402
import netket as nk  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _gallery as gallery  # noqa: E402

import netket_arnn as na  # noqa: E402
from netket_arnn.models import made_n_params, made_width_for, spin_glass_n_params  # noqa: E402

NAME = "edwards_anderson_sparse"
SEED = 1
#: Smallest ESS/M for a net's importance-weighted free energy to serve as the reference where no
#: exact one exists: below it the weights are dominated by a few samples and the estimate is biased.
MIN_REFERENCE_ESS = 0.1
EXACT = "exact (netket_arnn.exact.thermodynamics)"

MODES = {
    "smoke": dict(
        sizes=(4,),
        made_sizes=(4,),
        protocol=gallery.Protocol(
            betas=(0.5, 1.0), training=gallery.fixed_steps(2, 2, 1e-2), n_samples=64, n_final_samples=128
        ),
    ),
    "quick": dict(
        sizes=(16,),
        made_sizes=(16,),
        protocol=gallery.Protocol(
            betas=gallery.grid(0.25, 2.0, 0.25),
            training=gallery.fixed_steps(steps_per_beta=40, warmup_steps=160, lr=1e-2),
            n_samples=256,
            n_final_samples=4000,
        ),
    ),
    "full": dict(sizes=(32, 64), made_sizes=(32,), protocol=gallery.PAPER_PROTOCOL),
}


def lattice(L: int):
    """The Edwards–Anderson instance on an L × L open lattice (Gaussian couplings, seed 1)."""
    return na.edwards_anderson(nk.graph.Grid(extent=[L, L], pbc=False), couplings="gaussian", seed=SEED)


def nets_for(H, with_made: bool) -> dict:
    """registry name -> parameter count of the nets compared on ``H``."""
    nets = {f"{name}_sparse": spin_glass_n_params(H, k) for k, name in ((0, "sk_rs"), (1, "sk_1rsb"))}
    if with_made:
        # The narrowest MADE (depth 2) with at least as many parameters as sparse SK_1RSB.
        width = made_width_for(H.n_sites, spin_glass_n_params(H, 1), depth=2)
        nets[gallery.made_net(2, width).name] = made_n_params(H.n_sites, 2, width)
    return nets


def anneal_net(L: int, name: str, protocol: gallery.Protocol, args) -> na.AnnealResult:
    net = na.get_net(name)
    tag = f"L{L}_{name}"
    settings = {"net": name, "L": L, "N": L * L, "seed": SEED, "protocol": protocol.settings()}
    done = gallery.finished_run(args.out, tag, len(protocol.betas), settings)
    if done is not None:
        return done
    H = lattice(L)
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert),
        net(H, protocol.betas[0]),
        n_samples=protocol.n_samples,
        chunk_size=net.chunk_size(L * L),
        seed=0,
    )
    return na.anneal(
        H,
        vstate,
        protocol.betas,
        stage=net.beta_stage,
        exact="auto",  # the transfer matrix up to L = 20, enumeration for N <= 30
        metadata=settings,
        show_progress="table" if args.mode == "smoke" else True,
        **protocol.anneal_options(),
        **gallery.resume_options(args.out, tag, checkpoint_every=gallery.checkpoint_every(args.mode)),
    )


def main(argv=None):
    args = gallery.parse_args(__doc__, NAME, argv)
    mode = MODES[args.mode]
    protocol = mode["protocol"]
    clock = gallery.Clock()
    writer = gallery.RowWriter(
        os.path.join(args.out, f"{NAME}.csv"),
        [
            "L",
            "N",
            "net",
            "n_parameters",
            "beta",
            "f",
            "f_error",
            "f_reference",
            "f_reference_error",
            "reference",
            "gap_to_reference",
            "ess_fraction",
            "distinct_fraction",
            "f_exact",
            "steps",
            "wall_time",
            "seconds_per_step",
        ],
    )
    results, info, references = {}, [], {}
    for L in mode["sizes"]:
        H = lattice(L)
        nets = nets_for(H, L in mode["made_sizes"])
        for name, n_params in nets.items():
            clock.say(
                f"{na.get_net(name).label} on the {L}x{L} Edwards–Anderson lattice (N = {L * L}, "
                f"{n_params} parameters, {args.mode} mode)"
            )
            results[(L, name)] = anneal_net(L, name, protocol, args)
        ref = references[L] = reference([results[(L, name)] for name in nets])
        for name, n_params in nets.items():
            label = na.get_net(name).label
            res = results[(L, name)]
            steps, wall = res.column("steps"), res.column("wall_time")
            per_step = float(np.sum(wall[1:]) / max(np.sum(steps[1:]), 1)) if len(res) > 1 else float("nan")
            info.append(
                dict(
                    L=L,
                    N=L * L,
                    net=label,
                    name=name,
                    n_parameters=n_params,
                    seconds_per_step=per_step,
                    train_seconds=float(np.sum(wall)),
                )
            )
            for r, f_ref, f_ref_error, kind in zip(res, *ref):
                writer.write(
                    L=L,
                    N=L * L,
                    net=label,
                    n_parameters=n_params,
                    beta=r.beta,
                    f=r.free_energy,
                    f_error=r.free_energy_error,
                    f_reference=f_ref,
                    f_reference_error=f_ref_error,
                    reference=kind,
                    gap_to_reference=r.free_energy - f_ref,
                    ess_fraction=r.ess_fraction,
                    distinct_fraction=r.distinct_fraction,
                    f_exact=r.exact_free_energy,
                    steps=r.steps,
                    wall_time=r.wall_time,
                    seconds_per_step=per_step,
                )
        gallery.write_json(
            os.path.join(args.out, f"{NAME}.json"),
            {
                "mode": args.mode,
                "protocol": protocol.settings(),
                "seed": SEED,
                "seconds": clock(),
                "nets": info,
                "reference": {f"L{L}": sorted(set(ref[2])) for L, ref in references.items()},
                "min_reference_ess": MIN_REFERENCE_ESS,
            },
        )
    plot(results, references, info, mode, args, os.path.join(args.out, f"{NAME}.png"))
    clock.say(f"done ({args.mode} mode)")


def reference(runs: list[na.AnnealResult]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    r"""The reference free energy per β of one lattice: ``(f, its error, what it is)``.

    The exact f where ``anneal`` found one (the transfer matrix); else the importance-weighted
    :math:`f = -\log\hat Z/(\beta N)` of the run with the largest ESS/M at that β, if that ESS/M
    is at least :data:`MIN_REFERENCE_ESS`; else ``nan`` ("none").
    """
    n_sites = int(runs[0].metadata["n_sites"])
    f, error, kind = [], [], []
    for records in zip(*runs):
        exact = records[0].exact_free_energy
        if exact is not None:
            f.append(exact), error.append(0.0), kind.append(EXACT)
            continue
        best = max(records, key=lambda r: r.ess_fraction)
        scale = -1.0 / (best.beta * n_sites)
        if best.ess_fraction >= MIN_REFERENCE_ESS and np.isfinite(best.log_z_total):
            f.append(scale * best.log_z_total), error.append(abs(scale) * best.log_z_total_error)
            kind.append("importance-weighted log Z of the net with the largest ESS")
        else:
            f.append(np.nan), error.append(np.nan), kind.append("none (every ESS/M below the threshold)")
    return np.array(f), np.array(error), kind


def plot(results, references, info, mode, args, path):
    names = list(dict.fromkeys(name for _, name in results))
    colours = gallery.paired_colours(names)
    fig, (ax_gap, ax_ess, ax_cost) = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    styles = dict(zip(mode["sizes"], ("o-", "s--", "^:")))
    kinds = set()
    for L in mode["sizes"]:
        here = [name for name in names if (L, name) in results]
        f_ref, _, kind = references[L]
        kinds |= set(kind)
        for name in here:
            label = na.get_net(name).label
            res = results[(L, name)]
            c = colours[name][0]
            ax_gap.errorbar(
                res.betas,
                res.column("free_energy") - f_ref,
                yerr=res.column("free_energy_error"),
                fmt=styles[L],
                ms=3,
                capsize=2,
                color=c,
                label=f"{label}, L = {L}",
            )
            ax_ess.plot(
                res.betas,
                res.column("ess_fraction"),
                styles[L],
                ms=3,
                color=c,
                label=f"{label}, L = {L}",
            )
    ax_gap.set_yscale("symlog", linthresh=1e-5)
    ax_gap.set_xlabel(r"$\beta$")
    ax_gap.set_ylabel(r"$f[q] - f_{\rm ref}$")
    exact_only = kinds == {EXACT}
    ax_gap.set_title(
        "(a) distance to the exact f\n(enumeration up to N = 30, transfer matrix up to L = 20)"
        if exact_only
        else "(a) distance to the reference f\n(exact where known, else importance-weighted, best ESS)",
        fontsize=10,
    )
    ax_gap.legend(fontsize=7)
    ax_ess.set_xlabel(r"$\beta$")
    ax_ess.set_ylabel("ESS / M of the weights p/q")
    ax_ess.set_ylim(0, 1.05)
    ax_ess.set_title("(b) effective sample size (1: q = p)", fontsize=10)
    x = np.arange(len(info))
    ax_cost.bar(x, [row["n_parameters"] for row in info], color=[colours[row["name"]][0] for row in info])
    ax_cost.set_yscale("log")
    ax_cost.set_xticks(x, [f"{row['net']}\nL = {row['L']}" for row in info], fontsize=7)
    ax_cost.set_ylabel("parameters (bars)")
    twin = ax_cost.twinx()
    twin.plot(x, [row["seconds_per_step"] for row in info], "k*", ms=9)
    twin.set_ylabel("seconds per training step (stars)")
    ax_cost.set_title("(c) size and cost", fontsize=10)
    fig.suptitle(
        f"2D Edwards–Anderson, Gaussian couplings, seed {SEED}; "
        + gallery.describe_mode(args.mode, mode["protocol"]).split("\n")[0],
        fontsize=9,
    )
    gallery.save_figure(fig, path, args.mode)


if __name__ == "__main__":
    main()
