"""The ``netket-arnn`` command.

``netket-arnn`` alone runs the built-in default job: β annealing of the Curie–Weiss model
with N = 100 (CW_N at its exact parameters, CW_∞ and 1P trained), printing a live per-β
table with the relative error to the exact free energy, and writing JSON and a PNG plot.

``netket-arnn anneal ...`` runs the same protocol on a chosen system and models;
``netket-arnn reference`` prints exact Curie–Weiss and SK reference values.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import exact

DEFAULT_OUT = os.path.join("results", "anneal")


# -- reference ---------------------------------------------------------------------------------


def _reference(args) -> int:
    print(f"Curie–Weiss N={args.n}, J=1, h=0: exact finite-N and mean-field (N→∞) per-spin values")
    print(f"{'beta':>6} {'f_N':>14} {'e_N':>12} {'s_N':>10} {'<|m|>_N':>9} {'f_inf':>14}")
    for beta in args.betas:
        cw = exact.curie_weiss(args.n, beta)
        inf = exact.curie_weiss_infinite(beta)
        print(
            f"{beta:6.2f} {cw.free_energy:14.8f} {cw.energy:12.6f} {cw.entropy:10.6f} "
            f"{cw.abs_magnetization:9.5f} {inf.free_energy:14.8f}"
        )
    print("\nSherrington–Kirkpatrick N→∞, J=1, h=0: replica-symmetric and 1RSB free energy per spin")
    print(f"{'beta':>6} {'f_RS':>12} {'f_1RSB':>12} {'q_RS':>8} {'q1':>8} {'m':>8}")
    for beta in args.betas:
        rs, rsb = exact.sk_replica_symmetric(beta), exact.sk_one_step_rsb(beta)
        print(f"{beta:6.2f} {rs.free_energy:12.7f} {rsb.free_energy:12.7f} {rs.q1:8.4f} {rsb.q1:8.4f} {rsb.m:8.4f}")
    return 0


# -- systems -------------------------------------------------------------------------------------


def build_system(args):
    """The Hamiltonian chosen on the command line, and a short label for it."""
    import netket as nk

    from .operators import curie_weiss, edwards_anderson, load_instance, sherrington_kirkpatrick

    if args.system == "cw":
        n = 100 if args.n is None else args.n
        return curie_weiss(n, J=args.J, h=args.h), f"Curie–Weiss N={n} J={args.J:g} h={args.h:g}"
    if args.system == "sk":
        n = 20 if args.n is None else args.n
        return sherrington_kirkpatrick(n, seed=args.seed), f"SK N={n} seed={args.seed}"
    if args.system == "ea":
        extent = args.lattice or [4, 4]
        graph = nk.graph.Grid(extent=extent, pbc=args.pbc)
        H = edwards_anderson(graph, couplings=args.couplings, seed=args.seed)
        shape = "x".join(str(e) for e in extent)
        return H, f"Edwards–Anderson {shape} {'periodic' if args.pbc else 'open'} {args.couplings} seed={args.seed}"
    if args.system == "file":
        if not args.instance:
            raise SystemExit("--system file needs --instance PATH")
        H = load_instance(args.instance)
        return H, f"instance {os.path.basename(args.instance)} (N={H.n_sites})"
    raise SystemExit(f"unknown system {args.system!r}")


# -- models --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """How the command builds one model: ``build(H, beta0, args) -> flax module``."""

    description: str
    build: Callable
    exact: bool | str = False  # anneal's exact_parameters: True, "rebuild", or False to train


def _made(H, beta, args):
    import netket as nk

    # ARNNDense(layers=1) is a single masked dense layer; deeper ones have hidden widths `features`.
    features = tuple(args.made_features) if len(args.made_features) > 1 else args.made_features[0]
    return nk.models.ARNNDense(hilbert=H.hilbert, layers=args.made_layers, features=features, param_dtype=_dtype(args))


def _physics(name: str, **options):
    def build(H, beta, args):
        from . import models

        cls = getattr(models, name, None)
        if cls is None:
            raise SystemExit(f"netket_arnn.models.{name} is not available in this installation")
        return cls.from_hamiltonian(H, beta, param_dtype=_dtype(args), **options)

    return build


def _spin_glass(k: int):
    def build(H, beta, args):
        from .models import SpinGlassARNN

        return SpinGlassARNN.from_hamiltonian(H, beta, k, param_dtype=_dtype(args))

    return build


MODELS: dict[str, ModelSpec] = {
    "cw_n": ModelSpec("CW_N, exact Curie–Weiss ARNN at every β", _physics("CurieWeissARNN"), exact=True),
    "cw_inf": ModelSpec("CW_∞, N+2 trained parameters", _physics("CurieWeissInfARNN")),
    "1p": ModelSpec("1P baseline, one trained weight per site", _physics("OneParameterARNN")),
    "h2": ModelSpec("H2ARNN, exact for any pairwise H (N <= 20)", _physics("H2ARNN"), exact="rebuild"),
    "1l": ModelSpec("1L, one masked linear layer (trained)", _physics("SingleLayerARNN")),
    "sk_rs": ModelSpec("SK_RS (k = 0), trained", _spin_glass(0)),
    "sk_1rsb": ModelSpec("SK_1RSB (k = 1), trained", _spin_glass(1)),
    "sk_2rsb": ModelSpec("SK_2RSB (k = 2), trained", _spin_glass(2)),
    "made": ModelSpec("NetKet ARNNDense (MADE), trained", _made),
}


def _dtype(args):
    import jax.numpy as jnp

    return jnp.float32 if args.dtype == "float32" else jnp.float64


# -- anneal ----------------------------------------------------------------------------------------


def _betas(args) -> list[float]:
    from .driver import beta_grid

    if args.betas:
        return [float(b) for b in args.betas]
    start, stop, step = args.beta_range
    return [float(b) for b in beta_grid(start, stop, step)]


def _anneal(args) -> int:
    import jax

    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import netket as nk

    from .driver import PlateauStopping, anneal
    from .driver.anneal import exact_reference, format_header, format_row

    H, label = build_system(args)
    betas = _betas(args)
    exact_f = exact_reference(H)
    models = args.models or (["cw_n", "cw_inf", "1p"] if args.system == "cw" else ["made"])
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {sorted(MODELS)}")
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "anneal.json")
    png_path = os.path.join(args.out, "anneal.png")

    say = (lambda *a, **k: None) if args.quiet else (lambda *a, **k: print(*a, **k, flush=True))
    say(f"system: {label}   β: {betas[0]:g} … {betas[-1]:g} ({len(betas)} values)")
    if exact_f is None:
        say("no exact free energy for this system (not Curie–Weiss, N > 20): relative errors not shown")
    results = {}
    start = time.perf_counter()
    for k, name in enumerate(models):
        spec = MODELS[name]
        model = spec.build(H, betas[0], args)
        sampler = nk.sampler.ARDirectSampler(H.hilbert)
        vstate = nk.vqs.MCState(
            sampler,
            model,
            n_samples=args.n_samples,
            seed=args.init_seed + k,
            sampler_seed=args.init_seed + 1000 + k,
            chunk_size=args.chunk_size,
        )
        trained = not spec.exact
        say(
            f"\n== {name}: {spec.description}; {vstate.n_parameters} trainable parameters"
            + (f"; {args.steps_per_beta} steps per β, {args.warmup_steps} warm-up" if trained else "")
        )
        say(format_header())
        optimizer = nk.optimizer.Adam(args.lr) if args.optimizer == "adam" else nk.optimizer.Sgd(args.lr)
        preconditioner = nk.optimizer.SR(diag_shift=args.sr) if args.sr is not None else None
        early = PlateauStopping(patience=args.patience, window=args.window) if args.patience else None
        results[name] = anneal(
            H,
            vstate,
            betas,
            optimizer=optimizer,
            preconditioner=preconditioner,
            steps_per_beta=args.steps_per_beta,
            warmup_steps=args.warmup_steps,
            early_stopping=early,
            n_final_samples=args.final_samples,
            exact_parameters=spec.exact or None,
            exact=exact_f,
            overlaps=args.overlaps,
            on_record=lambda r: say(format_row(r)),
            metadata={"name": name, "system": label},
        )
    total = time.perf_counter() - start

    say(f"\nsummary ({total:.1f} s):")
    summary = {}
    for name, res in results.items():
        rel = [r.relative_error for r in res if r.relative_error is not None]
        summary[name] = {
            "mean_relative_error": sum(rel) / len(rel) if rel else None,
            "max_relative_error": max(rel) if rel else None,
            "wall_time": sum(r.wall_time for r in res),
        }
        if rel:
            say(f"  {name:>8}: mean rel. error {summary[name]['mean_relative_error']:.2e}, max {max(rel):.2e}")
        else:
            say(f"  {name:>8}: f at β={res[-1].beta:g}: {res[-1].free_energy:.8f} ± {res[-1].free_energy_error:.1e}")
    payload = {
        "system": {"label": label, "hamiltonian": repr(H), "metadata": H.metadata, "n_sites": H.n_sites},
        "betas": betas,
        "settings": {k: v for k, v in vars(args).items() if k != "func"},
        "summary": summary,
        "wall_time": total,
        "runs": {name: res.as_dict() for name, res in results.items()},
    }
    with open(json_path, "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    say(f"wrote {json_path}")
    if not args.no_plot:
        from .plotting import plot_anneal

        plot_anneal(results, png_path, title=label)
        say(f"wrote {png_path}")
    return 0


def _add_anneal_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("system")
    g.add_argument("--system", choices=["cw", "sk", "ea", "file"], default="cw", help="default: cw")
    g.add_argument("--n", type=int, default=None, help="number of spins (cw: 100, sk: 20)")
    g.add_argument("--J", type=float, default=1.0, help="Curie–Weiss coupling")
    g.add_argument("--h", type=float, default=0.0, help="Curie–Weiss field")
    g.add_argument("--seed", type=int, default=1, help="instance seed (sk, ea)")
    g.add_argument("--lattice", type=int, nargs="+", default=None, help="ea lattice extent, e.g. 4 4")
    g.add_argument("--pbc", action="store_true", help="ea: periodic boundaries")
    g.add_argument("--couplings", choices=["gaussian", "pm1"], default="gaussian", help="ea couplings")
    g.add_argument("--instance", default=None, help="instance file (.npz from netket_arnn.save_instance)")

    g = p.add_argument_group("models")
    g.add_argument(
        "--models",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"models to run, from {', '.join(MODELS)} (default: cw_n cw_inf 1p on cw, made otherwise)",
    )
    g.add_argument("--made-layers", type=int, default=2)
    g.add_argument("--made-features", type=int, nargs="+", default=[4])
    g.add_argument("--dtype", choices=["float64", "float32"], default="float64")

    g = p.add_argument_group("protocol")
    b = g.add_mutually_exclusive_group()
    b.add_argument("--betas", type=float, nargs="+", default=None, help="explicit β values")
    b.add_argument(
        "--beta-range",
        type=float,
        nargs=3,
        default=[0.1, 2.0, 0.1],
        metavar=("START", "STOP", "STEP"),
        help="β grid (default 0.1 2.0 0.1; the paper used 0.1 2.0 0.05)",
    )
    g.add_argument("--steps-per-beta", type=int, default=100)
    g.add_argument("--warmup-steps", type=int, default=300)
    g.add_argument(
        "--patience",
        type=int,
        default=0,
        help="early stop at a β after this many steps without improvement of the windowed f (0: off)",
    )
    g.add_argument("--window", type=int, default=20, help="smoothing window of --patience")
    g.add_argument("--n-samples", type=int, default=1000, help="samples per training step")
    g.add_argument("--final-samples", type=int, default=5000, help="fresh samples for each β's estimates")
    g.add_argument("--chunk-size", type=int, default=None)
    g.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    g.add_argument("--lr", type=float, default=1e-2, help="learning rate (the paper: Adam 1e-3)")
    g.add_argument("--sr", type=float, default=None, metavar="DIAG_SHIFT", help="precondition with SR")
    g.add_argument("--init-seed", type=int, default=0, help="seed of model initialisation and sampling")
    g.add_argument("--overlaps", action="store_true", help="also estimate P(q) at every β")

    g = p.add_argument_group("output")
    g.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    g.add_argument("--no-plot", action="store_true")
    g.add_argument("--quiet", action="store_true", help="no live table")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netket-arnn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    ann = sub.add_parser("anneal", help="train models over a β grid and compare with exact values")
    _add_anneal_arguments(ann)
    ann.set_defaults(func=_anneal)
    ref = sub.add_parser("reference", help="print exact Curie–Weiss and SK reference values")
    ref.add_argument("--n", type=int, default=100, help="Curie–Weiss system size")
    ref.add_argument("--betas", type=float, nargs="+", default=[0.5, 1.0, 1.2, 1.5, 2.0])
    ref.set_defaults(func=_reference)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in ("anneal", "reference", "-h", "--help"):
        # No subcommand: the built-in default job (anneal with its defaults and any options given).
        argv = ["anneal", *argv]
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
