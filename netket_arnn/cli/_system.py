"""The Hamiltonian a sub-command works on: its command-line options and how it is built."""

from __future__ import annotations

import argparse
import os

from ._args import finite_float, non_negative_int, positive_int


def add_system_arguments(p: argparse.ArgumentParser, *, default: str) -> None:
    """The "system" options (``--system``, its size, seed, lattice or instance file)."""
    g = p.add_argument_group("system")
    g.add_argument("--system", choices=["cw", "sk", "ea", "ferro2d", "file"], default=default, help="which Hamiltonian")
    g.add_argument("--n", type=positive_int, default=None, help="number of spins (cw: 100, sk: 20)")
    g.add_argument("--J", type=finite_float, default=1.0, help="coupling (cw: Curie–Weiss J, ferro2d: bond J)")
    g.add_argument("--h", type=finite_float, default=0.0, help="uniform field (cw, ferro2d)")
    g.add_argument("--seed", type=non_negative_int, default=1, help="instance seed (sk, ea)")
    g.add_argument(
        "--lattice",
        type=positive_int,
        nargs="+",
        default=[4, 4],
        metavar="L",
        help="lattice extent (ea: e.g. 4 4; ferro2d: L or L W)",
    )
    g.add_argument("--pbc", action="store_true", help="ea, ferro2d: periodic boundaries")
    g.add_argument("--couplings", choices=["gaussian", "pm1"], default="gaussian", help="ea: coupling distribution")
    g.add_argument("--instance", default=None, help="file: instance (.npz from netket_arnn.save_instance)")


def build_system(args):
    """The Hamiltonian chosen on the command line, and a short label for it."""
    import netket as nk

    from ..operators import curie_weiss, edwards_anderson, ferromagnet_2d, load_instance, sherrington_kirkpatrick

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
    if args.system == "ferro2d":
        if len(args.lattice) > 2:
            raise ValueError(f"--system ferro2d needs --lattice L or --lattice L W, got {len(args.lattice)} extents")
        L, W = args.lattice[0], args.lattice[-1]
        H = ferromagnet_2d(L, W, J=args.J, h=args.h, periodic=args.pbc)
        boundary = "periodic" if args.pbc else "open"
        return H, f"2D ferromagnet {L}x{W} {boundary} J={args.J:g} h={args.h:g}"
    if not args.instance:
        raise ValueError("--system file needs --instance PATH")
    H = load_instance(args.instance)
    return H, f"instance {os.path.basename(args.instance)} (N={H.n_sites})"
