r"""Fig. 5 of arXiv:2302.08347: the SK spin glass, networks against SK_2RSB and against the exact answer.

What it shows.

A) The paper's figure, at the paper's sizes: on the published SK instances
   (``na.sherrington_kirkpatrick(N, seed=s)`` reproduces the couplings of the paper bit for bit),
   the relative difference :math:`(f[q_\text{net}] - f[q_\text{2RSB}])/|f[q_\text{2RSB}]|` of
   SK_RS, SK_1RSB (:class:`~netket_arnn.models.SpinGlassARNN` with k = 0, 1), 1L
   (:class:`~netket_arnn.models.SingleLayerARNN`), MADE_23 and MADE_32
   (:func:`~netket_arnn.models.made`) to SK_2RSB (k = 2), averaged over seeds, against β. Ours
   and the paper's are drawn on the same instances (same N, same seeds), so the curves compare
   like with like. No exact free energy is known at these sizes: SK_2RSB, the best net, is the
   reference.
B) What the paper could not do: at N ≤ 24 the exact free energy is known by enumeration
   (:func:`netket_arnn.exact.thermodynamics`), so every net, SK_2RSB included, gets its true
   relative error :math:`|f[q] - f|/|f|`; the bar chart sets it beside the relative difference to
   SK_2RSB that panel A measures.

The nets are built from the registry by name (:func:`netket_arnn.build_net`: ``sk_rs``,
``sk_1rsb``, ``sk_2rsb``, ``1l``, ``made_23``, ``made_32``) and annealed with the stage the
registry gives them.

What the paper reported (``examples/data/paper/sk_fig5_summary.csv``, mean over 10 seeds):
SK_1RSB within :math:`\sim 5\times10^{-5}` of SK_2RSB (e.g. :math:`2.4\times10^{-5}` at N = 200,
β = 1.3), while SK_RS, 1L and MADE_32 stay at :math:`1`–:math:`2\times10^{-3}` and MADE_23 at
:math:`0.6`–:math:`1.2\times10^{-3}` around β = 1.3–1.5: the nets derived from the replica
solution need fewer parameters for a better free energy. The published seed-averaged curves
(with standard errors over seeds) are drawn in the light shade of each net's colour, ours in the
dark shade. The paper's N = 50 runs are its repository's data (the published figure used a
later rerun that is not in the repository).

Modes (each writes ``fig5_sherrington_kirkpatrick.csv`` (per instance and β, with the paper's
value for the same instance), ``fig5_summary.csv`` (seed averages), ``fig5_sherrington_kirkpatrick.json``
and ``.png`` into ``--out``; every run's records are saved after each β under ``runs/``, so an
interrupted script, run again, continues where it stopped):

- ``--smoke``: about a minute and a half on 2 CPU cores; panel A at N = 50 (seed 1, the
  paper's curves of that instance beside ours), panel B at N = 12, one net of each kind and a
  few steps: only checks the pipeline.
- default (quick, about 15 minutes on 2 CPU cores): A) N = 50, seed 1, beside the paper's runs
  on that instance; B) N = 20, seeds 1, 2 and 3; β = 0.1 … 1.9 step 0.2, Adam 1e-2, batch 500,
  500 warm-up steps and 250 steps per β. With such short training the nets are not converged
  (SK_kRSB, with the most parameters, needs the longest): their relative errors against the
  exact f are some 10 times the paper's; panel B shows it, the difference to SK_2RSB hides it.
- ``--full``: the paper's protocol (Adam 1e-3, batch 2000, β step 0.05, 5000 warm-up steps,
  1020 steps per β, 20,000 final samples) on N = 50, 100, 200 and seeds 1 … 10, and B) at N = 24
  with seeds 1 … 10: days on a CPU, meant for a GPU.
- ``--paper-size``: panel A only, at the paper's sizes on its instances N = 100 seeds 1, 2, 3
  and N = 200 seed 1, with SK_RS, SK_1RSB, SK_2RSB, 1L and MADE_23 trained with the package's
  ``tracking`` protocol (``na.driver.TRACKING``: a tenth of the paper's samples, 27 steps at
  the full learning rate and 80 along a decay at every β, from β = 1 on at three times the rate,
  starting each β from the previous one's trend, in four times the steps of a quarter of the
  batch up to β = 1.5 and twice the steps of half the batch beyond, see the training guide; at
  N = 200 the ``settled`` protocol, ``na.driver.SETTLED``, as ``tracking`` below β = 1: the
  faster rates from β = 1 on, chosen at N = 100, make f[q] diverge at N = 200),
  batch 2000, the paper's grid β = 0.1 … 2.0 step 0.05, 40,000 final samples,
  beside the paper's runs on the same instances: hours, meant for a GPU.

    python examples/fig5_sherrington_kirkpatrick.py [--smoke | --full | --paper-size] [--out OUT]
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

NAME = "fig5_sherrington_kirkpatrick"
# The nets by their registry names (na.net_names()); figures and tables use net.label, the
# paper's name. SK_2RSB, the best net, is the paper's reference.
NETS = ("sk_rs", "sk_1rsb", "sk_2rsb", "1l", "made_23", "made_32")
REFERENCE = "sk_2rsb"


def label(name: str) -> str:
    return na.get_net(name).label


def compared(mode) -> list[str]:
    """The nets of a mode that are compared with the reference SK_2RSB."""
    return [name for name in mode["nets"] if name != REFERENCE]


PUBLISHED_SIZES = (50, 100, 200)

MODES = {
    "smoke": dict(
        protocol=gallery.Protocol(
            betas=(0.5, 1.0), training=gallery.fixed_steps(2, 2, 3e-2), n_samples=64, n_final_samples=128
        ),
        # Panel A at the paper's smallest size, so that the overlay of the published curves runs
        # too; panel B where enumeration is instant.
        relative={50: (1,)},
        exact={12: (1,)},
        # One net per class (SpinGlassARNN, SingleLayerARNN, made) and the reference.
        nets=("sk_rs", "sk_2rsb", "1l", "made_32"),
    ),
    "quick": dict(
        protocol=gallery.Protocol(
            betas=gallery.grid(0.1, 1.9, 0.2),
            training=gallery.fixed_steps(steps_per_beta=250, warmup_steps=500, lr=1e-2),
            n_samples=500,
            n_final_samples=4000,
        ),
        # A: the paper's smallest size, N = 50, on the paper's instance seed 1, beside the
        # paper's runs on that same instance; B: N = 20, where the exact f is known.
        relative={50: (1,)},
        exact={20: (1, 2, 3)},
        nets=NETS,
    ),
    "full": dict(
        protocol=gallery.PAPER_PROTOCOL,
        relative={n: tuple(range(1, 11)) for n in PUBLISHED_SIZES},
        exact={24: tuple(range(1, 11))},
        nets=NETS,
    ),
    # Panel A at the paper's sizes with the tracking protocol (na.driver.TRACKING), at N = 200 the
    # settled one (TRACKING's rates from β = 1 on, chosen at N = 100, diverge there); no panel B
    # (its N = 24 is no paper size).
    "paper_size": dict(
        protocol=gallery.paper_size_protocol(),
        protocol_at={200: gallery.paper_size_protocol(training=na.driver.SETTLED)},
        relative={100: (1, 2, 3), 200: (1,)},
        exact={},
        nets=("sk_rs", "sk_1rsb", "sk_2rsb", "1l", "made_23"),
    ),
}


def anneal_net(name: str, n: int, seed: int, protocol: gallery.Protocol, args) -> na.AnnealResult:
    """Anneal the registry's net ``name`` on the SK instance (n, seed) (or reuse the finished run).

    For n <= 30 ``anneal`` adds the exact free energy by enumeration to every record.
    """
    net = na.get_net(name)
    tag = f"N{n}_seed{seed}_{name}"
    settings = {"net": name, "N": n, "seed": seed, "protocol": protocol.settings()}
    done = gallery.finished_run(args.out, tag, len(protocol.betas), settings)
    if done is not None:
        return done
    H = na.sherrington_kirkpatrick(n, seed=seed)  # the paper's instance, bit for bit
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert),
        net(H, protocol.betas[0]),
        n_samples=protocol.n_samples,
        chunk_size=net.chunk_size(n),
        seed=0,
    )
    return na.anneal(
        H,
        vstate,
        protocol.betas,
        stage=net.beta_stage,
        exact="auto",  # enumeration when N <= 30, else no exact value
        metadata=settings,
        show_progress="table" if args.mode == "smoke" else True,
        **protocol.anneal_options(),
        **gallery.resume_options(args.out, tag, checkpoint_every=gallery.checkpoint_every(args.mode)),
    )


def published():
    """The paper's ``rel_diff_to_2rsb`` and f: ``(N, seed, net) -> {β: (f, rel_diff)}``."""
    table = {}
    for r in gallery.read_paper("sk_table_fig5.csv"):
        key = (int(r["N"]), int(r["seed"]), r["net_label"])
        table.setdefault(key, {})[round(float(r["beta"]), 4)] = (float(r["fe"]), float(r["rel_diff_to_2rsb"]))
    return table


