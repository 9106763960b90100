"""Parallel tempering: the package's local-field sampler against NetKet's, seconds per sweep.

Both run the same instance (SK, seed 1) at the same β with the same number of chains and
replicas, in the same process one after the other; a sweep is N proposed flips of every replica
of every chain. Each runs twice with the same length; the first call (compilation and warm-up)
is timed apart. Prints a table and writes
JSON (default ``results/tempering_cpu.json``).

    python benchmarks/bench_tempering.py [--n 200] [--sweeps 400] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import netket_arnn as na  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "external"))
import _measure as M  # noqa: E402


def _time(run, sweeps: int) -> dict:
    start = time.perf_counter()
    run(sweeps)  # compiles (one compilation per chain length for both) and warms up
    compiled = time.perf_counter() - start
    start = time.perf_counter()
    run(sweeps)
    return {"compile_and_warmup_s": compiled, "seconds": time.perf_counter() - start, "sweeps": sweeps}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--beta", type=float, default=1.5)
    p.add_argument("--chains", type=int, default=16)
    p.add_argument("--replicas", type=int, default=16)
    p.add_argument("--sweeps", type=int, default=400)
    p.add_argument("--quick", action="store_true", help="N = 50, 40 sweeps: checks the script")
    p.add_argument("--out", default=os.path.join("results", "tempering_cpu.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.sweeps = 50, 40
    H = na.sherrington_kirkpatrick(args.n, seed=1)
    ladder = np.geomspace(args.beta / 3, args.beta, args.replicas)

    def ours(sweeps):
        na.sampling.parallel_tempering(
            H, args.beta, args.chains * sweeps, n_chains=args.chains, replica_betas=ladder,
            n_burn_in_sweeps=0, block_size=sweeps, store_couplings=False,
        )  # fmt: skip

    def netket(sweeps):
        na.sampling.sample_boltzmann(
            H, args.beta, args.chains * sweeps, method="parallel_tempering", n_chains=args.chains,
            replica_betas=ladder / args.beta, n_burn_in_sweeps=0, block_size=sweeps, store_couplings=False,
        )  # fmt: skip

    rows = []
    samplers = (
        ("parallel_tempering (local fields)", ours),
        ("sample_boltzmann, NetKet's ParallelTemperingLocal", netket),
    )
    for name, run in samplers:
        t = _time(run, args.sweeps)
        t["ms_per_sweep"] = 1e3 * t["seconds"] / t["sweeps"]
        t["us_per_replica_sweep"] = 1e6 * t["seconds"] / (t["sweeps"] * args.chains * args.replicas)
        rows.append({"sampler": name, **t})
    ratio = rows[1]["seconds"] / rows[0]["seconds"]
    print(f"SK N = {args.n}, β = {args.beta}, {args.chains} chains × {args.replicas} replicas, {args.sweeps} sweeps")
    print("| sampler | ms per sweep | µs per replica-sweep | compile + warm-up s |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['sampler']} | {r['ms_per_sweep']:.1f} | {r['us_per_replica_sweep']:.1f} | "
            f"{r['compile_and_warmup_s']:.1f} |"
        )
    print(f"NetKet's / ours: {ratio:.1f}")
    report = {
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "versions": {"jax": jax.__version__, "netket_arnn": na.__version__},
        "rows": rows,
        "netket_over_ours": ratio,
    }
    M.write_json(args.out, report)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
