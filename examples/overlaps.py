r"""Overlap distributions P(q) of arXiv:2302.08347, drawn over the paper's published histograms.

What it shows. The overlap :math:`q_{ab} = \frac1N \sum_i a_i b_i` of two independent samples of
a network measures how its probability mass is spread over the states of the system
(:func:`netket_arnn.observables.overlap_distribution`; here through
``netket_arnn.anneal(..., estimates=FinalEstimates(overlaps=True))``, which stores P(q) in every
record). The nets come from the registry by name (:func:`netket_arnn.get_net`), in the
package's default precision.

- Curie–Weiss, N = 200, at β = 1.2 and 1.3 (ferromagnetic phase): the exact distribution (CW_N
  at its exact parameters) has two peaks at :math:`q = \pm m^2`-like values and almost no weight
  at :math:`q = 0`. Nets that cannot represent the two symmetric magnetised states at once put
  spurious weight near :math:`q = 0` or on a single peak.
- Sherrington–Kirkpatrick, N = 200, at β = 1.5 (spin-glass phase): the replica-symmetry-breaking
  nets (SK_1RSB, SK_2RSB) spread weight between the peaks at :math:`\pm q_\text{EA}`, the
  hallmark of RSB, where SK_RS and 1L do not.

The ground truth of the SK panel is Monte Carlo, which the paper did not have: parallel
tempering of the same instance at β = 1.5 (:func:`netket_arnn.sampling.parallel_tempering`, 20
replicas from β = 0.5, 16 independent chains) whose P(q) pairs samples of different chains
(:func:`netket_arnn.observables.chain_overlaps`, errors by a jackknife over chains), drawn in
black. It is trusted only when its equilibration checks pass: the energy diagnostics of the chains
and ⟨q²⟩ and the weight at |q| < 0.1 of the first and second halves of the chains agreeing within
three errors (``overlaps.json``: ``equilibrated``). Every net's ⟨q²⟩ and weight at |q| < 0.1
(from its own estimate, with jackknife errors) are set beside the Monte Carlo values, their
differences in units of the combined error.

What the paper reported (``examples/data/paper/overlaps_table.csv``, histograms of bin width
0.02): CW at β = 1.2: weight at :math:`|q| < 0.1` of 0.012 for CW_N, 0.001 for CW_∞, 0.13 for 1P
and 1L; SK at β = 1.5 (mean over seeds 1 … 9): weight at :math:`|q| < 0.1` of 0.07 for SK_1RSB and
SK_2RSB against 0.048 for SK_RS and 1L, :math:`\langle q^2\rangle` 0.20 against 0.23. Our
histograms are re-binned to the paper's bins; ours dark, the paper's light. At h = 0 the model
is symmetric under the global flip x → -x and so is its P(q); a trained network may settle in one
of the two mirror halves of the state space (it costs at most ln 2/(βN) of free energy), so ours
are drawn flip-symmetrised, (P(q) + P(-q))/2 (the P(q) of the network with a random global flip
after sampling); the CSV keeps the raw histogram and the JSON the raw ⟨q⟩ (0 for a symmetric
network).

Modes (each writes ``overlaps.csv`` (ours and the paper's per bin), ``overlaps.json`` and
``overlaps.png`` into ``--out``; runs are saved after each β under ``runs/`` and reused when the
script is run again):

- ``--smoke``: about half a minute of CPU time (mostly compilation), N = 12; only checks the
  pipeline.
- default (quick, about 5 minutes on 2 CPU cores): CW N = 200 with CW_N, CW_∞, 1P, 1L (β = 0.1 …
  1.3 step 0.1, Adam 5e-3 (the CW nets' parameters scale as 1/N: a larger step is noise),
  batch 500, 100 steps per β); SK N = 200, seed 1 only, with SK_RS, SK_1RSB and 1L (β = 0.1 …
  1.5 step 0.2, Adam 1e-2, 40 steps per β): ours is one instance, the paper's
  a nine-instance mean. The Curie–Weiss histograms match the paper's; the SK nets, trained for a
  few minutes instead of hours, reach the paper's ⟨q²⟩ (about 0.23) but put almost no weight
  between the peaks: the Monte Carlo truth of the instance has half that ⟨q²⟩ and ten times
  their weight at |q| < 0.1, which the figure shows. Parallel tempering: 4,000 sweeps (about a
  minute).
- ``--full``: the paper's protocol and nets (MADE_21/22 on CW, SK_2RSB and MADE_23/32 on SK, SK
  seeds 1 … 9): meant for a GPU.
- ``--paper-size``: SK only, N = 200, seed 1, P(q) at β = 1.5 after the anneal β = 0.1 … 1.5
  step 0.05, with the full mode's SK nets (SK_RS, SK_1RSB, SK_2RSB, 1L, MADE_23, MADE_32) trained
  with the ``settled`` protocol (``na.driver.SETTLED``: 27 steps at the full learning rate and
  80 along a decay at every β; not ``tracking``, whose faster rates from β = 1 on, chosen at
  N = 100, make f[q] diverge at N = 200, see the training guide), batch 2000,
  40,000 final samples:
  hours, meant for a GPU; ``--nets sk_1rsb`` runs one net. Parallel tempering: 20,000 sweeps of burn-in and
  20,000 more (a sample every 8), about 14 minutes on 2 CPU cores; the full mode uses the same
  for each of its nine instances.

    python examples/overlaps.py [--smoke | --full | --paper-size] [--nets NAME ...] [--out results/overlaps/quick]
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib.pyplot as plt  # noqa: E402
import netket as nk  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _gallery as gallery  # noqa: E402

import netket_arnn as na  # noqa: E402

NAME = "overlaps"
BIN_EDGES = np.linspace(-1.0, 1.0, 101)  # the paper's 100 bins of width 0.02
# The nets by their registry names (na.net_names()); figures use net.label. The paper's file
# names some nets differently.
PAPER_NAMES = {
    "cw_n": "CWARNN",
    "cw_inf": "CWARNN_inf",
    "1p": "1Par",
    "1l": "SL",
    "sk_rs": "SK_0rsb",
    "sk_1rsb": "SK_1rsb",
    "sk_2rsb": "SK_2rsb",
    "made_21": "MADE_21",
    "made_22": "MADE_22",
    "made_23": "MADE_23",
    "made_32": "MADE_32",
}
CW_BETAS, SK_BETA = (1.2, 1.3), 1.5


def _protocol(stop, step, steps, warmup, lr):
    return gallery.Protocol(
        betas=gallery.grid(0.1, stop, step),
        training=gallery.fixed_steps(steps_per_beta=steps, warmup_steps=warmup, lr=lr),
        n_samples=500,
        n_final_samples=4000,
    )


# The ground truth of the SK panel: parallel tempering (na.sampling.parallel_tempering) of the
# same instance at β = 1.5, replicas from β = 0.5 (T = 2, above T_c = 1), 16 independent chains
# whose samples are paired across chains (na.observables.chain_overlaps).
PAPER_SIZE_MONTE_CARLO = dict(
    n_chains=16, n_replicas=20, beta_min=0.5, burn_in_sweeps=20000, samples_per_chain=2500, sweeps_per_sample=8
)

MODES = {
    "smoke": dict(
        cw=dict(
            N=12,
            nets=("cw_n", "1p"),
            protocol=gallery.Protocol(
                betas=CW_BETAS, training=gallery.fixed_steps(2, 2, 1e-2), n_samples=64, n_final_samples=128
            ),
        ),
        sk=dict(
            N=12,
            seeds=(1,),
            nets=("sk_rs",),
            protocol=gallery.Protocol(
                betas=(SK_BETA,), training=gallery.fixed_steps(2, 2, 1e-2), n_samples=64, n_final_samples=128
            ),
            monte_carlo=dict(
                n_chains=4, n_replicas=4, beta_min=0.5, burn_in_sweeps=100, samples_per_chain=50, sweeps_per_sample=2
            ),
        ),
    ),
    "quick": dict(
        cw=dict(N=200, nets=("cw_n", "cw_inf", "1p", "1l"), protocol=_protocol(1.3, 0.1, 100, 200, 5e-3)),
        sk=dict(
            N=200,
            seeds=(1,),
            nets=("sk_rs", "sk_1rsb", "1l"),
            protocol=_protocol(1.5, 0.2, 40, 160, 1e-2),
            monte_carlo=dict(
                n_chains=16,
                n_replicas=20,
                beta_min=0.5,
                burn_in_sweeps=2000,
                samples_per_chain=250,
                sweeps_per_sample=8,
            ),
        ),
    ),
    "full": dict(
        cw=dict(
            N=200,
            nets=("cw_n", "cw_inf", "1p", "1l", "made_21", "made_22"),
            protocol=replace(gallery.PAPER_PROTOCOL, betas=gallery.grid(0.1, 1.3, 0.05)),
        ),
        sk=dict(
            N=200,
            seeds=tuple(range(1, 10)),
            nets=("sk_rs", "sk_1rsb", "sk_2rsb", "1l", "made_23", "made_32"),
            protocol=replace(gallery.PAPER_PROTOCOL, betas=gallery.grid(0.1, 1.5, 0.05)),
            monte_carlo=PAPER_SIZE_MONTE_CARLO,
        ),
    ),
    # SK only, as the full mode runs it on one instance, with the settled protocol (na.driver.SETTLED).
    "paper_size": dict(
        sk=dict(
            N=200,
            seeds=(1,),
            nets=("sk_rs", "sk_1rsb", "sk_2rsb", "1l", "made_23", "made_32"),
            # not TRACKING: its rates from β = 1 on, chosen at N = 100, make f[q] diverge at N = 200
            protocol=gallery.paper_size_protocol(gallery.grid(0.1, 1.5, 0.05), training=na.driver.SETTLED),
            monte_carlo=PAPER_SIZE_MONTE_CARLO,
        ),
    ),
}
SYSTEMS = (("CW", "cw"), ("SK", "sk"))  # (system, its part of a mode); a mode may run only some


def anneal_net(system: str, name: str, seed: int | None, part: dict, args) -> na.AnnealResult:
    """Anneal the registry's net ``name`` up to the largest β of the panel, estimating P(q) at every β.

    The nets are built in the package's default precision (float64 parameters and log q,
    float32 arithmetic).
    """
    net = na.get_net(name)
    n, protocol = part["N"], part["protocol"]
    tag = f"{system}_N{n}" + ("" if seed is None else f"_seed{seed}") + f"_{name}"
    settings = {"net": name, "N": n, "seed": seed, "system": system, "protocol": protocol.settings()}
    done = gallery.finished_run(args.out, tag, len(protocol.betas), settings)
    if done is not None:
        return done
    H = na.curie_weiss(n) if system == "CW" else na.sherrington_kirkpatrick(n, seed=seed)
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
        stage=net.beta_stage,  # CW_N: its exact parameters at every β
        exact=None,  # P(q) is the point here; skip the exact references
        metadata=settings,
        show_progress="table" if args.mode == "smoke" else True,
        **protocol.anneal_options(overlaps=True),
        **gallery.resume_options(args.out, tag, checkpoint_every=gallery.checkpoint_every(args.mode)),
    )


def monte_carlo(part: dict, seed: int, args) -> dict:
    """P(q) of SK instance ``seed`` at β = 1.5 by parallel tempering, with its equilibration checks.

    Reused from ``runs/`` when an earlier call made it with the same settings. The checks: the
    energy diagnostics of the chains (split-R̂, drift, length in autocorrelation times), and
    ⟨q²⟩ and the weight at |q| < 0.1 of the first and second halves of the chains agreeing
    within three of their combined errors (a P(q) still moving would not).
    """
    n, mc = part["N"], part["monte_carlo"]
    settings = {"N": n, "seed": seed, "beta": SK_BETA, **mc}
    path = os.path.join(args.out, "runs", f"SK_N{n}_seed{seed}_parallel_tempering.json")
    if os.path.exists(path):
        with open(path) as f:
            done = json.load(f)
        if done["settings"] != gallery.plain(settings):
            raise SystemExit(f"{path} was made with other settings: remove it or choose another --out")
        print(f"[parallel tempering] reusing {path}", flush=True)
        return done
    H = na.sherrington_kirkpatrick(n, seed=seed)
    data = na.sampling.parallel_tempering(
        H,
        SK_BETA,
        mc["n_chains"] * mc["samples_per_chain"],
        n_chains=mc["n_chains"],
        n_replicas=mc["n_replicas"],
        beta_min=mc["beta_min"],
        sweeps_per_sample=mc["sweeps_per_sample"],
        n_burn_in_sweeps=mc["burn_in_sweeps"],
        seed=seed,
        store_couplings=False,
        progress=True,
    )
    chains = data.chains
    half = chains.shape[1] // 2
    whole, first, second = (na.observables.chain_overlaps(c) for c in (chains, chains[:, :half], chains[:, half:]))

    def agree(name):
        a, b = getattr(first, name), getattr(second, name)
        return abs(a - b) <= 3 * np.hypot(getattr(first, f"{name}_error"), getattr(second, f"{name}_error"))

    halves_agree = bool(agree("q2") and agree("small_q_weight"))
    result = {
        "settings": settings,
        "q": whole.q,
        "probability": whole.probability,
        "q2": whole.q2,
        "q2_error": whole.q2_error,
        "small_q_weight": whole.small_q_weight,
        "small_q_weight_error": whole.small_q_weight_error,
        "halves": [
            {k: getattr(h, k) for k in ("q2", "q2_error", "small_q_weight", "small_q_weight_error")}
            for h in (first, second)
        ],
        "halves_agree": halves_agree,
        "energy_diagnostics": data.diagnostics.as_dict(),
        "equilibrated": bool(data.diagnostics.passed and halves_agree),
        "swap_acceptance": data.sampler["swap_acceptance"],
        "replica_betas": data.sampler["replica_betas"],
        "seconds": data.sampler["burn_in_seconds"] + data.sampler["sampling_seconds"],
    }
    gallery.write_json(path, result)
    print(
        f"[parallel tempering] <q²> = {whole.q2:.4f} ± {whole.q2_error:.4f}, weight at |q| < 0.1 = "
        f"{whole.small_q_weight:.4f} ± {whole.small_q_weight_error:.4f}, "
        + ("equilibrated" if result["equilibrated"] else "NOT equilibrated (see the JSON)"),
        flush=True,
    )
    return gallery.plain(result)


def binned(result: na.AnnealResult, beta: float) -> tuple[np.ndarray, np.ndarray, float]:
    """P(q) of the record at ``beta`` on the paper's 100 bins: flip-symmetrised, as estimated, and ⟨q⟩.

    At h = 0, H(x) = H(-x). A trained network may have settled in one of the two mirror halves of
    the state space (which costs at most ln 2/(βN) of free energy); flipping every sample with
    probability 1/2 gives the network q_sym(x) = (q(x) + q(-x))/2, whose P(q) is
    (P(q) + P(-q))/2, the symmetric distribution of the physics. The raw ⟨q⟩ says how far the
    network itself was from symmetric (0 if it is).
    """
    (record,) = [r for r in result if abs(r.beta - beta) < 1e-9]
    pq = record.extra["overlaps"]
    q, p = np.asarray(pq["q"]), np.asarray(pq["probability"])
    symmetric = 0.5 * (p + p[::-1])  # q[k] = -q[N - k]
    # q = -1 + 2k/N; values on a bin edge go to the bin above it, as np.histogram does.
    edges = np.clip(q + 1e-9, -1.0, 1.0)
    return (
        np.histogram(edges, bins=BIN_EDGES, weights=symmetric)[0],
        np.histogram(edges, bins=BIN_EDGES, weights=p)[0],
        float(p @ q),
    )


def published() -> dict:
    """``(system, β, paper net name) -> (bin centres, P)`` of the paper's histograms."""
    out = {}
    for r in gallery.read_paper("overlaps_table.csv"):
        key = (r["model"], round(float(r["beta"]), 4), r["net"])
        out.setdefault(key, []).append((float(r["bin_center"]), float(r["prob"])))
    return {k: tuple(np.array(v).T) for k, v in out.items()}


