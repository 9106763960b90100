"""``netket-arnn reference``: exact reference values, per spin.

Without --system: the Curie–Weiss closed form at --n (default 100) beside its N → ∞ limit, and
the Sherrington–Kirkpatrick replica-symmetric and 1RSB free energies (N → ∞).

With --system: the exact values of that finite instance (the Curie–Weiss closed form at any N,
else enumeration of all 2^N states, N <= 30; about 10 s per β at N = 30), e.g.
``netket-arnn reference --system sk --n 20 --seed 3 --betas 0.5 1 2``; for an SK instance the
N → ∞ replica values are shown beside. log_z_total is the total log Z, every other value is per spin.
"""

from __future__ import annotations

import argparse

from ._args import HelpFormatter, plain, positive_float
from ._system import add_system_arguments, build_system

NAME = "reference"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME,
        help="print exact reference values (closed forms, enumeration of a finite instance)",
        description=plain(__doc__),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--betas", type=positive_float, nargs="+", default=[0.5, 1.0, 1.2, 1.5, 2.0], help="β values")
    add_system_arguments(p, default=None)
    p.set_defaults(run=run)


def run(args) -> int:
    if args.system is None:
        return _closed_forms(args)
    return _instance(args)


def _closed_forms(args: argparse.Namespace) -> int:
    from .. import exact

    n = 100 if args.n is None else args.n
    print(f"Curie–Weiss N={n}, J=1, h=0: exact finite-N and mean-field (N→∞) per-spin values")
    print(f"{'beta':>6} {'f_N':>14} {'e_N':>12} {'s_N':>10} {'<|m|>_N':>9} {'f_inf':>14}")
    for beta in args.betas:
        cw = exact.curie_weiss_closed_form(n, beta)
        inf = exact.curie_weiss_thermo_limit(beta)
        print(
            f"{beta:6.2f} {cw.free_energy:14.8f} {cw.energy:12.6f} {cw.entropy:10.6f} "
            f"{cw.abs_magnetization:9.5f} {inf.free_energy:14.8f}"
        )
    print("\nSherrington–Kirkpatrick N→∞, J=1, h=0: replica-symmetric and 1RSB free energy per spin")
    _replica_table(args.betas)
    return 0


def _replica_table(betas) -> None:
    from .. import exact

    print(f"{'beta':>6} {'f_RS':>12} {'f_1RSB':>12} {'q_RS':>8} {'q1':>8} {'m':>8}")
    for beta in betas:
        rs, rsb = exact.sk_replica_symmetric(beta), exact.sk_one_step_rsb(beta)
        print(f"{beta:6.2f} {rs.free_energy:12.7f} {rsb.free_energy:12.7f} {rs.q1:8.4f} {rsb.q1:8.4f} {rsb.m:8.4f}")


def _instance(args: argparse.Namespace) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)  # enumeration sums 2^N Boltzmann weights: float64
    from .. import exact

    H, label = build_system(args)
    if exact.reference_free_energy(H) is None:
        raise ValueError(
            f"no exact values for {label}: not of Curie–Weiss form and N = {H.n_sites} exceeds the "
            f"enumeration limit N <= {exact.MAX_ENUMERATION_SITES}"
        )
    from ..operators import curie_weiss_parameters

    closed = curie_weiss_parameters(H) is not None
    method = "Curie–Weiss closed form" if closed else f"enumeration of 2^{H.n_sites} states"
    print(f"{label}: exact values ({method}), per spin except log_z_total")
    print(f"{'beta':>6} {'f':>14} {'e':>12} {'s':>10} {'<|m|>':>9} {'log_z_total':>14}")
    for beta in args.betas:
        th = exact.thermodynamics(H, beta)
        print(
            f"{beta:6.2f} {th.free_energy:14.8f} {th.energy:12.6f} {th.entropy:10.6f} "
            f"{th.abs_magnetization:9.5f} {th.log_z:14.6f}"
        )
    if H.metadata.get("model") == "sherrington_kirkpatrick":
        print("\nSherrington–Kirkpatrick N→∞, J=1, h=0: replica-symmetric and 1RSB free energy per spin")
        _replica_table(args.betas)
    return 0
