r"""Fig. 4 of arXiv:2302.08347: the Curie–Weiss model, where the exact answer is known at every N.

What it shows. The Curie–Weiss model :math:`H = -(J/N)\sum_{i<j} x_i x_j` (J = 1, h = 0) has a
closed-form free energy at any N (:func:`netket_arnn.exact.thermodynamics`), so the quality of
a network is its distance :math:`f[q] - f \ge 0` to the exact free energy.

A) :math:`f[q] - f` against β for N = 50, 100, 200 for
   - CW_N (:class:`~netket_arnn.models.CurieWeissARNN`): the exact ARNN of the model, here set to
     its exact parameters at every β (no training), so :math:`f[q] - f` is rounding only;
   - CW_∞ (:class:`~netket_arnn.models.CurieWeissInfARNN`, N + 2 parameters) and 1P
     (:class:`~netket_arnn.models.OneParameterARNN`, one parameter per site), trained;
   - the generic baselines 1L (:class:`~netket_arnn.models.SingleLayerARNN`) and the paper's
     MADE_21 and MADE_22 (:func:`~netket_arnn.models.made`), trained;
B) the mean and the maximum over β of the relative error :math:`|f[q] - f|/|f|` of CW_∞ and 1P
   against N, up to N = 800.

What the paper reported (``examples/data/paper/cw_fig4_summary.csv``): CW_N exact up to float32
sampling noise (:math:`\le 10^{-6}`); CW_∞ mean relative error :math:`7.3\times10^{-4}` at
N = 20 falling to :math:`7.4\times10^{-5}` at N = 800 (its error is a finite-N effect); 1P about
:math:`1.1\times10^{-3}`, flat in N, peaked near the transition β = 1; MADE_22
:math:`\approx 5\times10^{-5}`–:math:`10^{-4}`. The published curves are drawn in the light
shade of each net's colour, ours in the dark shade.

Modes (each writes ``fig4_curie_weiss.csv`` (per β, ours beside the paper's),
``fig4_summary.csv`` (panel B), ``fig4_curie_weiss.json`` and ``fig4_curie_weiss.png`` into
``--out``; every run's records are saved after each β under ``runs/``, so an interrupted
script, run again, continues where it stopped):

- ``--smoke``: about half a minute of CPU time (mostly compilation), N = 10; only checks the
  pipeline.
- default (quick, about 8 minutes on 2 CPU cores): β = 0.1 … 2.0 step 0.1, batch 500, 200 warm-up
  steps and 100 steps per β, Adam with learning rate 1e-2, for 1P and 1L 1e-2·min(1, 50/N) (their
  weights are of order β/N, Adam's steps are not, and a fixed rate drowns them in noise at large
  N; CW_∞ has weights of order one); MADE only at N = 50 (sampling MADE costs a full forward pass
  per site); panel B at N = 20, 50, 100, 200, 400, 800. So short a training is not enough for
  CW_∞ at N = 800, whose transition sharpens with N: its error there is far above the paper's.
- ``--full``: the paper's protocol (Adam 1e-3, batch 2000, β step 0.05, 5000 warm-up steps,
  1020 steps per β, 20,000 final samples), every net at every N: hours, meant for a GPU.
- ``--paper-size``: the paper's largest size, N = 800, with CW_N (its exact parameters), CW_∞ and
  1P trained with the package's natural-gradient protocol (``na.driver.NATURAL``: SR steps of a
  tenth of the Newton step, 87 + 20 steps at every β, a tenth of the paper's samples, see the
  training guide), batch 2000, the paper's grid β = 0.1 … 2.0 step 0.05, 40,000 final samples;
  panel B at N = 800 beside the paper's: about an hour on 2 CPU cores.

    python examples/fig4_curie_weiss.py [--smoke | --full | --paper-size] [--out results/fig4_curie_weiss/quick]
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib.pyplot as plt  # noqa: E402
import netket as nk  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _gallery as gallery  # noqa: E402

import netket_arnn as na  # noqa: E402

NAME = "fig4_curie_weiss"

# The nets of the figure, by their names in the registry (na.net_names()); figures and tables
# use each net's label (net.label: the paper's name). CW_N is not trained: its registry entry
# says that anneal sets its exact parameters at every β (stage "exact").
ALL = ("cw_n", "cw_inf", "1p", "1l", "made_21", "made_22")
CHEAP = ("cw_n", "cw_inf", "1p", "1l")
PANEL_B_NETS = ("cw_inf", "1p")

MODES = {
    "smoke": dict(
        protocol=gallery.Protocol(
            betas=(0.5, 1.0), training=gallery.fixed_steps(3, 3, 1e-2), n_samples=64, n_final_samples=128
        ),
        panel_a={10: ("cw_n", "cw_inf", "1p", "made_21")},
        panel_b=(10,),
    ),
    "quick": dict(
        protocol=gallery.Protocol(
            betas=gallery.grid(0.1, 2.0, 0.1),
            training=gallery.fixed_steps(steps_per_beta=100, warmup_steps=200, lr=1e-2),
            n_samples=500,
            n_final_samples=5000,
        ),
        panel_a={50: ALL, 100: CHEAP, 200: CHEAP},
        panel_b=(20, 50, 100, 200, 400, 800),
        # The weights of 1P and 1L are of order β/N, Adam's steps are not: above N = 50 their
        # learning rate is 1e-2 * 50 / N, so that a step is the same fraction of a weight.
        lr_reference_n=50,
        lr_scaled_nets=("1p", "1l"),
    ),
    "full": dict(
        protocol=gallery.PAPER_PROTOCOL,
        panel_a={50: ALL, 100: ALL, 200: ALL},
        panel_b=(20, 50, 100, 200, 400, 800),
    ),
    # The paper's largest size; CW_∞ and 1P (at most N + 2 parameters) with natural-gradient steps.
    "paper_size": dict(
        protocol=gallery.paper_size_protocol(training=na.driver.NATURAL),
        panel_a={800: ("cw_n", "cw_inf", "1p")},
        panel_b=(800,),
    ),
}


def anneal_net(name: str, n: int, protocol: gallery.Protocol, args) -> na.AnnealResult:
    """Anneal the registry's net ``name`` on the Curie–Weiss model of ``n`` spins (or reuse the finished run)."""
    net = na.get_net(name)
    tag = f"N{n}_{name}"
    settings = {"net": name, "N": n, "protocol": protocol.settings()}
    done = gallery.finished_run(args.out, tag, len(protocol.betas), settings)
    if done is not None:
        return done
    H = na.curie_weiss(n, J=1.0, h=0.0)
    model = net(H, protocol.betas[0])
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert),
        model,
        n_samples=protocol.n_samples,
        chunk_size=net.chunk_size(n),
        seed=0,
    )
    return na.anneal(
        H,
        vstate,
        protocol.betas,
        stage=net.beta_stage,  # "exact" for CW_N: its exact parameters at every β, no training
        exact="auto",  # the closed form of the Curie–Weiss model
        metadata=settings,
        show_progress="table" if args.mode == "smoke" else True,
        **protocol.anneal_options(),
        **gallery.resume_options(args.out, tag, checkpoint_every=gallery.checkpoint_every(args.mode)),
    )


