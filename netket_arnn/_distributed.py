r"""Running on JAX's distributed runtime: one process per accelerator (or per node), all in step.

Under :func:`jax.distributed.initialize` every process runs the same program on *global* arrays
whose shards live on the devices of all processes. Jitted computations on them (the drivers'
gradients, the estimators' means and variances) reduce over all shards by themselves. What runs
on the host (NumPy: unique rows, histograms, FFT autocorrelations, files) needs the values
themselves, which a process can only read for the shards it holds. This module is the one place
that crosses that line:

- :func:`gather_to_host`: the full value of an array as NumPy, on every process (an all-gather
  through :func:`jax.experimental.multihost_utils.process_allgather` when the array spans other
  processes' devices; a plain copy otherwise). Every process then computes the same host-side
  statistics from the same numbers, so they agree without a further reduction.
- :func:`replicate`: a host array (the same on every process, e.g. a dataset read from one file)
  as a global array replicated over NetKet's device mesh, fit to enter jitted code next to the
  (replicated) parameters.
- :func:`is_main_process` and :func:`barrier`: files are written by process 0 only, and the
  others wait at the barrier until the file exists (:func:`netket_arnn._io.atomic_write`).
- :func:`initialize_from_environment`: calls :func:`jax.distributed.initialize` when
  ``NETKET_ARNN_DISTRIBUTED=1`` is set, so that the ``netket-arnn`` command can run under a
  launcher (``srun``, ``mpirun``, NetKet's ``djaxrun``); it must run before NetKet is imported,
  since NetKet builds its device mesh from ``jax.devices()`` at import.

With one process every function here is the identity (or does nothing), at no cost.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import jax

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "barrier",
    "gather_to_host",
    "initialize_from_environment",
    "is_main_process",
    "is_multiprocess",
    "replicate",
]

#: Set to 1 to make ``import netket_arnn`` call :func:`jax.distributed.initialize` (see
#: :func:`initialize_from_environment`).
ENVIRONMENT_VARIABLE = "NETKET_ARNN_DISTRIBUTED"


def is_multiprocess() -> bool:
    """True when this program is one of several JAX processes."""
    # Before jax is imported no distributed runtime can exist: the command line writes its first
    # files then, without paying for importing jax.
    if "jax" not in sys.modules:
        return False
    return sys.modules["jax"].process_count() > 1


def is_main_process() -> bool:
    """True on process 0, the one that prints and writes files."""
    if "jax" not in sys.modules:
        return True
    return sys.modules["jax"].process_index() == 0


def barrier(name: str) -> None:
    """Wait until every process has reached the barrier ``name`` (nothing with one process).

    Every process must call it, with the same name, the same number of times.
    """
    if is_multiprocess():
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def gather_to_host(x) -> np.ndarray:
    """The full value of ``x`` as a NumPy array, on every process.

    ``x`` may be a global :class:`jax.Array` sharded over the devices of several processes (the
    samples of a sharded sampler): its shards are all-gathered, so this is a collective that
    every process must call, in the same order. A fully replicated or process-local array, or a
    NumPy array, is copied to the host as it is.
    """
    import jax

    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        if x.is_fully_replicated:
            return np.asarray(x.addressable_data(0))
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def replicate(x) -> jax.Array:
    """``x`` (a host array with the same value on every process) replicated over all devices.

    With one device this is :func:`jax.numpy.asarray`. With several (one process or many) the
    result lives on NetKet's whole device mesh, like the parameters of a variational state, so
    jitted code may combine the two; each process places its own copy, nothing is sent.
    """
    import jax

    if jax.device_count() == 1:
        return jax.numpy.asarray(x)
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        if not x.is_fully_replicated:
            raise ValueError("replicate() takes host data; this array is already sharded over several processes")
        return x
    from jax.sharding import NamedSharding, PartitionSpec

    mesh = jax.sharding.get_mesh()
    if mesh.empty:  # NetKet sets its mesh at import; without it, one over all devices
        mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("S",))
    return jax.device_put(np.asarray(x), NamedSharding(mesh, PartitionSpec()))


def initialize_from_environment() -> bool:
    """Call :func:`jax.distributed.initialize` if ``NETKET_ARNN_DISTRIBUTED=1``; True if it did.

    The launcher supplies the rest, as JAX reads it: SLURM (``srun``: ``SLURM_NTASKS``,
    ``SLURM_PROCID``, ...), Open MPI (``mpirun``) or NetKet's ``djaxrun -np N`` on one machine;
    ``JAX_COORDINATOR_ADDRESS`` overrides the coordinator's ``host:port``. Does nothing when the
    variable is unset or ``0``, or when the runtime is already initialised. Any other value is an
    error: it would otherwise start a run that silently ignores the other processes.
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if value in ("", "0"):
        return False
    if value != "1":
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be 0 or 1, got {value!r}")
    import jax

    if jax.distributed.is_initialized():
        return False
    jax.distributed.initialize()
    return True
