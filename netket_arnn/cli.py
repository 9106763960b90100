"""The ``netket-arnn`` command."""

from __future__ import annotations

import argparse
import sys

from . import exact


def _reference(args) -> None:
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
        print(
            f"{beta:6.2f} {rs.free_energy:12.7f} {rsb.free_energy:12.7f} {rs.q1:8.4f} {rsb.q1:8.4f} {rsb.m:8.4f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netket-arnn", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    ref = sub.add_parser("reference", help="print exact Curie–Weiss and SK reference values")
    ref.add_argument("--n", type=int, default=100, help="Curie–Weiss system size")
    ref.add_argument("--betas", type=float, nargs="+", default=[0.5, 1.0, 1.2, 1.5, 2.0])
    ref.set_defaults(func=_reference)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["reference", *(argv or sys.argv[1:])])
    args.func(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