def _configure(parser):
    parser.add_argument(
        "--nets",
        nargs="+",
        default=None,
        metavar="NAME",
        help="run only these of the mode's nets (registry names), e.g. --paper-size --nets sk_1rsb",
    )


def _select_nets(mode: dict, nets) -> dict:
    """The mode with only the nets named in ``nets`` (all if None); a name the mode lacks is an error."""
    if nets is None:
        return mode
    known = {name for part in mode.values() for name in part["nets"]}
    unknown = [name for name in nets if name not in known]
    if unknown:
        raise SystemExit(f"--nets: {', '.join(unknown)} not in this mode's nets ({', '.join(sorted(known))})")
    out = {key: {**part, "nets": tuple(n for n in part["nets"] if n in nets)} for key, part in mode.items()}
    return {key: part for key, part in out.items() if part["nets"]}


def main(argv=None):
    args = gallery.parse_args(__doc__, NAME, argv, configure=_configure, paper_size=True)
    mode = _select_nets(MODES[args.mode], args.nets)
    clock = gallery.Clock()
    paper = published()
    centres = 0.5 * (BIN_EDGES[1:] + BIN_EDGES[:-1])
    writer = gallery.RowWriter(
        os.path.join(args.out, f"{NAME}.csv"),
        ["system", "N", "beta", "net", "seeds", "q", "P", "P_raw", "P_paper", "P_monte_carlo"],
    )
    present = [(system, mode[key]) for system, key in SYSTEMS if key in mode]
    panels = [(system, b) for system, _ in present for b in (CW_BETAS if system == "CW" else (SK_BETA,))]
    hist, stats = {}, []
    jobs = [(system, name, s) for system, part in present for name in part["nets"] for s in part.get("seeds", (None,))]
    runs = {}
    for k, (system, name, seed) in enumerate(jobs, 1):
        part = mode["cw" if system == "CW" else "sk"]
        clock.say(
            f"run {k}/{len(jobs)}: {na.get_net(name).label} on {system} N = {part['N']}"
            + ("" if seed is None else f", seed {seed}")
            + f" ({args.mode} mode)"
        )
        runs[(system, name, seed)] = anneal_net(system, name, seed, part, args)
    truth = {}  # seed -> parallel tempering of the SK instance
    if "sk" in mode and "monte_carlo" in mode["sk"]:
        for seed in mode["sk"]["seeds"]:
            clock.say(f"parallel tempering of SK N = {mode['sk']['N']}, seed {seed}, β = {SK_BETA:g}")
            truth[seed] = monte_carlo(mode["sk"], seed, args)

    for system, beta in panels:
        part = mode["cw" if system == "CW" else "sk"]
        seeds = (None,) if system == "CW" else part["seeds"]
        mc = None
        if system == "SK" and truth:
            q2, q2_error = seed_mean([truth[s] for s in seeds], "q2")
            w, w_error = seed_mean([truth[s] for s in seeds], "small_q_weight")
            mc = {
                "P": np.mean([mc_binned(truth[s]) for s in seeds], axis=0),
                "q2": q2,
                "q2_error": q2_error,
                "w": w,
                "w_error": w_error,
                "equilibrated": all(truth[s]["equilibrated"] for s in seeds),
            }
            hist[(system, beta, "monte_carlo")] = mc["P"]
            stats.append(
                dict(
                    system=system,
                    beta=beta,
                    net="Monte Carlo (parallel tempering)",
                    seeds=" ".join(map(str, seeds)),
                    **moments(centres, mc["P"]),
                    q2_estimate=mc["q2"],
                    q2_error=mc["q2_error"],
                    small_q_weight=mc["w"],
                    small_q_weight_error=mc["w_error"],
                    equilibrated=mc["equilibrated"],
                    seconds=float(sum(truth[s]["seconds"] for s in seeds)),
                )
            )
        for name in part["nets"]:
            label = na.get_net(name).label
            parts = [binned(runs[(system, name, s)], beta) for s in seeds]
            p = np.mean([h for h, _, _ in parts], axis=0)
            p_raw = np.mean([h for _, h, _ in parts], axis=0)
            hist[(system, beta, name)] = p
            theirs = paper.get((system, round(beta, 4), PAPER_NAMES[name]))
            p_paper = np.full_like(p, np.nan) if theirs is None else theirs[1]
            seed_text = "-" if system == "CW" else " ".join(map(str, seeds))
            p_mc = np.full_like(p, np.nan) if mc is None else mc["P"]
            for q, a, r, b, c in zip(centres, p, p_raw, p_paper, p_mc):
                writer.write(
                    system=system,
                    N=part["N"],
                    beta=beta,
                    net=label,
                    seeds=seed_text,
                    q=q,
                    P=a,
                    P_raw=r,
                    P_paper=b,
                    P_monte_carlo=c,
                )
            stats.append(
                dict(
                    system=system,
                    beta=beta,
                    net=label,
                    seeds=seed_text,
                    **moments(centres, p),
                    raw_mean_q=float(np.mean([m for _, _, m in parts])),
                    **{f"paper_{k}": v for k, v in (moments(*theirs) if theirs else {}).items()},
                    **({} if mc is None else against_monte_carlo(runs, system, name, seeds, beta, mc)),
                )
            )
    gallery.write_json(
        os.path.join(args.out, f"{NAME}.json"),
        {
            "mode": args.mode,
            "settings": {s: {**mode[s], "protocol": mode[s]["protocol"].settings()} for _, s in SYSTEMS if s in mode},
            "precision": "the package's default: float64 parameters and log q, float32 arithmetic",
            "seconds": clock(),
            "moments": stats,
            "paper": gallery.PAPER_CITATION,
        },
    )
    plot(hist, paper, panels, mode, args, centres, os.path.join(args.out, f"{NAME}.png"))
    clock.say(f"done ({args.mode} mode)")


