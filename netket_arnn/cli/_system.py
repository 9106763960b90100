"""The Hamiltonian a sub-command works on: its command-line options and how it is built."""

from __future__ import annotations

import argparse
import os

from ._args import finite_float, non_negative_int, positive_int


def add_system_arguments(p: argparse.ArgumentParser, *, default: str) -> None:
    """The "system" options (``--system``, its size, seed, lattice or instance file)."""
    g = p.add_argument_group("system")
    g.add_argument("--system", choices=["cw", "sk", "ea", "file"], default=default, help="which Hamiltonian")
    g.add_argument("--n", type=positive_int, default=None, help="number of spins (cw: 100, sk: 20)")
    g.add_argument("--J", type=finite_float, default=1.0, help="Curie–Weiss coupling")
    g.add_argument("--h", type=finite_float, default=0.0, help="Curie–Weiss field")
    g.add_argument("--seed", type=non_negative_int, default=1, help="instance seed (sk, ea)")
    g.add_argument(
        "--lattice", type=positive_int, nargs="+", default=[4, 4], metavar="L", help="ea: lattice extent, e.g. 4 4"
    )
    g.add_argument("--pbc", action="store_true", help="ea: periodic boundaries")
    g.add_argument("--couplings", choices=["gaussian", "pm1"], default="gaussian", help="ea: coupling distribution")
    g.add_argument("--instance", default=None, help="file: instance (.npz from netket_arnn.save_instance)")


def build_system(args):
    """The Hamiltonian chosen on the command line, and a short label for it."""
    import netket as nk

    from ..operators import curie_weiss, edwards_anderson, load_instance, sherrington_kirkpatrick

    if args.system == "cw":
        n = 100 if args.n is None else args.n
        return curie_weiss(n, J=args.J, h=args.h), f"Curie–Weiss N={n} J={args.J:g} h={args.h:g}"
    if args.system == "sk":
        n = 20 if args.n is None else args.n
        return sherrington_kirkpatrick(n, seed=args.seed), f"SK N={n} seed={args.seed}"
    if args.system == "ea":
        graph = nk.graph.Grid(extent=list(args.lattice), pbc=args.pbc)
        H = edwards_anderson(graph, couplings=args.couplings, seed=args.seed)
        shape = "x".join(str(e) for e in args.lattice)
        return H, f"Edwards–Anderson {shape} {'periodic' if args.pbc else 'open'} {args.couplings} seed={args.seed}"
    if not args.instance:
        raise ValueError("--system file needs --instance PATH")
    H = load_instance(args.instance)
    return H, f"instance {os.path.basename(args.instance)} (N={H.n_sites})"
