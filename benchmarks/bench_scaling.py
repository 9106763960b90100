"""Scaling over JAX processes: one training step on 2 processes x 1 device against 1 process.

One step of ``VariationalFreeEnergy`` (sample + log q + gradient + Adam) of SK_RS
(:class:`netket_arnn.models.SingleLayerARNN`) on an SK instance, N = ``--n``, timed as

- ``1p_B``: 1 process, 1 device, batch B;
- ``1p_2B``: 1 process, 1 device, batch 2B;
- ``2p_2B``: 2 processes x 1 device on this machine (``jax.distributed`` on 127.0.0.1), total
  batch 2B, B per process.

Weak scaling: ``t(1p_B) / t(2p_2B)`` (1 when the second process does its half for free); strong
scaling: ``t(1p_2B) / t(2p_2B)`` (2 when two processes halve the time of one). Every
configuration runs in fresh processes: ``--warmup`` steps (compilation) then ``--repeats`` single
steps, each timed on process 0 between barriers; the median is reported. On a CPU each process
may use several threads, so on a machine with fewer cores than processes x threads the numbers
measure the sharing of the cores more than the scaling: read them with the machine's core count.

    python benchmarks/bench_scaling.py --out benchmarks/results/scaling_cpu2.json
    python benchmarks/bench_scaling.py --n 32 --batch 256 --repeats 5   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "external"))
import _measure as M  # noqa: E402


def worker(n: int, batch: int, warmup: int, repeats: int) -> None:
    import jax

    if os.environ.get("JAX_COORDINATOR_ADDRESS"):
        jax.distributed.initialize()
    jax.config.update("jax_enable_x64", True)
    import netket as nk
    import numpy as np
    from jax.experimental import multihost_utils

    import netket_arnn as na

    H = na.sherrington_kirkpatrick(n, seed=1)
    model = na.models.SingleLayerARNN.from_hamiltonian(H, 1.0)
    vs = nk.vqs.MCState(na.ARDirectSampler(H.hilbert), model, n_samples=batch, seed=0, sampler_seed=1)
    driver = na.VariationalFreeEnergy(H, nk.optimizer.Adam(1e-3), variational_state=vs, beta=1.0)

    def step():
        driver.run(1, show_progress=False)
        jax.block_until_ready(vs.parameters)

    def sync():
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices("bench_scaling")

    start = time.perf_counter()
    for _ in range(warmup):
        step()
    warm = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        sync()
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    if jax.process_index() == 0:
        print(
            "RESULT "
            + json.dumps(
                {
                    "processes": jax.process_count(),
                    "devices": jax.device_count(),
                    "batch": batch,
                    "warmup_seconds": warm,
                    "step_seconds": times,
                    "median_step_seconds": float(np.median(times)),
                }
            ),
            flush=True,
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(processes: int, args, batch: int) -> dict:
    command = [sys.executable, __file__, "--worker", "--n", str(args.n), "--batch", str(batch)]
    command += ["--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    base.update({"JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=1"})
    port, job = _free_port(), random.randint(100000, 999999)
    procs = []
    for rank in range(processes):
        env = dict(base)
        if processes > 1:  # the environment SLURM's srun sets (as NetKet's djaxrun does)
            env.update(
                {
                    "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
                    "SLURM_JOB_ID": str(job),
                    "SLURM_NTASKS": str(processes),
                    "SLURM_PROCID": str(rank),
                    "SLURM_LOCALID": str(rank),
                    "SLURM_STEP_NODELIST": "127.0.0.1",
                }
            )
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=args.timeout) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        if p.returncode != 0:
            raise RuntimeError(f"a worker failed ({p.returncode}):\n{err[-3000:]}")
    line = next(x for x in outputs[0][0].splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="number of spins")
    parser.add_argument("--batch", type=int, default=1000, help="B: samples per step of one process")
    parser.add_argument("--warmup", type=int, default=3, help="steps before timing (compilation)")
    parser.add_argument("--repeats", type=int, default=15, help="timed steps")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for one configuration")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.n, args.batch, args.warmup, args.repeats)
        return {}
    cases = {
        "1p_B": run(1, args, args.batch),
        "1p_2B": run(1, args, 2 * args.batch),
        "2p_2B": run(2, args, 2 * args.batch),
    }
    t = {name: case["median_step_seconds"] for name, case in cases.items()}
    report = {
        "benchmark": "bench_scaling",
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "out")},
        "machine": M.machine(),
        "versions": M.versions("jax", "jaxlib", "netket"),
        "cases": cases,
        "weak_scaling_efficiency": t["1p_B"] / t["2p_2B"],
        "strong_scaling_speedup": t["1p_2B"] / t["2p_2B"],
    }
    print(f"SK_RS, N = {args.n}, B = {args.batch}; {report['machine']['cpu_count']} CPUs")
    print(f"{'configuration':<28}{'batch':>8}{'step (ms)':>12}{'warm-up (s)':>14}")
    for name, label in (
        ("1p_B", "1 process, batch B"),
        ("1p_2B", "1 process, batch 2B"),
        ("2p_2B", "2 processes x 1 device"),
    ):
        c = cases[name]
        print(f"{label:<28}{c['batch']:>8}{1e3 * c['median_step_seconds']:>12.2f}{c['warmup_seconds']:>14.1f}")
    print(f"weak scaling  t(1p, B) / t(2p, 2B) = {report['weak_scaling_efficiency']:.2f}  (ideal 1)")
    print(f"strong scaling t(1p, 2B) / t(2p, 2B) = {report['strong_scaling_speedup']:.2f}  (ideal 2)")
    if args.out:
        M.write_json(args.out, report)
    return report


if __name__ == "__main__":
    main()
