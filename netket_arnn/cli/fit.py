"""``netket-arnn fit``: maximum-likelihood training of an autoregressive network on a dataset.

Reads a dataset written by ``netket-arnn sample`` (or :meth:`netket_arnn.data.BoltzmannDataset.save`),
trains the chosen network by maximum likelihood (minibatches, a held-out validation split, the
train and validation NLL per spin with error bars every epoch, optional early stopping) and
writes ``fit.json`` (settings, precision, provenance, history, results) and ``model.mpack`` (the
driver's checkpoint) into ``--out``. The network never sees the dataset's couplings: it is built
on an empty Hamiltonian of the same size, its first layer learned from a small random start.

The networks are the nets of the registry that learn their couplings (a trainable first layer)
and the MADE baselines, and any such net a ``--plugin`` registers. If the file holds the true
couplings and the network has a learned first layer, it prints the recovery figures (Pearson r
of |W| vs |J|, signed r after sign alignment, regression slope) and writes the |W| vs |J|
scatter plot ``recovery.png``; ``--plm`` adds pseudo-likelihood maximisation on the same samples.

A folder that holds another fit is not overwritten unless ``--overwrite`` is given (it removes
fit.json, model.mpack and recovery.png only); without ``--out`` each fit takes a new folder
(results/fit, results/fit-2, ...).

Example: netket-arnn fit sk100_beta2.npz --model sk_1rsb_learned --epochs 30 --plm
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .. import registry
from .._provenance import provenance
from ._args import (
    HelpFormatter,
    add_plugin_argument,
    add_precision_arguments,
    enable_float64_if_needed,
    jax_precision,
    net_help,
    non_negative_int,
    plain,
    positive_float,
    positive_int,
    precision,
)
from ._output import claim_folder, speaker, write_json

NAME = "fit"
DEFAULT_OUT = os.path.join("results", "fit")
DEFAULT_MODEL = "sk_1rsb_learned"
#: What a fit owns in its folder (``--overwrite`` removes these and nothing else).
OWNED = ("fit.json", "model.mpack", "recovery.png")
#: Earlier names of ``--model``, kept with a warning.
DEPRECATED_MODELS = {
    "made": "made_23",
    "sk_rs": "sk_rs_learned",
    "sk_1rsb": "sk_1rsb_learned",
    "sk_2rsb": "sk_2rsb_learned",
}


def fit_models() -> list[str]:
    """The registry's nets that can be fitted to data without the couplings: learned first layer, or MADE."""
    return [name for name in registry.net_names() if registry.get_net(name).learns_from_data]


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="train a network by maximum likelihood on a dataset; coupling recovery if J is known",
        description=plain(__doc__),
        formatter_class=HelpFormatter,
    )
    p.add_argument("data", help="dataset file (.npz from netket-arnn sample)")
    g = p.add_argument_group("model")
    names = fit_models()
    g.add_argument(
        "--model",
        choices=[*names, *DEPRECATED_MODELS],
        default=DEFAULT_MODEL,
        metavar="NAME",
        help="network, by its name in the registry of nets: "
        + net_help(names)
        + ". Deprecated names: "
        + ", ".join(f"{old} (now {new})" for old, new in DEPRECATED_MODELS.items()),
    )
    g.add_argument(
        "--init-scale",
        type=positive_float,
        default=0.01,
        help="std of the random start of a learned first layer (the couplings)",
    )
    add_precision_arguments(g)
    add_plugin_argument(g)
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=30, help="passes over the training set")
    g.add_argument("--batch-size", type=positive_int, default=1000, help="samples per step")
    g.add_argument("--lr", type=positive_float, default=1e-2, help="Adam learning rate")
    g.add_argument("--validation", type=_fraction, default=0.1, help="fraction of samples held out")
    g.add_argument("--patience", type=positive_int, default=None, help="stop after this many epochs w/o improvement")
    g.add_argument("--seed", type=non_negative_int, default=0, help="seed of initialisation, split and shuffling")
    g.add_argument("--plm", action="store_true", help="also fit the couplings by pseudo-likelihood")
    g = p.add_argument_group("output")
    g.add_argument(
        "--out", default=None, help=f"output folder (None: {DEFAULT_OUT}, or {DEFAULT_OUT}-2, ... if it holds a fit)"
    )
    g.add_argument(
        "--overwrite", action="store_true", help="replace the fit in --out (its fit.json, model.mpack, recovery.png)"
    )
    g.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)
    return p


def model_name(name: str) -> str:
    """The registry name of ``--model`` (a deprecated name is translated, with a warning on stderr)."""
    if name in DEPRECATED_MODELS:
        new = DEPRECATED_MODELS[name]
        print(f"warning: --model {name} is deprecated; use --model {new}", file=sys.stderr, flush=True)
        return new
    return name


def build_model(name: str, n_sites: int, beta: float, args):
    """The network ``name`` on ``n_sites`` spins, knowing nothing of the data's couplings."""
    import numpy as np

    from ..operators import from_couplings

    blank = from_couplings(np.zeros((n_sites, n_sites)))  # only the size and β shape the start
    options = {"couplings_init_scale": args.init_scale} if registry.get_net(name).learned_couplings else {}
    return registry.build_net(name, blank, beta, **jax_precision(args), **options)


