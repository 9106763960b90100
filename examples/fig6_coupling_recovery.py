r"""Fig. 6 of arXiv:2302.08347: couplings of an SK instance read back from a trained network.

An SK_1RSB network with a learned first layer, started at small random values, is trained by
maximum likelihood on Monte Carlo samples of the SK instance N = 100, seed 4, at beta = 2; its
first layer W is compared with the true couplings J (Pearson r of |W| vs |J| over the 4,950
pairs, the paper's figure; signed r after sign alignment; regression slope). Beside it:
pseudo-likelihood maximisation (the standard inverse-Ising estimator) on the same samples, and
the paper's own learned layer (r computed from its file).

Two datasets:
- the published samples (``examples/data/paper/sk_fig6_mc_data.npz``), which are not
  equilibrated: the diagnostics flag their energy drift;
- fresh samples of the same instance drawn here with NetKet's parallel tempering, whose
  diagnostics must pass.

The network is the registry's ``sk_1rsb_learned`` (:func:`netket_arnn.build_net`), its first
layer started at :math:`\mathcal N(0, 0.01^2)` (its ``couplings_init_scale`` option).

Modes: ``--smoke`` (a minute or two: tiny runs, only checks the pipeline), default quick (about
ten minutes on two CPU cores; float32 parameters and arithmetic), ``--full`` (float64, longer
chains and training). Writes ``fig6_recovery.csv``, ``fig6_recovery.json`` (updated after every
stage), ``fig6_recovery.png`` and the fresh dataset ``fresh_samples.npz`` into ``--out``
(default ``results/fig6_coupling_recovery/<mode>``, one folder per mode).

    python examples/fig6_coupling_recovery.py [--smoke | --full] [--out results/fig6_coupling_recovery/quick]
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _gallery as gallery  # noqa: E402  (first: it selects matplotlib's Agg backend)
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import netket as nk  # noqa: E402
import numpy as np  # noqa: E402

import netket_arnn as na  # noqa: E402
from netket_arnn.data import (  # noqa: E402
    BoltzmannDataset,
    EquilibrationWarning,
    coupling_recovery,
    learned_couplings,
    pseudo_likelihood_couplings,
    sample_boltzmann,
)
from netket_arnn.driver import MaximumLikelihood  # noqa: E402

NAME = "fig6_coupling_recovery"
NET = "sk_1rsb_learned"  # the registry's SK_1RSB with a trainable first layer
HERE = os.path.dirname(os.path.abspath(__file__))
PAPER_FILE = os.path.join(HERE, "data", "paper", "sk_fig6_mc_data.npz")
PAPER_QUOTED_R = 0.64  # the value quoted in the paper's text; the script recomputes it from the file

MODES = {
    # ML: epochs, batch, learning rate, dtype; MC: samples, chains, replicas, sweeps per sample, burn-in
    "smoke": dict(
        ml_samples=1000,
        epochs=1,
        batch=100,
        lr=1e-2,
        dtype="float32",
        plm_iterations=30,
        mc_samples=256,
        chains=8,
        replicas=8,
        sweeps_per_sample=1,
        burn_in=16,
    ),
    "quick": dict(
        ml_samples=None,
        epochs=40,
        batch=1000,
        lr=1e-2,
        dtype="float32",
        plm_iterations=2000,
        mc_samples=10000,
        chains=16,
        replicas=16,
        sweeps_per_sample=5,
        burn_in=5000,
    ),
    "full": dict(
        ml_samples=None,
        epochs=150,
        batch=1000,
        lr=1e-2,
        dtype="float64",
        plm_iterations=5000,
        mc_samples=10000,
        chains=32,
        replicas=16,
        sweeps_per_sample=10,
        burn_in=20000,
    ),
}


def say(*args):
    print(*args, flush=True)


def figures(W, J) -> dict:
    """The recovery figures with a global sign, plus the signed r with one sign per site."""
    rec = coupling_recovery(W, J)
    out = rec.as_dict()
    out["r_signed_per_site"] = coupling_recovery(W, J, align="column").r_signed
    return out


def train_sk_1rsb(samples, H, beta, settings, label):
    """SK_1RSB, learned first layer started at N(0, 0.01^2), trained by maximum likelihood."""
    dtype = jnp.float32 if settings["dtype"] == "float32" else jnp.float64
    model = na.build_net(NET, H, beta, param_dtype=dtype, dtype=dtype, couplings_init_scale=0.01)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16, seed=0)
    driver = MaximumLikelihood(
        samples, nk.optimizer.Adam(settings["lr"]), variational_state=vs, batch_size=settings["batch"], seed=0
    )
    J = np.asarray(H.couplings)
    history, epoch_times = [], []
    for epoch in range(settings["epochs"]):
        start = time.perf_counter()
        driver.run(driver.steps_per_epoch, show_progress=False)
        epoch_times.append(time.perf_counter() - start)
        val = driver.validation_nll()
        rec = figures(learned_couplings(vs.variables, model), J)
        history.append({"epoch": epoch + 1, "validation_nll": float(val.mean), "r_abs": rec["r_abs"]})
        say(
            f"  [{label}] epoch {epoch + 1}/{settings['epochs']}: {epoch_times[-1]:.1f} s, "
            f"validation NLL {float(val.mean):.5f} ± {float(val.error_of_mean):.5f}, r(|W|,|J|) = {rec['r_abs']:.4f}"
        )
    W = learned_couplings(vs.variables, model)
    # the first epoch includes compilation: the steady-state time per epoch excludes it
    steady = epoch_times[1:] or epoch_times
    return W, {
        "history": history,
        "seconds_per_epoch": float(np.median(steady)),
        "first_epoch_seconds": epoch_times[0],
        "n_train": driver.n_train,
        "n_validation": driver.n_validation,
        "steps_per_epoch": driver.steps_per_epoch,
        "final_validation_nll": history[-1]["validation_nll"],
    }


def scatter(ax, W, J, title, rec):
    rows, cols = np.triu_indices(J.shape[0], 1)
    w, j = np.abs(W[rows, cols]), np.abs(J[rows, cols])
    ax.scatter(j, w, s=2, alpha=0.4)
    ax.set_xlabel("|J|")
    ax.set_ylabel("|W|")
    ax.set_title(f"{title}\nr(|W|,|J|) = {rec['r_abs']:.3f}, signed r = {rec['r_signed']:.3f}", fontsize=9)


def main(argv=None) -> int:
    def configure(parser):
        parser.add_argument("--fresh-data", help="reuse a dataset written by an earlier run instead of sampling")

    # --out defaults to results/fig6_coupling_recovery/<mode>: the modes never share a folder.
    args = gallery.parse_args(__doc__, NAME, argv, configure=configure)
    mode = args.mode
    settings = MODES[mode]
    json_path = os.path.join(args.out, "fig6_recovery.json")
    results = {"mode": mode, "settings": settings, "paper_quoted_r_abs": PAPER_QUOTED_R, "recovery": {}}

    def write():
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2)

    with np.load(PAPER_FILE) as data:
        published, beta = data["samples"], float(data["beta"])
        paper_W, paper_J = data["learned_first_layer"], data["couplings"]
    H = na.sherrington_kirkpatrick(100, seed=4)
    J = np.asarray(H.couplings)
    if not np.array_equal(np.tril(J, -1), np.tril(paper_J, -1).astype(np.float64)):
        raise SystemExit("sherrington_kirkpatrick(100, seed=4) does not reproduce the published couplings")
    say(f"mode {mode}; SK N = 100, seed 4, beta = {beta:g}; output in {args.out}")

    # -- the published samples ------------------------------------------------------------------
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EquilibrationWarning)
        paper_data = BoltzmannDataset.from_chains(published, beta, hamiltonian=H, metadata={"source": "paper"})
    say("published samples:", paper_data.diagnostics.summary())
    if caught:
        say("  (flagged as expected: the published chain is still relaxing; it is used knowingly below)")
    results["published_diagnostics"] = paper_data.diagnostics.as_dict()
    results["recovery"]["published/paper SK_1RSB"] = figures(paper_W, J)
    say(f"paper's learned layer: r(|W|,|J|) = {results['recovery']['published/paper SK_1RSB']['r_abs']:.4f}")
    write()

    samples = published if settings["ml_samples"] is None else published[: settings["ml_samples"]]
    timings, panels = {}, {}
    start = time.perf_counter()
    plm = pseudo_likelihood_couplings(samples, beta, max_iterations=settings["plm_iterations"])
    timings["published_plm_seconds"] = time.perf_counter() - start
    results["recovery"]["published/pseudo-likelihood"] = figures(plm.couplings, J)
    r_plm = results["recovery"]["published/pseudo-likelihood"]["r_abs"]
    say(f"pseudo-likelihood on published: r(|W|,|J|) = {r_plm:.4f}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquilibrationWarning)  # reported above
        W, info = train_sk_1rsb(samples, H, beta, settings, "published")
    results["recovery"]["published/SK_1RSB maximum likelihood"] = {**figures(W, J), **info}
    timings["published_ml_seconds_per_epoch"] = info["seconds_per_epoch"]
    panels["published"] = (W, plm.couplings)
    write()

    # -- fresh equilibrated samples of the same instance ------------------------------------------
    fresh_path = os.path.join(args.out, "fresh_samples.npz")
    if args.fresh_data:
        fresh = BoltzmannDataset.load(args.fresh_data)
        if fresh.fingerprint != na.data.instance_sha256(H) or fresh.beta != beta:
            raise SystemExit(f"{args.fresh_data} holds samples of another instance or beta")
    else:
        say(
            f"parallel tempering: {settings['chains']} chains x {settings['replicas']} replicas, "
            f"{settings['burn_in']} burn-in sweeps, a sample every {settings['sweeps_per_sample']} sweeps"
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EquilibrationWarning)
            fresh = sample_boltzmann(
                H,
                beta,
                settings["mc_samples"],
                method="parallel_tempering",
                n_chains=settings["chains"],
                n_replicas=settings["replicas"],
                sweeps_per_sample=settings["sweeps_per_sample"],
                n_burn_in_sweeps=settings["burn_in"],
                seed=1,
                progress=True,
            )
        fresh.save(fresh_path)
    d = fresh.diagnostics
    say("fresh samples:", d.summary())
    if not d.passed and mode != "smoke":
        say("WARNING: the fresh samples failed their diagnostics; the recovery below is not on equilibrium data")
    sampling_s = fresh.sampler.get("sampling_seconds", float("nan"))
    burn_s = fresh.sampler.get("burn_in_seconds", float("nan"))
    timings["generator_seconds_per_1000_samples"] = 1000 * sampling_s / fresh.n_samples
    timings["generator_seconds_per_1000_samples_with_burn_in"] = 1000 * (sampling_s + burn_s) / fresh.n_samples
    results["fresh_diagnostics"] = d.as_dict()
    results["fresh_sampler"] = fresh.sampler
    write()

    start = time.perf_counter()
    plm = pseudo_likelihood_couplings(fresh.samples, beta, max_iterations=settings["plm_iterations"])
    timings["fresh_plm_seconds"] = time.perf_counter() - start
    results["recovery"]["fresh/pseudo-likelihood"] = figures(plm.couplings, J)
    say(f"pseudo-likelihood on fresh: r(|W|,|J|) = {results['recovery']['fresh/pseudo-likelihood']['r_abs']:.4f}")
    fresh_ml = fresh.samples if settings["ml_samples"] is None else fresh.samples[: settings["ml_samples"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquilibrationWarning)  # smoke-mode samples are too few to vouch for
        W, info = train_sk_1rsb(fresh_ml, H, beta, settings, "fresh")
    results["recovery"]["fresh/SK_1RSB maximum likelihood"] = {**figures(W, J), **info}
    panels["fresh"] = (W, plm.couplings)
    results["timings"] = timings
    write()

    # -- table, figure ----------------------------------------------------------------------------
    csv_path = os.path.join(args.out, "fig6_recovery.csv")
    fields = ["data", "estimator", "r_abs", "r_signed", "r_signed_per_site", "slope", "n_pairs"]
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for key, rec in results["recovery"].items():
            data_name, estimator = key.split("/", 1)
            writer.writerow([data_name, estimator] + [rec[k] for k in fields[2:]])

    fig, axes = plt.subplots(2, 3, figsize=(13, 8))
    scatter(
        axes[0, 0],
        _symmetric(paper_W),
        J,
        "paper's SK_1RSB, published samples",
        results["recovery"]["published/paper SK_1RSB"],
    )
    scatter(
        axes[0, 1],
        panels["published"][0],
        J,
        "our SK_1RSB, published samples",
        results["recovery"]["published/SK_1RSB maximum likelihood"],
    )
    scatter(
        axes[0, 2],
        panels["published"][1],
        J,
        "pseudo-likelihood, published samples",
        results["recovery"]["published/pseudo-likelihood"],
    )
    ax = axes[1, 0]
    e_paper = paper_data.energies()
    ax.plot(np.arange(len(e_paper)), e_paper, lw=0.3, label="published (one sequence)")
    e_fresh = fresh.energies().reshape(fresh.n_chains, fresh.chain_length)
    ax.plot(np.linspace(0, len(e_paper), fresh.chain_length), e_fresh[0], lw=0.3, label="fresh, chain 0 (rescaled)")
    ax.set_xlabel("sample")
    ax.set_ylabel("energy per spin")
    ax.legend(fontsize=8)
    ax.set_title("energy along the chains", fontsize=9)
    scatter(
        axes[1, 1],
        panels["fresh"][0],
        J,
        "our SK_1RSB, fresh samples",
        results["recovery"]["fresh/SK_1RSB maximum likelihood"],
    )
    scatter(
        axes[1, 2],
        panels["fresh"][1],
        J,
        "pseudo-likelihood, fresh samples",
        results["recovery"]["fresh/pseudo-likelihood"],
    )
    fig.suptitle(f"Coupling recovery, SK N = 100 seed 4, β = {beta:g}, {mode} mode (paper quotes r = {PAPER_QUOTED_R})")
    fig.tight_layout()
    png_path = gallery.save_figure(fig, os.path.join(args.out, "fig6_recovery.png"), mode)

    say("\nrecovery (r of |W| vs |J|; signed r, global sign / one sign per site; slope):")
    say(f"  paper quotes r = {PAPER_QUOTED_R}")
    for key, rec in results["recovery"].items():
        say(
            f"  {key:40s} r_abs = {rec['r_abs']:.4f}  r_signed = {rec['r_signed']:.4f} / "
            f"{rec['r_signed_per_site']:.4f}  slope = {rec['slope']:.3f}"
        )
    say("timings:", json.dumps({k: round(v, 3) for k, v in timings.items()}))
    say(f"wrote {csv_path}, {json_path}, {png_path}")
    return 0


def _symmetric(W):
    W = np.asarray(W, dtype=np.float64)
    return W + W.T


if __name__ == "__main__":
    sys.exit(main())
