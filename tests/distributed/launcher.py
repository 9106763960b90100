"""Start a command as N JAX processes on 127.0.0.1, the way a cluster launcher would.

Each process gets the environment that SLURM's ``srun`` sets (``SLURM_NTASKS``, ``SLURM_PROCID``,
...), as NetKet's own ``djaxrun`` does, plus ``JAX_COORDINATOR_ADDRESS`` with a free port; a
program that calls :func:`jax.distributed.initialize` without arguments (or the ``netket-arnn``
command with ``NETKET_ARNN_DISTRIBUTED=1``) then joins the others. Every process has one CPU
device. The processes run in a bounded time; on a failure the output of every one is shown.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

__all__ = ["Finished", "free_port", "launch", "run_one", "single_process_env"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Finished:
    """What the processes of one launch returned."""

    returncodes: list[int]
    outputs: list[str]

    def report(self) -> str:
        parts = [f"exit codes {self.returncodes}"]
        for rank, text in enumerate(self.outputs):
            parts.append(f"--- process {rank} (last 4000 characters)\n{text[-4000:]}")
        return "\n".join(parts)

    def check(self) -> Finished:
        assert all(code == 0 for code in self.returncodes), self.report()
        return self


def _base_env(extra: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMPI_", "PMI_"))}
    env.pop("JAX_COORDINATOR_ADDRESS", None)
    env.update({"JAX_PLATFORMS": "cpu", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"})
    env.update(extra or {})
    return env


def single_process_env(n_devices: int, extra: dict | None = None) -> dict:
    """Environment of one process with ``n_devices`` forced host devices."""
    env = _base_env(extra)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_devices}"
    return env


def launch(
    command: list[str],
    n_processes: int = 2,
    *,
    timeout: float = 120,
    cwd=None,
    extra_env: dict | None = None,
    kill_when=None,
) -> Finished:
    """Run ``command`` as ``n_processes`` processes of one distributed JAX job.

    ``kill_when(outputs) -> bool`` (optional) is polled while they run: once it is true every
    process is killed (SIGKILL), as by a crash or a cluster's time limit. Past ``timeout``
    seconds all are killed and the launch fails with every process's output.
    """
    port = free_port()
    job = random.randint(100000, 999999)
    procs, logs = [], []
    for rank in range(n_processes):
        env = _base_env(extra_env)
        env.update(
            {
                "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
                "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
                "SLURM_JOB_ID": str(job),
                "SLURM_NTASKS": str(n_processes),
                "SLURM_PROCID": str(rank),
                "SLURM_LOCALID": str(rank),
                "SLURM_STEP_NODELIST": "127.0.0.1",
            }
        )
        log = open(_log_path(job, rank), "w+")
        logs.append(log)
        procs.append(subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + timeout
    killed = False
    try:
        while any(p.poll() is None for p in procs):
            if time.monotonic() > deadline:
                break
            if kill_when is not None and kill_when(_read(logs)):
                killed = True
                break
            time.sleep(0.2)
        timed_out = any(p.poll() is None for p in procs) and not killed
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait(timeout=30)
        outputs = _read(logs)
    finally:
        for log in logs:
            log.close()
            os.remove(log.name)
    finished = Finished([p.returncode for p in procs], outputs)
    if timed_out:
        raise AssertionError(f"the processes did not finish within {timeout:g} s\n" + finished.report())
    return finished


def run_one(command: list[str], *, n_devices: int = 2, timeout: float = 120, cwd=None, extra_env=None) -> Finished:
    """Run ``command`` as one process with ``n_devices`` forced host devices."""
    proc = subprocess.run(
        command,
        env=single_process_env(n_devices, extra_env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    return Finished([proc.returncode], [proc.stdout])


def _log_path(job: int, rank: int) -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"netket_arnn_launch_{os.getpid()}_{job}_{rank}.log")


def _read(logs) -> list[str]:
    out = []
    for log in logs:
        log.flush()
        with open(log.name, errors="replace") as f:
            out.append(f.read())
    return out


if __name__ == "__main__":  # python tests/distributed/launcher.py -np 2 python script.py
    n = int(sys.argv[2]) if sys.argv[1] == "-np" else 2
    result = launch(sys.argv[3:] if sys.argv[1] == "-np" else sys.argv[1:], n, timeout=3600)
    print(result.report())
    sys.exit(max(result.returncodes))