def betas_of(paper, n: int, net: str) -> list[float]:
    """Every β at which the paper has a run of net ``net`` (its label) at size ``n``."""
    return sorted({b for (nn, _, lab), v in paper.items() if nn == n and lab == net for b in v})


def seed_average(values: list[float]) -> tuple[float, float]:
    """Mean and standard error over seeds (error nan for one seed)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def paper_average(paper, n: int, net: str, betas, seeds=None) -> dict:
    """β -> (mean, sem, n_seeds) of the paper's relative difference of net ``net`` (its label) over
    ``seeds`` (default: all the paper's seeds at ``n``), skipping seeds the paper has no run of."""
    have = {s for (nn, s, lab) in paper if nn == n and lab == net}
    seeds = sorted(have if seeds is None else have & set(seeds))
    out = {}
    for b in betas:
        vals = [paper[(n, s, net)][b][1] for s in seeds if b in paper[(n, s, net)]]
        if vals:
            out[b] = (*seed_average(vals), len(vals))
    return out


def main(argv=None):
    args = gallery.parse_args(__doc__, NAME, argv, paper_size=True)
    mode = MODES[args.mode]
    protocol = mode["protocol"]
    betas = [round(b, 4) for b in protocol.betas]
    clock = gallery.Clock()
    paper = published()

    instances = sorted({(n, s) for part in ("relative", "exact") for n, seeds in mode[part].items() for s in seeds})
    per_beta = gallery.RowWriter(
        os.path.join(args.out, f"{NAME}.csv"),
        [
            "N",
            "seed",
            "net",
            "beta",
            "f",
            "f_error",
            "f_exact",
            "relative_error",
            "rel_diff_to_2rsb",
            "f_paper",
            "rel_diff_to_2rsb_paper",
            "n_parameters",
            "steps",
            "wall_time",
        ],
    )
    results, n_params = {}, {}
    total, k = len(instances) * len(mode["nets"]), 0
    for n, seed in instances:
        for name in mode["nets"]:
            k += 1
            clock.say(f"run {k}/{total}: {label(name)} on SK N = {n}, seed {seed} ({args.mode} mode)")
            sized = mode.get("protocol_at", {}).get(n, protocol)
            results[(n, seed, name)] = anneal_net(name, n, seed, sized, args)
            n_params[(n, name)] = results[(n, seed, name)].metadata["n_parameters"]
        ref = results[(n, seed, REFERENCE)].column("free_energy")
        for name in mode["nets"]:
            res = results[(n, seed, name)]
            mine = paper.get((n, seed, label(name)), {})
            for r, f_ref in zip(res, ref):
                p = mine.get(round(r.beta, 4))
                per_beta.write(
                    N=n,
                    seed=seed,
                    net=label(name),
                    beta=r.beta,
                    f=r.free_energy,
                    f_error=r.free_energy_error,
                    f_exact=r.exact_free_energy,
                    relative_error=r.relative_error,
                    rel_diff_to_2rsb=(r.free_energy - f_ref) / abs(f_ref),
                    f_paper=None if p is None else p[0],
                    rel_diff_to_2rsb_paper=None if p is None else p[1],
                    n_parameters=res.metadata["n_parameters"],
                    steps=r.steps,
                    wall_time=r.wall_time,
                )
        gallery.write_json(
            os.path.join(args.out, f"{NAME}.json"),
            {
                "mode": args.mode,
                "protocol": protocol.settings(),
                "seconds": clock(),
                "finished": False,
                "instances_done": [[nn, s] for nn, s in instances if (nn, s, REFERENCE) in results],
            },
        )

    summary = summarise(results, paper, mode, betas, n_params, args.out)
    headline = headline_values(summary)
    for row in headline:
        print(
            f"N = {row['N']:3d}  β = {row['beta']:g}  {row['net']:8s} ours {row['ours']:+.2e} ± {row['ours_sem']:.1e}"
            f"   paper {row['paper']:+.2e} ± {row['paper_sem']:.1e}",
            flush=True,
        )
    gallery.write_json(
        os.path.join(args.out, f"{NAME}.json"),
        {
            "mode": args.mode,
            "protocol": protocol.settings(),
            "seconds": clock(),
            "finished": True,
            "instances": instances,
            "n_parameters": {f"N{n}_{label(name)}": v for (n, name), v in n_params.items()},
            "headline": headline,
            "summary": summary,
            "paper": gallery.PAPER_CITATION,
        },
    )
    plot(results, paper, mode, args, betas, os.path.join(args.out, f"{NAME}.png"))
    clock.say(f"done ({args.mode} mode)")


def rel_diff(results, n, seed, name) -> np.ndarray:
    f = results[(n, seed, name)].column("free_energy")
    ref = results[(n, seed, REFERENCE)].column("free_energy")
    return (f - ref) / np.abs(ref)


def summarise(results, paper, mode, betas, n_params, out) -> list[dict]:
    """Seed averages per (N, net, β) of panel A (with the paper's) and of panel B; also written as CSV."""
    writer = gallery.RowWriter(
        os.path.join(out, "fig5_summary.csv"),
        [
            "part",
            "N",
            "net",
            "beta",
            "n_seeds",
            "mean",
            "sem",
            "paper_mean",
            "paper_sem",
            "paper_n_seeds",
            "n_parameters",
        ],
    )
    rows = []
    for n, seeds in mode["relative"].items():
        for name in compared(mode):
            diffs = np.array([rel_diff(results, n, s, name) for s in seeds])
            theirs = paper_average(paper, n, label(name), betas, seeds)
            for j, b in enumerate(betas):
                mean, sem = seed_average(diffs[:, j])
                p = theirs.get(b, (None, None, None))
                rows.append(
                    dict(
                        part="A: rel. diff. to SK_2RSB",
                        N=n,
                        net=label(name),
                        beta=b,
                        n_seeds=len(seeds),
                        mean=mean,
                        sem=sem,
                        paper_mean=p[0],
                        paper_sem=p[1],
                        paper_n_seeds=p[2],
                        n_parameters=n_params[(n, name)],
                    )
                )
    for n, seeds in mode["exact"].items():
        for name in mode["nets"]:
            errs = np.array([results[(n, s, name)].column("relative_error") for s in seeds])
            for j, b in enumerate(betas):
                mean, sem = seed_average(errs[:, j])
                rows.append(
                    dict(
                        part="B: rel. error to exact",
                        N=n,
                        net=label(name),
                        beta=b,
                        n_seeds=len(seeds),
                        mean=mean,
                        sem=sem,
                        n_parameters=n_params[(n, name)],
                    )
                )
    for row in rows:
        writer.write(**row)
    return rows


def headline_values(summary) -> list[dict]:
    """Our seed-averaged relative difference to SK_2RSB at the β of the published summary, beside it."""
    published_summary = {
        (int(r["N"]), r["net_label"]): r
        for r in gallery.read_paper("sk_fig5_summary.csv")
        if r["subset"] == "all_repo_data"
    }
    rows = []
    for r in summary:
        p = published_summary.get((r["N"], r["net"]))
        b = f"b{r['beta']:.1f}"  # the summary's columns: rel_b1.0, sem_b1.0, rel_b1.3, ...
        if r["part"].startswith("A") and p is not None and f"rel_{b}" in p and abs(float(b[1:]) - r["beta"]) < 1e-9:
            rows.append(
                dict(
                    N=r["N"],
                    beta=r["beta"],
                    net=r["net"],
                    ours=r["mean"],
                    ours_sem=r["sem"],
                    n_seeds=r["n_seeds"],
                    paper=float(p[f"rel_{b}"]),
                    paper_sem=float(p[f"sem_{b}"]),
                    paper_n_seeds=int(p["n_seeds"]),
                )
            )
    return rows


def plot(results, paper, mode, args, betas, path):
    colours = gallery.paired_colours(mode["nets"])
    # Panel A compares at equal N only: one panel per size we ran, with the paper's runs on the
    # same instances (same N, same seeds) where the paper has them.
    sizes = sorted(mode["relative"])
    fig = plt.figure(figsize=(4.6 * max(len(sizes), 2.6), 8.8 if mode["exact"] else 4.6), constrained_layout=True)
    top, bottom = fig.subfigures(2, 1) if mode["exact"] else (fig, None)
    axes = top.subplots(1, len(sizes), sharey=True, squeeze=False)[0]
    for ax, n in zip(axes, sizes):
        seeds = mode["relative"][n]
        with_paper = False
        for name in compared(mode):
            ours, theirs = colours[name]
            pb = paper_average(paper, n, label(name), betas_of(paper, n, label(name)), seeds)
            if pb:
                with_paper = True
                b = np.array(sorted(pb))
                ax.errorbar(
                    b,
                    [pb[x][0] for x in b],
                    yerr=[0 if np.isnan(pb[x][1]) else pb[x][1] for x in b],
                    fmt="--",
                    color=theirs,
                    lw=1.4,
                    capsize=1.5,
                    label=f"{label(name)} paper",
                )
            diffs = np.array([rel_diff(results, n, s, name) for s in seeds])
            stats = [seed_average(diffs[:, j]) for j in range(len(betas))]
            ax.errorbar(
                betas,
                [m for m, _ in stats],
                yerr=[0 if np.isnan(e) else e for _, e in stats],
                fmt="o-",
                ms=3,
                color=ours,
                capsize=2,
                label=f"{label(name)} ours",
            )
        instances = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
        whose = (
            f"ours and the paper's runs, {instances}"
            if with_paper
            else f"ours, {instances}; no published run at this N"
        )
        ax.set_title(f"A) SK N = {n} ({whose})", fontsize=10)
        ax.set_yscale("symlog", linthresh=1e-5)
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_xlabel(r"$\beta$")
        ax.legend(fontsize=7, ncol=2)
    axes[0].set_ylabel(r"$(f[q] - f[q_{\rm 2RSB}])\,/\,|f[q_{\rm 2RSB}]|$")

    if bottom is not None:
        plot_exact(bottom, results, mode, betas, colours)
    fig.suptitle(f"Sherrington–Kirkpatrick, {gallery.describe_mode(args.mode, mode['protocol'])}", fontsize=9)
    gallery.save_figure(fig, path, args.mode)


def plot_exact(fig, results, mode, betas, colours):
    """Panel B: the relative error to the exact f by enumeration, and what the difference to SK_2RSB misses."""
    ax_err, ax_bar = fig.subplots(1, 2)
    ((n, seeds),) = mode["exact"].items()
    means = {}
    for name in mode["nets"]:
        errs = np.array([results[(n, s, name)].column("relative_error") for s in seeds])
        ax_err.plot(betas, errs.mean(axis=0), "o-", ms=3, color=colours[name][0], label=label(name))
        means[name] = (float(errs.mean()), float(np.mean([rel_diff(results, n, s, name) for s in seeds])))
    ax_err.set_yscale("log")
    ax_err.set_xlabel(r"$\beta$")
    ax_err.set_ylabel(r"$|f[q] - f|\,/\,|f|$ (exact $f$ by enumeration)")
    ax_err.set_title(f"B) SK N = {n}, seeds {', '.join(map(str, seeds))}: error against the exact answer", fontsize=10)
    ax_err.legend(fontsize=7, ncol=2)
    x = np.arange(len(mode["nets"]))
    ax_bar.bar(
        x - 0.2,
        [means[lab][0] for lab in mode["nets"]],
        0.4,
        color=[colours[lab][0] for lab in mode["nets"]],
        label="relative error to the exact f",
    )
    ax_bar.bar(
        x + 0.2,
        [means[lab][1] for lab in mode["nets"]],
        0.4,
        color=[colours[lab][1] for lab in mode["nets"]],
        hatch="//",
        label="relative difference to SK_2RSB (the paper's measure)",
    )
    ax_bar.set_xticks(x, [label(name) for name in mode["nets"]], fontsize=8)
    ax_bar.axhline(0.0, color="k", lw=0.5)
    ax_bar.set_ylim(top=1.4 * max(max(v) for v in means.values()))  # room for the legend
    ax_bar.set_ylabel(r"mean over $\beta$")
    ax_bar.set_title(f"B) N = {n}: what the difference to SK_2RSB misses", fontsize=10)
    ax_bar.legend(fontsize=7)


if __name__ == "__main__":
    main()
