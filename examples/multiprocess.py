r"""One run over several processes (one per GPU, or per node): the same script, started by a launcher.

What it shows. A β anneal of a trained ARNN on Curie–Weiss (N = 16, exact free energy by
:func:`netket_arnn.exact.thermodynamics`), with :math:`P(q)` and the unbiased ARNN-proposal
estimates at every β and a checkpoint, run unchanged on any number of JAX processes. The only
multi-process line is :func:`jax.distributed.initialize`, called before NetKet is imported
(NetKet builds its device mesh from ``jax.devices()`` at import). The samples are sharded over
the devices of all processes, every reduction is global, the host-side statistics (distinct
fraction, :math:`P(q)`, Monte Carlo diagnostics) are computed on every process from the
gathered samples, and the package's files (results, checkpoints, datasets) are written by
process 0 alone; every process prints the same numbers. This script's own files (the CSV and
the figure) are written by process 0, as every user script should.

How to start it::

    python examples/multiprocess.py                          # one process (all its devices)
    djaxrun -np 2 --simple python examples/multiprocess.py   # 2 processes on this machine (NetKet's launcher)
    srun python examples/multiprocess.py                     # under SLURM (docs: Devices, GPUs and processes)
    mpirun -n 4 python examples/multiprocess.py              # under Open MPI

The script joins the other processes when the launcher says there are several (``SLURM_NTASKS``
or ``OMPI_COMM_WORLD_SIZE`` above 1); JAX reads the coordinator's address and this process's
rank from the same environment (``JAX_COORDINATOR_ADDRESS`` overrides the address).

The paper has no such experiment: there are no published numbers to draw beside ours.

Modes (each writes ``multiprocess.csv`` (one row per β), ``multiprocess.json`` and
``multiprocess.png`` into ``--out``):

- ``--smoke``: two β, 20 steps each; seconds on 2 CPU cores, only checks the pipeline.
- default (quick): β = 0.1 … 1.5, 200 steps at each, batch 1000.
- ``--full``: β = 0.05 … 2, 1000 steps at each, batch 4000 (meant for GPUs).

    python examples/multiprocess.py [--smoke | --full] [--out results/multiprocess/quick]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os


def launched_with_several_processes() -> bool:
    """True under a launcher that started more than one process (SLURM's srun, Open MPI's mpirun)."""
    return any(int(os.environ.get(name, "1")) > 1 for name in ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"))


import jax  # noqa: E402

if launched_with_several_processes():
    jax.distributed.initialize()  # before NetKet is imported
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import netket as nk  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import netket_arnn as na  # noqa: E402

MODES = {
    "smoke": {"betas": [0.4, 0.8], "steps": 5, "n_samples": 64, "final": 256, "unbiased": 64},
    "quick": {
        "betas": list(np.round(np.arange(0.1, 1.51, 0.1), 2)),
        "steps": 200,
        "n_samples": 1000,
        "final": 5000,
        "unbiased": 2048,
    },
    "full": {
        "betas": list(np.round(np.arange(0.05, 2.001, 0.05), 2)),
        "steps": 1000,
        "n_samples": 4000,
        "final": 20000,
        "unbiased": 8192,
    },
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--smoke", action="store_true", help="seconds: only checks the pipeline")
    group.add_argument("--full", action="store_true", help="the long run (meant for GPUs)")
    parser.add_argument("--out", default=None, help="output folder (default: results/multiprocess/<mode>)")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "full" if args.full else "quick"
    setting = MODES[mode]
    out = args.out or os.path.join("results", "multiprocess", mode)
    main_process = jax.process_index() == 0

    H = na.curie_weiss(16)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=2, features=8, param_dtype=jnp.float64)
    # Keep n_samples a multiple of the number of devices (jax.device_count(), all processes).
    vstate = nk.vqs.MCState(
        na.ARDirectSampler(H.hilbert), model, n_samples=setting["n_samples"], seed=0, sampler_seed=1
    )
    result = na.anneal(
        H,
        vstate,
        setting["betas"],
        optimizer=optax.inject_hyperparams(optax.adam)(learning_rate=1e-2),
        steps_per_beta=setting["steps"],
        estimates=na.driver.FinalEstimates(
            n_samples=setting["final"], overlaps=True, unbiased_samples=setting["unbiased"]
        ),
        show_progress="table" if main_process else False,  # print from one process only
        checkpointing=na.driver.Checkpointing(os.path.join(out, "multiprocess.mpack")),
        results_file=os.path.join(out, "run.json"),
        metadata={"process_count": jax.process_count(), "device_count": jax.device_count()},
    )
    records = [r.as_dict() for r in result]
    summary = {
        "process_count": jax.process_count(),
        "device_count": jax.device_count(),
        "records": [
            {k: r[k] for k in ("beta", "free_energy", "free_energy_error", "exact_free_energy", "distinct_fraction")}
            for r in records
        ],
    }
    # Every process has the same numbers: print them all (the test compares them).
    print("RESULT " + json.dumps(summary), flush=True)

    from netket_arnn.driver.results import write_json_atomic

    write_json_atomic(os.path.join(out, "multiprocess.json"), summary)  # process 0 writes, all wait
    if main_process:  # the script's own files: from one process
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(summary["records"][0]))
        writer.writeheader()
        writer.writerows(summary["records"])
        with open(os.path.join(out, "multiprocess.csv"), "w", newline="") as f:
            f.write(table.getvalue())
    # the package's writers (results, figures) are collective: every process calls them, process 0 writes
    na.plot_anneal({"ARNNDense": result}, os.path.join(out, "multiprocess.png"), title="CW, N = 16")


if __name__ == "__main__":
    main()
