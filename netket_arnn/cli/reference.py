"""``netket-arnn reference``: exact Curie–Weiss and Sherrington–Kirkpatrick reference values."""

from __future__ import annotations

from ._args import HelpFormatter, plain, positive_float, positive_int

NAME = "reference"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME,
        help="print exact Curie–Weiss and SK reference values",
        description=plain(__doc__),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--n", type=positive_int, default=100, help="Curie–Weiss system size")
    p.add_argument("--betas", type=positive_float, nargs="+", default=[0.5, 1.0, 1.2, 1.5, 2.0], help="β values")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import exact

    print(f"Curie–Weiss N={args.n}, J=1, h=0: exact finite-N and mean-field (N→∞) per-spin values")
    print(f"{'beta':>6} {'f_N':>14} {'e_N':>12} {'s_N':>10} {'<|m|>_N':>9} {'f_inf':>14}")
    for beta in args.betas:
        cw = exact.curie_weiss_closed_form(args.n, beta)
        inf = exact.curie_weiss_thermo_limit(beta)
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
