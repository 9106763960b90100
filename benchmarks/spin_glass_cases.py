"""Benchmark cases of the SK_kRSB networks, run by ``benchmarks/bench_models.py``.

``cases(quick)`` returns, in the case format of ``bench_models.py`` (dicts with ``name``, ``N``,
``factory() -> (hilbert, model, hamiltonian)``, ``expected`` exponent):

- SK_RS, SK_1RSB, SK_2RSB, dense, on SK instances at N in {100, 200, 400} (quick: {16, 32, 64});
- the same three, sparse, and FrontierARNN (``frontier``, the lattices' net), on periodic L x L
  Edwards–Anderson lattices (Gaussian couplings, raster order), L in {16, 32, 64} (quick: {4, 6, 8});
- a size-matched baseline at the dense sizes: NetKet ``ARNNDense`` MADE with 2 layers and the
  smallest width whose parameter count reaches that of SK_2RSB (``MADE_2w~2RSB``), next to the
  fixed ``ARNNDense(d1,w1)`` (~3N² parameters) that ``bench_models.py`` adds at every N.

Expected cost per batch (sampling and log-prob + gradient): dense O(N²(k+1)); sparse
O(N·W·(k+1)) with frontier width W ~ 2L, i.e. O(N^1.5) on a lattice.

Note for full-size runs: ``bench_models.py`` adds its ARNNDense baseline at *every* N, including
N = 4096 for L = 64, where a MADE pass costs O(N³) per sampled batch; select cases with
``--models`` (e.g. run the sparse cases with ``--no-baseline``) if that is too slow.

Run alone (quick check): ``python benchmarks/bench_models.py --quick --models SK_RS SK_1RSB``.
"""

from __future__ import annotations

import netket as nk

import netket_arnn as na
from netket_arnn.models import made, made_width_for, spin_glass_n_params

BETA = 1.0
DENSE_SIZES = (100, 200, 400)
QUICK_DENSE_SIZES = (16, 32, 64)
LATTICE_SIDES = (16, 32, 64)
QUICK_LATTICE_SIDES = (4, 6, 8)
NETS = {0: "sk_rs", 1: "sk_1rsb", 2: "sk_2rsb"}  # registry names; the cases are named by their labels


def _case(name, N, factory, expected):
    return {"name": name, "N": int(N), "factory": factory, "expected": expected}


def _made_2w(depth: int, width: int) -> str:
    """The registry name of a MADE of this depth and width, registered here if the package has none."""
    name = f"made_{depth}{width}"
    if name not in na.net_names():

        def build(H, beta, *, param_dtype, dtype, **options):
            return made(H.hilbert, depth, width, param_dtype=param_dtype, dtype=dtype, **options)

        na.register_net(na.Net(name, f"MADE_{depth}{width}", f"MADE: depth {depth}, width {width}N", build))
    return name


def _dense(N, k):
    H = na.sherrington_kirkpatrick(N, seed=1)
    return H.hilbert, na.build_net(NETS[k], H, BETA), H


def _sparse(L, name):
    H = na.edwards_anderson(nk.graph.Grid([L, L], pbc=True), seed=1)
    return H.hilbert, na.build_net(name, H, BETA), H


def _made_like_2rsb(N):
    H = na.sherrington_kirkpatrick(N, seed=1)
    width = made_width_for(N, spin_glass_n_params(H, 2), depth=2)
    return H.hilbert, na.build_net(_made_2w(2, width), H, BETA), H


def cases(quick: bool) -> list[dict]:
    """SK_kRSB dense and sparse cases (see the module doc)."""
    out = []
    for N in QUICK_DENSE_SIZES if quick else DENSE_SIZES:
        for k, name in NETS.items():
            out.append(_case(na.get_net(name).label, N, lambda N=N, k=k: _dense(N, k), 2))
        out.append(_case("MADE_2w~2RSB", N, lambda N=N: _made_like_2rsb(N), "3 sampling (N passes), 2 grad"))
    for L in QUICK_LATTICE_SIDES if quick else LATTICE_SIDES:
        for name in NETS.values():
            out.append(
                _case(f"{na.get_net(name).label}_sparse", L * L, lambda L=L, n=f"{name}_sparse": _sparse(L, n), 1.5)
            )
        out.append(_case("Frontier", L * L, lambda L=L: _sparse(L, "frontier"), 1.5))
    return out
