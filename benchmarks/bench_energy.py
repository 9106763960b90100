"""Energy throughput of ``PairwiseIsing.energy`` against baselines measured in the same run.

Dense couplings are reported in configurations·N²/s, sparse ones in configurations·edges/s.
Baselines: a plain ``jnp.einsum`` quadratic form (the target is to stay within 1.5× of it on
dense couplings) and NetKet's ``PauliStringsJax`` holding the same Hamiltonian as Z/ZZ strings.

    python benchmarks/bench_energy.py --out results/bench_energy.json [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np

import netket_arnn as na

sys.path.insert(0, str(Path(__file__).resolve().parent / "external"))
import _measure as M  # noqa: E402


def timed(fn, *args, repeats: int) -> float:
    """Median wall time of ``fn(*args)`` (compiled, synchronised), in seconds."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pauli_strings(H: na.PairwiseIsing) -> nk.operator.PauliStringsJax:
    n = H.n_sites
    strings, weights = [], []
    for (i, j), w in zip(np.asarray(H.edges), np.asarray(H.edge_weights)):
        s = ["I"] * n
        s[i] = s[j] = "Z"
        strings.append("".join(s))
        weights.append(-w)
    for i, h in enumerate(np.asarray(H.fields)):
        if h != 0:
            s = ["I"] * n
            s[i] = "Z"
            strings.append("".join(s))
            weights.append(-h)
    return nk.operator.PauliStrings(H.hilbert, strings, weights).to_jax_operator()


def einsum_energy(J, h, x):
    x = x.astype(J.dtype)
    return -0.5 * jnp.einsum("bi,ij,bj->b", x, J, x) - x @ h


def run_case(name, H, batch, repeats, with_pauli, seed=0):
    x = jnp.asarray(np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), size=(batch, H.n_sites)))
    work = H.n_edges if H.is_sparse else H.n_sites**2
    unit = "conf·edges/s" if H.is_sparse else "conf·N²/s"
    ours = jax.jit(lambda op, s: op.energy(s))
    base = jax.jit(einsum_energy)
    J, h = H.couplings, H.fields
    np.testing.assert_allclose(ours(H, x), base(J, h, x), rtol=1e-9, atol=1e-9)
    rows = [
        ("PairwiseIsing.energy", timed(ours, H, x, repeats=repeats)),
        ("jnp.einsum (dense)", timed(base, J, h, x, repeats=repeats)),
    ]
    if with_pauli:
        ps = pauli_strings(H)
        diag = jax.jit(lambda op, s: op.get_conn_padded(s)[1].sum(-1))
        np.testing.assert_allclose(diag(ps, x), base(J, h, x), rtol=1e-9, atol=1e-9)
        rows.append(("PauliStringsJax", timed(diag, ps, x, repeats=repeats)))
    reference = rows[1][1]
    return [
        {
            "case": name,
            "n_sites": H.n_sites,
            "n_edges": H.n_edges,
            "sparse": H.is_sparse,
            "batch": batch,
            "method": method,
            "seconds": seconds,
            "throughput": batch * work / seconds,
            "unit": unit,
            "time_vs_einsum": seconds / reference,
        }
        for method, seconds in rows
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench_energy.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)

    L, dense_sizes, batch = (16, (100, 200), 512) if args.quick else (64, (200, 1000), 4096)
    cases = [(f"dense SK N={n}", na.sherrington_kirkpatrick(n, h=0.1, seed=1), n <= 200) for n in dense_sizes]
    lattice = na.edwards_anderson(nk.graph.Hypercube(L, n_dim=2, pbc=True), "gaussian", seed=1, h=0.1)
    cases.append((f"sparse EA {L}x{L}", lattice, True))

    rows = []
    for name, H, with_pauli in cases:
        rows += run_case(name, H, batch if H.n_sites <= 1000 else batch // 4, args.repeats, with_pauli)

    print(f"device: {jax.devices()[0].device_kind}   backend: {jax.default_backend()}")
    print(f"{'case':<20} {'method':<22} {'batch':>6} {'ms':>9} {'throughput':>12} {'unit':<13} {'vs einsum':>9}")
    for r in rows:
        print(
            f"{r['case']:<20} {r['method']:<22} {r['batch']:>6} {1e3 * r['seconds']:>9.3f} "
            f"{r['throughput']:>12.3e} {r['unit']:<13} {r['time_vs_einsum']:>8.2f}x"
        )
    dense_ratios = [r["time_vs_einsum"] for r in rows if r["method"] == "PairwiseIsing.energy" and not r["sparse"]]
    verdict = "PASS" if max(dense_ratios) <= 1.5 else "FAIL"
    print(f"target: dense PairwiseIsing within 1.5x of einsum -> worst {max(dense_ratios):.2f}x: {verdict}")
    meta = {"device": str(jax.devices()[0]), "backend": jax.default_backend(), "machine": platform.machine()}
    M.write_json(args.out, {"meta": meta, "target_dense_ratio": 1.5, "verdict": verdict, "rows": rows})


if __name__ == "__main__":
    main()