def mc_binned(truth: dict) -> np.ndarray:
    """The parallel-tempering P(q) on the paper's bins (values on an edge go to the bin above)."""
    q = np.clip(np.asarray(truth["q"]) + 1e-9, -1.0, 1.0)
    return np.histogram(q, bins=BIN_EDGES, weights=np.asarray(truth["probability"]))[0]


def seed_mean(estimates: list[dict], name: str) -> tuple[float, float]:
    """The mean of ``estimates[k][name]`` over independent instances and its error, from the
    ``name + "_error"`` of each (NaN where an estimate lacks the value)."""
    values = np.array([e.get(name, np.nan) for e in estimates])
    errors = np.array([e.get(f"{name}_error", np.nan) for e in estimates])
    return float(values.mean()), float(np.sqrt(np.sum(errors**2)) / len(errors))


def against_monte_carlo(runs, system, name, seeds, beta, mc) -> dict:
    """A net's ⟨q²⟩ and weight at |q| < 0.1 (the seeds' mean, from its own P(q) estimate with its
    jackknife error; both are unchanged by the flip-symmetrisation) beside the Monte Carlo values,
    and their differences in units of the combined error."""
    records = [[r for r in runs[(system, name, s)] if abs(r.beta - beta) < 1e-9][0] for s in seeds]
    pq = [r.extra["overlaps"] for r in records]
    q2, q2_error = seed_mean(pq, "q2")
    w, w_error = seed_mean(pq, "small_q_weight")
    return {
        "q2_estimate": q2,
        "q2_error": q2_error,
        "small_q_weight": w,
        "small_q_weight_error": w_error,
        "q2_minus_monte_carlo_in_errors": (q2 - mc["q2"]) / np.hypot(q2_error, mc["q2_error"]),
        "small_q_weight_minus_monte_carlo_in_errors": (w - mc["w"]) / np.hypot(w_error, mc["w_error"]),
    }


