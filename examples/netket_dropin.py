r"""The physics ARNNs as drop-in NetKet models: two plain NetKet scripts, one line changed.

What it shows.

1. Free-energy training (a classical problem). A NetKet script that trains
   ``nk.models.ARNNDense`` on an SK instance with :class:`netket_arnn.VariationalFreeEnergy`
   (NetKet's driver interface: ``run``, loggers, callbacks) becomes a physics-ARNN script by
   changing the one line that builds the model, to ``na.build_net("sk_1rsb", H, beta)`` (SK_1RSB,
   from the registry of named nets, :func:`netket_arnn.build_net`). Sampler, variational state,
   optimizer, driver and logger stay as they are. Exact enumeration
   (:func:`netket_arnn.exact.thermodynamics`) gives the reference free energy.
2. Ground state of a quantum model. Physics ARNNs are the ansatz of NetKet's own ``nk.driver.VMC``
   with stochastic reconfiguration (``nk.optimizer.SR``) for the transverse-field Ising chain
   :math:`H = -\sum_i \sigma^z_i\sigma^z_{i+1} - h\sum_i \sigma^x_i` (``nk.operator.Ising`` with
   J = -1, h = 1, periodic), compared with ``nk.exact.lanczos_ed``. The ansätze are built on the
   chain's classical couplings (:func:`netket_arnn.from_ising` of the same ``nk.operator.Ising``
   without its field, which also converts NetKet's sign convention): the registry's ``1l`` (1L,
   :class:`~netket_arnn.models.SingleLayerARNN`) and ``sk_1rsb_learned`` (SK_1RSB,
   :class:`~netket_arnn.models.SpinGlassARNN`, dense, its first layer learned). All models of the
   package have ``machine_pow = 2`` and positive amplitudes (:math:`\log\psi = \frac12\log q`),
   which suits this ground state: it is positive (Perron–Frobenius). NetKet's ``ARNNDense`` is
   trained beside them. What to expect: the physics ARNNs are built for Boltzmann distributions of
   pairwise models, and :math:`|\psi_0|^2` of the TFIM is not one; they reach a relative energy
   error of about :math:`10^{-3}` (the level of a pairwise Jastrow ansatz), NetKet's larger
   ``ARNNDense`` goes below. The point of this part is that they plug into NetKet's quantum
   drivers unchanged.

The paper has no such experiment: there are no published numbers to draw beside ours.

Modes (each writes ``netket_dropin.csv`` (one row per model and step), ``netket_dropin.json`` and
``netket_dropin.png`` into ``--out``):

- ``--smoke``: about a minute on 2 CPU cores; only checks the pipeline.
- default (quick, about 3 minutes on 2 CPU cores): SK N = 16, β = 1, 300 Adam steps of batch
  1000; TFIM chain N = 10, 300 SR steps of batch 1500.
- ``--full``: SK N = 20, 2000 steps of batch 2000; TFIM chain N = 16, 1000 SR steps of batch 4000.

    python examples/netket_dropin.py [--smoke | --full] [--out results/netket_dropin/quick]
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

NAME = "netket_dropin"
MODES = {
    "smoke": dict(sk_n=8, sk_steps=5, tfim_n=6, tfim_steps=5, sk_samples=128, tfim_samples=128),
    "quick": dict(sk_n=16, sk_steps=300, tfim_n=10, tfim_steps=300, sk_samples=1000, tfim_samples=1500),
    "full": dict(sk_n=20, sk_steps=2000, tfim_n=16, tfim_steps=1000, sk_samples=2000, tfim_samples=4000),
}


def label(ansatz: str) -> str:
    """How figures and tables name a model: NetKet's ``ARNNDense``, or the registry net's label."""
    return ansatz if ansatz == "ARNNDense" else na.get_net(ansatz).label


def free_energy_training(n_sites: int, n_steps: int, n_samples: int, ansatz: str):
    """The plain NetKet script of part 1; ``ansatz`` selects which of the two model lines runs."""
    beta = 1.0
    H = na.sherrington_kirkpatrick(n_sites, seed=1)

    if ansatz == "sk_1rsb":
        model = na.build_net("sk_1rsb", H, beta)  # <- the one line that changes
    else:
        model = nk.models.ARNNDense(hilbert=H.hilbert, layers=2, features=(4, 2))

    sampler = nk.sampler.ARDirectSampler(H.hilbert)
    vstate = nk.vqs.MCState(sampler, model, n_samples=n_samples, seed=0)
    driver = na.VariationalFreeEnergy(H, nk.optimizer.Adam(1e-2), variational_state=vstate, beta=beta)
    log = nk.logging.RuntimeLog()
    driver.run(n_iter=n_steps, out=log)

    f_exact = na.exact.thermodynamics(H, beta).free_energy
    f = np.real(np.asarray(log.data["free_energy_per_spin"]["Mean"]))
    return {
        "value": f,
        "error": np.asarray(log.data["free_energy_per_spin"]["Sigma"]),
        "reference": f_exact,
        "n_parameters": vstate.n_parameters,
    }


def tfim_ground_state(n_sites: int, n_steps: int, n_samples: int, ansatz: str):
    """The plain NetKet VMC script of part 2, with a physics ARNN (or NetKet's ARNNDense) as ansatz."""
    hilbert = nk.hilbert.Spin(0.5, n_sites)
    chain = nk.graph.Chain(n_sites, pbc=True)
    ham = nk.operator.Ising(hilbert, chain, h=1.0, J=-1.0)  # -Σ σz σz - Σ σx (NetKet's sign of J)
    e_exact = float(nk.exact.lanczos_ed(ham)[0])

    classical = na.from_ising(nk.operator.Ising(hilbert, chain, h=0.0, J=-1.0))  # the chain's couplings
    if ansatz == "ARNNDense":
        model = nk.models.ARNNDense(hilbert=hilbert, layers=2, features=(4, 2))
    else:  # "1l" or "sk_1rsb_learned", built on the chain's couplings at β = 0.5
        options = {"sparse": False} if ansatz == "sk_1rsb_learned" else {}
        model = na.build_net(ansatz, classical, 0.5, **options)

    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(hilbert), model, n_samples=n_samples, seed=0)
    driver = nk.driver.VMC(
        ham,
        nk.optimizer.Sgd(learning_rate=0.05),
        variational_state=vstate,
        preconditioner=nk.optimizer.SR(diag_shift=0.01),
    )
    log = nk.logging.RuntimeLog()
    driver.run(n_iter=n_steps, out=log)

    e = np.real(np.asarray(log.data["Energy"]["Mean"]))
    return {
        "value": e,
        "error": np.asarray(log.data["Energy"]["Sigma"]),
        "reference": e_exact,
        "n_parameters": vstate.n_parameters,
    }