def published():
    """The paper's per-β values ``(net, N) -> {β: row}`` and its panel-B summary ``(net, N) -> row``."""
    table = {}
    for r in gallery.read_paper("cw_table_fig4.csv"):
        table.setdefault((r["net_label"], int(r["N"])), {})[round(float(r["beta"]), 4)] = r
    summary = {(r["net_label"], int(r["N"])): r for r in gallery.read_paper("cw_fig4_summary.csv")}
    return table, summary


def main(argv=None):
    args = gallery.parse_args(__doc__, NAME, argv, paper_size=True)
    mode = MODES[args.mode]
    protocol = mode["protocol"]
    clock = gallery.Clock()
    paper_table, paper_summary = published()

    def protocol_for(n: int, name: str) -> gallery.Protocol:
        ref = mode.get("lr_reference_n")
        if ref is None or n <= ref or name not in mode["lr_scaled_nets"]:
            return protocol
        training = protocol.training
        return replace(protocol, training=training.replace(learning_rate=training.learning_rate * ref / n))

    runs = [(n, name) for n, names in mode["panel_a"].items() for name in names]
    runs += [(n, name) for n in mode["panel_b"] for name in PANEL_B_NETS if (n, name) not in runs]
    per_beta = gallery.RowWriter(
        os.path.join(args.out, f"{NAME}.csv"),
        [
            "net",
            "N",
            "beta",
            "f",
            "f_error",
            "f_exact",
            "gap",
            "relative_error",
            "f_paper",
            "gap_paper",
            "relative_error_paper",
            "steps",
            "wall_time",
        ],
    )
    summary_csv = gallery.RowWriter(
        os.path.join(args.out, "fig4_summary.csv"),
        [
            "net",
            "N",
            "n_parameters",
            "mean_relative_error",
            "max_relative_error",
            "paper_mean_relative_error",
            "paper_max_relative_error",
            "paper_n_parameters",
            "learning_rate",
            "train_seconds",
        ],
    )
    results, summary = {}, []
    for k, (n, name) in enumerate(runs, 1):
        net = na.get_net(name)
        label = net.label
        clock.say(f"run {k}/{len(runs)}: {label} on Curie–Weiss N = {n} ({args.mode} mode)")
        res = anneal_net(name, n, protocol_for(n, name), args)
        results[(name, n)] = res
        paper = paper_table.get((gallery.paper_label(net), n), {})
        for r in res:
            p = paper.get(round(r.beta, 4))
            per_beta.write(
                net=label,
                N=n,
                beta=r.beta,
                f=r.free_energy,
                f_error=r.free_energy_error,
                f_exact=r.exact_free_energy,
                gap=r.free_energy - r.exact_free_energy,
                relative_error=r.relative_error,
                f_paper=None if p is None else float(p["fe"]),
                gap_paper=None if p is None else float(p["fe"]) - float(p["fe_exact"]),
                relative_error_paper=None if p is None else float(p["rel_err"]),
                steps=r.steps,
                wall_time=r.wall_time,
            )
        rel = res.column("relative_error")
        ps = paper_summary.get((gallery.paper_label(net), n), {})
        row = dict(
            net=label,
            N=n,
            n_parameters=res.metadata["n_parameters"],
            mean_relative_error=float(np.mean(rel)),
            max_relative_error=float(np.max(rel)),
            paper_mean_relative_error=float(ps["mean_abs_rel_err"]) if ps else None,
            paper_max_relative_error=float(ps["max_abs_rel_err"]) if ps else None,
            paper_n_parameters=int(float(ps["num_params"])) if ps else None,
            learning_rate=protocol_for(n, name).training.learning_rate,
            train_seconds=float(np.sum(res.column("wall_time"))),
        )
        summary_csv.write(**row)
        summary.append(row)
        gallery.write_json(
            os.path.join(args.out, f"{NAME}.json"),
            {
                "mode": args.mode,
                "protocol": protocol.settings(),
                "seconds": clock(),
                "summary": summary,
                "finished": k == len(runs),
                "paper": gallery.PAPER_CITATION,
            },
        )
    plot(results, paper_table, paper_summary, mode, args, os.path.join(args.out, f"{NAME}.png"))
    clock.say(f"done ({args.mode} mode)")