def run(args) -> int:
    name = model_name(args.model)
    net = registry.get_net(name)
    out = claim_folder(args.out, DEFAULT_OUT, OWNED, overwrite=args.overwrite, command=NAME)
    enable_float64_if_needed(args)
    import netket as nk
    import numpy as np

    from ..data import BoltzmannDataset, coupling_recovery, learned_couplings, pseudo_likelihood_couplings
    from ..driver import MaximumLikelihood

    say = speaker(args.quiet)
    data = BoltzmannDataset.load(args.data)  # warns if its diagnostics failed
    say(f"dataset: {data}")
    if data.passed is False:
        say("  its diagnostics FAILED: " + "; ".join(data.diagnostics.failures))
    model = build_model(name, data.n_sites, data.beta, args)
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
        f"model: {name} ({net.description}), {vs.n_parameters} parameters; {driver.n_train} training and "
        f"{driver.n_validation} validation samples, {driver.steps_per_epoch} steps per epoch; output: {out}"
    )
    os.makedirs(out, exist_ok=True)
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
        say(f"epoch {epoch + 1}: train NLL per spin {row['train_nll']:.5f} ± {row['train_nll_error']:.5f}{val_text}")
        if driver.stopped_early:
            say(f"stopped early, best validation NLL {driver.best_validation_nll:.5f} (parameters restored)")
            break
    driver.save(os.path.join(out, "model.mpack"))
    results = {
        "data": os.path.abspath(args.data),
        "dataset": repr(data),
        "n_sites": int(data.n_sites),
        "beta": float(data.beta),
        "n_samples": int(data.n_samples),
        "model": {"name": name, "label": net.label, "description": net.description},
        "settings": {k: v for k, v in vars(args).items() if k not in ("run", "overwrite")},
        "precision": precision(args),
        "optimizer": {"name": "adam", "learning_rate": args.lr},
        "provenance": provenance(**precision(args)),
        "checkpoint": "model.mpack",
        "n_parameters": int(vs.n_parameters),
        "history": history,
        "seconds": time.perf_counter() - start,
    }
    results["settings"]["model"] = name

    H = data.hamiltonian
    if H is not None and net.learned_couplings:
        J = np.asarray(H.couplings)
        W = learned_couplings(vs.variables, model)
        estimates = {"maximum likelihood": W}
        if args.plm:
            estimates["pseudo-likelihood"] = pseudo_likelihood_couplings(data.samples, data.beta).couplings
        results["recovery"] = {}
        say("coupling recovery (r of |W| vs |J|; signed r after sign alignment; slope):")
        for method, estimate in estimates.items():
            rec = coupling_recovery(estimate, J).as_dict()
            rec["r_signed_per_site"] = coupling_recovery(estimate, J, align="column").r_signed
            results["recovery"][method] = rec
            say(
                f"  {method:>18}: r_abs = {rec['r_abs']:.4f}, r_signed = {rec['r_signed']:.4f} "
                f"(per-site signs {rec['r_signed_per_site']:.4f}), slope = {rec['slope']:.4f}"
            )
        png = os.path.join(out, "recovery.png")
        title = f"{net.label} on N = {data.n_sites} spins, β = {data.beta:g}, M = {data.n_samples} samples"
        scatter_recovery(estimates, J, results["recovery"], png, title=title, metadata=results["provenance"])
        say(f"wrote {png}")
    elif H is None:
        say("the dataset holds no couplings: no recovery figures")
    path = os.path.join(out, "fit.json")
    from ..driver.results import _jsonable

    write_json(path, _jsonable(results))
    say(f"wrote {path}")
    return 0


def scatter_recovery(estimates: dict, J, recovery: dict, path: str, *, title: str, metadata=None) -> None:
    """|W| against |J| for each estimate, with the line y = x of a perfect recovery."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows, cols = np.triu_indices(J.shape[0], 1)
    fig, axes = plt.subplots(1, len(estimates), figsize=(5 * len(estimates), 4.6), squeeze=False, layout="constrained")
    for ax, (method, W) in zip(axes[0], estimates.items()):
        x, y = np.abs(J[rows, cols]), np.abs(np.asarray(W)[rows, cols])
        ax.scatter(x, y, s=3, alpha=0.5, label="pairs i < j")
        top = float(max(x.max(initial=0.0), y.max(initial=0.0))) or 1.0
        ax.plot([0, top], [0, top], color="k", lw=0.8, ls="--", label="y = x (perfect recovery)")
        ax.set_xlabel("|J_ij| (true coupling)")
        ax.set_ylabel("|W_ij| (estimated coupling)")
        ax.set_title(f"{method}: r(|W|,|J|) = {recovery[method]['r_abs']:.3f}", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title)
    info = {"Software": "netket-arnn", "Title": title}
    if metadata:
        info["Description"] = json.dumps(metadata, default=str)
    from .._io import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, dpi=110, format="png", metadata=info))
    plt.close(fig)