def moments(q, p) -> dict:
    """⟨q²⟩, ⟨|q|⟩ and the weight at |q| < 0.1 of a histogram."""
    q, p = np.asarray(q), np.asarray(p)
    return {
        "q2": float(p @ q**2),
        "abs_q": float(p @ np.abs(q)),
        "weight_abs_q_below_0.1": float(p[np.abs(q) < 0.1].sum()),
    }


def plot(hist, paper, panels, mode, args, centres, path):
    parts = [(system, mode[s]) for system, s in SYSTEMS if s in mode]
    names = list(dict.fromkeys([name for _, part in parts for name in part["nets"]] + list(PAPER_NAMES)))
    colours = gallery.paired_colours(names)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * max(len(panels), 2), 4.4), constrained_layout=True, squeeze=False
    )
    for ax, (system, beta) in zip(axes[0], panels):
        part = mode["cw" if system == "CW" else "sk"]
        shown = [
            name
            for name in names
            if (system, beta, name) in hist or (system, round(beta, 4), PAPER_NAMES[name]) in paper
        ]
        for name in shown:
            label = na.get_net(name).label
            ours, theirs = colours[name]
            pub = paper.get((system, round(beta, 4), PAPER_NAMES[name]))
            if pub is not None:
                ax.step(pub[0], pub[1], where="mid", ls="--", color=theirs, lw=1.4, label=f"{label} paper")
            if (system, beta, name) in hist:
                ax.step(centres, hist[(system, beta, name)], where="mid", color=ours, lw=1.3, label=f"{label} ours")
        if (system, beta, "monte_carlo") in hist:
            ax.step(
                centres,
                hist[(system, beta, "monte_carlo")],
                where="mid",
                color="black",
                lw=1.6,
                label="Monte Carlo (parallel tempering)",
            )
        seeds = (
            ""
            if system == "CW"
            else f", ours: seed{'s' if len(part['seeds']) > 1 else ''} "
            + ", ".join(map(str, part["seeds"]))
            + " (paper: mean of seeds 1-9)"
        )
        title = "Curie–Weiss" if system == "CW" else "SK"
        ax.set_title(f"{title} N = {part['N']}, β = {beta:g}{seeds}", fontsize=9)
        ax.set_xlabel(r"overlap $q$")
        ax.set_ylabel(r"$P(q)$ per bin of 0.02 (ours flip-symmetrised)")
        ax.legend(fontsize=6.5, ncol=2)
    system, part = parts[0]  # the protocol of the first system run (CW where it is)
    title = "Curie–Weiss" if system == "CW" else "SK"
    fig.suptitle(
        f"Overlap distributions, {title} in {gallery.describe_mode(args.mode, part['protocol'])}",
        fontsize=8,
    )
    gallery.save_figure(fig, path, args.mode)


if __name__ == "__main__":
    main()
