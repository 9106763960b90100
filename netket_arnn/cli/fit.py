"""``netket-arnn fit``: maximum-likelihood training of an autoregressive network on a dataset.

Reads a dataset written by ``netket-arnn sample`` (or netket_arnn.data.BoltzmannDataset.save),
trains the chosen network by maximum likelihood (minibatches, a held-out validation split, the
train and validation NLL per spin with error bars every epoch, optional early stopping) and
writes ``fit.json`` (settings, history, results) and ``model.mpack`` (the driver's checkpoint)
into ``--out``. The network never sees the dataset's couplings: it is built on an empty
Hamiltonian of the same size, its first layer learned from a small random start.

If the file holds the true couplings and the network has a learned first layer (sk_rs,
sk_1rsb, sk_2rsb, 1l), it prints the recovery figures (Pearson r of |W| vs |J|, signed r after
sign alignment, regression slope) and writes the |W| vs |J| scatter plot ``recovery.png``;
``--plm`` adds pseudo-likelihood maximisation on the same samples.

Example: netket-arnn fit sk100_beta2.npz --model sk_1rsb --epochs 30 --dtype float32 --plm
"""

from __future__ import annotations

import argparse
import json
import os
import time

from ._args import HelpFormatter, non_negative_int, positive_float, positive_int

NAME = "fit"

MODELS = {
    "sk_rs": "SK_RS (k = 0), learned first layer",
    "sk_1rsb": "SK_1RSB (k = 1), learned first layer",
    "sk_2rsb": "SK_2RSB (k = 2), learned first layer",
    "1l": "1L, one masked linear layer",
    "made": "NetKet ARNNDense (MADE), no first layer to read",
}


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="train a network by maximum likelihood on a dataset; coupling recovery if J is known",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    p.add_argument("data", help="dataset file (.npz from netket-arnn sample)")
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=sorted(MODELS), default="sk_1rsb", help="network")
    g.add_argument("--init-scale", type=positive_float, default=0.01, help="std of the random start of the layer")
    g.add_argument("--made-layers", type=positive_int, default=2, help="made: number of layers")
    g.add_argument("--made-features", type=positive_int, default=32, help="made: hidden width")
    g.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="parameter dtype")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=30, help="passes over the training set")
    g.add_argument("--batch-size", type=positive_int, default=1000, help="samples per step")
    g.add_argument("--lr", type=positive_float, default=1e-2, help="Adam learning rate")
    g.add_argument("--validation", type=_fraction, default=0.1, help="fraction of samples held out")
    g.add_argument("--patience", type=positive_int, default=None, help="stop after this many epochs w/o improvement")
    g.add_argument("--seed", type=non_negative_int, default=0, help="seed of initialisation, split and shuffling")
    g.add_argument("--plm", action="store_true", help="also fit the couplings by pseudo-likelihood")
    g = p.add_argument_group("output")
    g.add_argument("--out", default=os.path.join("results", "fit"), help="output folder")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)
    return p


def build_model(name: str, n_sites: int, beta: float, args):
    """The network ``name`` on ``n_sites`` spins, knowing nothing of the data's couplings."""
    import jax.numpy as jnp
    import netket as nk
    import numpy as np

    from ..models import SingleLayerARNN, SpinGlassARNN
    from ..operators import from_couplings

    dtype = jnp.float32 if args.dtype == "float32" else jnp.float64
    blank = from_couplings(np.zeros((n_sites, n_sites)))  # only the size and β shape the start
    if name.startswith("sk_"):
        k = {"sk_rs": 0, "sk_1rsb": 1, "sk_2rsb": 2}[name]
        return SpinGlassARNN.from_hamiltonian(
            blank, beta, k, learn_couplings=True, couplings_init_scale=args.init_scale, param_dtype=dtype
        )
    if name == "1l":
        return SingleLayerARNN.from_hamiltonian(blank, beta, couplings_init_scale=args.init_scale, param_dtype=dtype)
    return nk.models.ARNNDense(
        hilbert=blank.hilbert, layers=args.made_layers, features=args.made_features, param_dtype=dtype
    )