def main(argv=None):
    args = gallery.parse_args(__doc__, NAME, argv)
    m = MODES[args.mode]
    clock = gallery.Clock()
    writer = gallery.RowWriter(
        os.path.join(args.out, f"{NAME}.csv"),
        ["part", "model", "n_parameters", "step", "value", "error", "reference", "relative_error"],
    )
    runs, summary = {}, []
    jobs = [
        ("free energy, SK", free_energy_training, m["sk_n"], m["sk_steps"], m["sk_samples"], ("ARNNDense", "sk_1rsb")),
        (
            "ground state, TFIM",
            tfim_ground_state,
            m["tfim_n"],
            m["tfim_steps"],
            m["tfim_samples"],
            ("ARNNDense", "1l", "sk_1rsb_learned"),
        ),
    ]
    for part, script, n, steps, n_samples, ansatzes in jobs:
        for ansatz in ansatzes:
            model = label(ansatz)
            clock.say(f"{part} N = {n}: {model}, {steps} steps ({args.mode} mode)")
            out = script(n, steps, n_samples, ansatz)
            rel = (out["value"] - out["reference"]) / abs(out["reference"])
            runs[(part, model)] = (n, rel)
            for k, (v, e, r) in enumerate(zip(out["value"], out["error"], rel)):
                writer.write(
                    part=part,
                    model=model,
                    n_parameters=out["n_parameters"],
                    step=k,
                    value=v,
                    error=e,
                    reference=out["reference"],
                    relative_error=r,
                )
            tail = rel[-max(len(rel) // 10, 1) :]
            summary.append(
                dict(
                    part=part,
                    N=n,
                    model=model,
                    n_parameters=int(out["n_parameters"]),
                    reference=float(out["reference"]),
                    relative_error_last_10_percent=float(np.mean(tail)),
                )
            )
            clock.say(f"  relative error over the last 10% of steps: {np.mean(tail):.3e}")
            gallery.write_json(
                os.path.join(args.out, f"{NAME}.json"),
                {"mode": args.mode, "settings": m, "seconds": clock(), "summary": summary},
            )
    plot(runs, args, os.path.join(args.out, f"{NAME}.png"))
    clock.say(f"done ({args.mode} mode)")


def plot(runs, args, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    titles = {
        "free energy, SK": (r"$(f[q] - f)\,/\,|f|$", "1. VariationalFreeEnergy, SK N = {n}, β = 1 (exact f)"),
        "ground state, TFIM": (r"$(E - E_0)\,/\,|E_0|$", "2. nk.driver.VMC + SR, TFIM chain N = {n}, h = 1"),
    }
    styles = {
        label("ARNNDense"): ("tab:gray", "-"),
        label("sk_1rsb"): ("tab:orange", "-"),
        label("sk_1rsb_learned"): ("tab:orange", "-"),
        label("1l"): ("tab:red", "--"),
    }
    sizes = {p: n for (p, _), (n, _) in runs.items()}
    for ax, part in zip(axes, titles):
        for (p, model), (_, rel) in runs.items():
            if p == part:
                colour, ls = styles[model]
                steps = np.arange(len(rel))
                ax.plot(steps, np.abs(rel), color=colour, lw=0.6, alpha=0.3)
                # The per-step values are Monte Carlo estimates: the bold curve is their running mean.
                window = max(len(rel) // 30, 1)
                smooth = np.convolve(rel, np.ones(window) / window, mode="valid")
                ax.plot(
                    steps[window - 1 :],
                    np.abs(smooth),
                    color=colour,
                    ls=ls,
                    lw=1.6,
                    label=model,
                    zorder=4 if ls == "--" else 3,
                )
        ylabel, title = titles[part]
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(f"|{ylabel}| (bold: running mean)")
        ax.set_title(title.format(n=sizes[part]), fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Physics ARNNs inside plain NetKet scripts ({args.mode} mode); NetKet's ARNNDense in grey", fontsize=9
    )
    gallery.save_figure(fig, path, args.mode)


if __name__ == "__main__":
    main()