def plot(results, paper_table, paper_summary, mode, args, path):
    colours = gallery.paired_colours(ALL)
    sizes = list(mode["panel_a"])
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 8.5), constrained_layout=True)
    for ax, n in zip(axes.flat[:3], sizes[:3]):
        for name in ALL:
            net = na.get_net(name)
            label = net.label
            ours, theirs = colours[name]
            paper = paper_table.get((gallery.paper_label(net), n))
            if paper:
                b = np.array(sorted(paper))
                gap = np.array([float(paper[x]["fe"]) - float(paper[x]["fe_exact"]) for x in b])
                ax.plot(b, gap, "--", color=theirs, lw=1.6, label=f"{label} paper")
            res = results.get((name, n))
            if res is not None:
                gap = res.column("free_energy") - res.column("exact_free_energy")
                ax.errorbar(
                    res.betas,
                    gap,
                    yerr=res.column("free_energy_error"),
                    fmt="o-",
                    ms=3,
                    lw=1.2,
                    capsize=2,
                    color=ours,
                    label=f"{label} ours",
                )
        ax.set_yscale("symlog", linthresh=1e-7)
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_xlabel(r"$\beta$")
        ax.set_ylabel(r"$f[q] - f$")
        ax.set_title(f"A) Curie–Weiss N = {n}", fontsize=10)
    axes.flat[0].legend(fontsize=7, ncol=2)
    for ax in axes.flat[len(sizes) : 3]:
        ax.axis("off")
    ax = axes.flat[3]
    for name in PANEL_B_NETS:
        net = na.get_net(name)
        label, published_label = net.label, gallery.paper_label(net)
        ours, theirs = colours[name]
        pn = sorted(n for (lab, n) in paper_summary if lab == published_label)
        ax.plot(
            pn,
            [float(paper_summary[(published_label, n)]["mean_abs_rel_err"]) for n in pn],
            "o--",
            color=theirs,
            label=f"{label} mean, paper",
        )
        ax.plot(
            pn,
            [float(paper_summary[(published_label, n)]["max_abs_rel_err"]) for n in pn],
            "^:",
            color=theirs,
            label=f"{label} max, paper",
        )
        on = sorted(n for (nm, n) in results if nm == name)
        ax.plot(
            on,
            [np.mean(results[(name, n)].column("relative_error")) for n in on],
            "o-",
            color=ours,
            label=f"{label} mean, ours",
        )
        ax.plot(
            on,
            [np.max(results[(name, n)].column("relative_error")) for n in on],
            "^-",
            color=ours,
            label=f"{label} max, ours",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Label the sizes themselves: log-axis minor labels (2×10¹, 3×10¹, ...) overlap.
    panel_b_labels = {gallery.paper_label(na.get_net(name)) for name in PANEL_B_NETS}
    ticks = sorted(
        {n for (nm, n) in results if nm in PANEL_B_NETS} | {n for (lab, n) in paper_summary if lab in panel_b_labels}
    )
    ax.set_xticks(ticks, [str(n) for n in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("N")
    ax.set_ylabel(r"relative error $|f[q] - f|/|f|$ over $\beta$")
    ax.set_title("B) mean and max relative error vs N", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    p = mode["protocol"]
    ref = mode.get("lr_reference_n")
    scaled = ", ".join(na.get_net(name).label for name in mode.get("lr_scaled_nets", ()))
    lr = None if ref is None else f"{p.training.learning_rate:g} ({scaled}: ·min(1, {ref}/N))"
    fig.suptitle(f"Curie–Weiss, {gallery.describe_mode(args.mode, p, lr=lr)}", fontsize=9)
    gallery.save_figure(fig, path, args.mode)


if __name__ == "__main__":
    main()