def run(args) -> int:
    import jax

    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import netket as nk
    import numpy as np

    from ..data import BoltzmannDataset, coupling_recovery, learned_couplings, pseudo_likelihood_couplings
    from ..driver import MaximumLikelihood

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    data = BoltzmannDataset.load(args.data)  # warns if its diagnostics failed
    say(f"dataset: {data}")
    if data.passed is False:
        say("  its diagnostics FAILED: " + "; ".join(data.diagnostics.failures))
    model = build_model(args.model, data.n_sites, data.beta, args)
    hilbert = nk.hilbert.Spin(0.5, data.n_sites)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(hilbert), model, n_samples=16, seed=args.seed)
    driver = MaximumLikelihood(
        data,
        nk.optimizer.Adam(args.lr),
        variational_state=vs,
        batch_size=min(args.batch_size, int(data.n_samples * (1 - args.validation))),
        validation_fraction=args.validation,
        seed=args.seed,
        patience=args.patience if args.validation > 0 else None,
    )
    say(
        f"model: {MODELS[args.model]}, {vs.n_parameters} parameters; {driver.n_train} training and "
        f"{driver.n_validation} validation samples, {driver.steps_per_epoch} steps per epoch"
    )
    os.makedirs(args.out, exist_ok=True)
    history = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        tick = time.perf_counter()
        driver.run(driver.steps_per_epoch, show_progress=False)
        train = driver.train_nll()
        val = driver.validation_nll()
        row = {
            "epoch": epoch + 1,
            "seconds": time.perf_counter() - tick,
            "train_nll": float(train.mean),
            "train_nll_error": float(train.error_of_mean),
        }
        if val is not None:
            row.update(validation_nll=float(val.mean), validation_nll_error=float(val.error_of_mean))
        history.append(row)
        val_text = (
            "" if val is None else f", validation {row['validation_nll']:.5f} ± {row['validation_nll_error']:.5f}"
        )
        say(f"epoch {epoch + 1}: train NLL {row['train_nll']:.5f} ± {row['train_nll_error']:.5f}{val_text}")
        if driver.stopped_early:
            say(f"stopped early, best validation NLL {driver.best_validation_nll:.5f} (parameters restored)")
            break
    driver.save(os.path.join(args.out, "model.mpack"))
    results = {
        "data": os.path.abspath(args.data),
        "dataset": repr(data),
        "settings": {k: v for k, v in vars(args).items() if k != "run"},
        "n_parameters": int(vs.n_parameters),
        "history": history,
        "seconds": time.perf_counter() - start,
    }

    H = data.hamiltonian
    if H is not None and args.model != "made":
        J = np.asarray(H.couplings)
        W = learned_couplings(vs.variables, model)
        estimates = {"maximum likelihood": W}
        if args.plm:
            estimates["pseudo-likelihood"] = pseudo_likelihood_couplings(data.samples, data.beta).couplings
        results["recovery"] = {}
        say("coupling recovery (r of |W| vs |J|; signed r after sign alignment; slope):")
        for name, estimate in estimates.items():
            rec = coupling_recovery(estimate, J).as_dict()
            rec["r_signed_per_site"] = coupling_recovery(estimate, J, align="column").r_signed
            results["recovery"][name] = rec
            say(
                f"  {name:>18}: r_abs = {rec['r_abs']:.4f}, r_signed = {rec['r_signed']:.4f} "
                f"(per-site signs {rec['r_signed_per_site']:.4f}), slope = {rec['slope']:.4f}"
            )
        png = os.path.join(args.out, "recovery.png")
        _scatter(estimates, J, results["recovery"], png)
        say(f"wrote {png}")
    elif H is None:
        say("the dataset holds no couplings: no recovery figures")
    path = os.path.join(args.out, "fit.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    say(f"wrote {path}")
    return 0


def _scatter(estimates: dict, J, recovery: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows, cols = np.triu_indices(J.shape[0], 1)
    fig, axes = plt.subplots(1, len(estimates), figsize=(5 * len(estimates), 4.2), squeeze=False)
    for ax, (name, W) in zip(axes[0], estimates.items()):
        ax.scatter(np.abs(J[rows, cols]), np.abs(np.asarray(W)[rows, cols]), s=3, alpha=0.5)
        ax.set_xlabel("|J| (true)")
        ax.set_ylabel("|W| (estimated)")
        ax.set_title(f"{name}: r(|W|,|J|) = {recovery[name]['r_abs']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
