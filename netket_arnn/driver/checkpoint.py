r"""Checkpoints of an annealing run: saved atomically, checked against the run that restores them.

A checkpoint is one msgpack file (:mod:`flax.serialization`) holding

- ``driver``: the driver's state dict (step count, β, optimizer state, the variational state's
  variables and sampler state, i.e. its random key);
- ``progress``: the index of the β in progress, the steps already done at it, its elapsed time;
- ``callback``: the state of the early-stopping callback at that β;
- ``records`` and ``metadata``: the records of the finished β and the run's metadata (JSON text);
- ``signature``: what the run was (model, N, Hamiltonian, optimizer, β plan; JSON text).

Restoring compares the signature and the layout of every array with the run that restores it
and raises a ``ValueError`` naming each difference, instead of loading an N = 10 state into an
N = 8 driver.

**Devices and processes.** Every array is saved whole (gathered from the devices of all
processes; process 0 writes the file) and every process reads the whole file, so a checkpoint
does not record how many devices wrote it. The state of a direct sampler is one random key,
the same for any number of devices, and the package's sampler draws the same uniforms from it
whatever their sharding. Hence a run resumed on the same number of devices (in one process or
in several, e.g. 2 processes × 1 device or 1 process × 2 devices) continues bit for bit as if
it had not stopped; on another number of devices it continues with the same random numbers
but sums in another order, so its numbers agree to round-off at first and then drift apart
like two runs of the same seed on different hardware: statistically the same run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os

import flax.serialization
import jax
import numpy as np

from .._distributed import gather_to_host
from .._io import atomic_write

__all__ = ["check_fits", "check_signature", "load_checkpoint", "run_signature", "save_checkpoint"]

FORMAT = "netket-arnn anneal checkpoint v1"


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """Write ``payload`` (see the module doc) to ``path`` via a temporary file and :func:`os.replace`.

    Arrays sharded over the devices of several processes are gathered first, so every process
    must call this (:func:`netket_arnn._io.atomic_write` then writes on process 0 only).
    """
    data = flax.serialization.msgpack_serialize({"format": FORMAT, **jax.tree.map(_to_host, payload)})
    atomic_write(path, lambda f: f.write(data))


def _to_host(leaf):
    return gather_to_host(leaf) if isinstance(leaf, jax.Array) else leaf


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``ValueError`` if it is not one)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        data = flax.serialization.msgpack_restore(raw)
    except Exception as error:
        raise ValueError(f"{os.fspath(path)} is not a netket-arnn checkpoint (it cannot be decoded: {error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)} is not a netket-arnn checkpoint of format {FORMAT!r}")
    return data


# -- does a saved state fit? --------------------------------------------------------------------


def _layout(tree, prefix: str = "") -> dict[str, tuple]:
    """``path -> (shape, dtype)`` of every array leaf of a state dict (scalars: their type)."""
    out = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(_layout(value, f"{prefix}/{key}" if prefix else str(key)))
    elif isinstance(tree, np.ndarray | jax.Array | np.generic):
        out[prefix] = (tuple(np.shape(tree)), str(np.asarray(tree).dtype))
    else:
        out[prefix] = ((), type(tree).__name__)
    return out


def check_fits(current: dict, saved: dict, what: str = "the checkpoint") -> None:
    """Raise a ``ValueError`` naming each array whose presence, shape or dtype differs."""
    here, there = _layout(current), _layout(saved)
    problems = []
    # The variational state first: its parameters name the model's difference best.
    for path in sorted(set(here) | set(there), key=lambda p: ("optimizer" in p, p)):
        if path not in there:
            problems.append(f"{path} is missing from {what}")
        elif path not in here:
            problems.append(f"{path} is in {what} but not in this run")
        elif here[path] != there[path]:
            (s1, d1), (s2, d2) = there[path], here[path]
            problems.append(f"{path} is {d1}{list(s1)} in {what} but {d2}{list(s2)} here")
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        raise ValueError(f"{what} does not fit this driver: {shown}")


# -- is it the same run? -------------------------------------------------------------------------


def hamiltonian_fingerprint(hamiltonian) -> str:
    """A hash of ``H``'s energies on 64 fixed random configurations (any classical H)."""
    x = hamiltonian.hilbert.random_state(jax.random.PRNGKey(20240601), 64)
    energies = np.round(np.asarray(hamiltonian.energy(x), dtype=np.float64), 9)
    return hashlib.sha256(energies.tobytes()).hexdigest()[:16]


def _constants_fingerprint(variables) -> str:
    """A hash of the model's non-trainable collections (couplings, fixed weights)."""
    digest = hashlib.sha256()
    for name in sorted(k for k in variables if k not in ("params", "cache")):
        for path, leaf in jax.tree_util.tree_flatten_with_path(variables[name])[0]:
            digest.update(jax.tree_util.keystr(path).encode())
            digest.update(np.asarray(leaf).tobytes())
    return digest.hexdigest()[:16]


def run_signature(hamiltonian, vstate, *, optimizer: dict | None, preconditioner, plan, settings: dict) -> dict:
    """What a checkpoint must agree with to be resumed by this run (plain JSON values)."""
    model = vstate.model
    return {
        "model": f"{type(model).__module__}.{type(model).__qualname__}",
        "n_sites": int(hamiltonian.hilbert.size),
        "hamiltonian": hamiltonian_fingerprint(hamiltonian),
        "model_constants": _constants_fingerprint(vstate.variables),
        "n_parameters": int(vstate.n_parameters),
        "optimizer": optimizer,
        "preconditioner": preconditioner_settings(preconditioner),
        "n_samples": int(vstate.n_samples),
        "betas": [float(b) for b in plan.betas],
        "steps_per_beta": plan.steps_per_beta,
        "warmup_steps": plan.warmup_steps,
        **settings,
    }


def preconditioner_settings(preconditioner) -> dict | None:
    """A preconditioner as plain values: its type and its settings (``diag_shift``, ``solver``...); None for none."""
    if preconditioner is None:
        return None
    out = {"type": type(preconditioner).__name__}
    for name in ("diag_shift", "diag_scale", "holomorphic", "solver", "qgt_constructor"):
        value = getattr(preconditioner, name, None)
        if value is not None:
            out[name] = _plain(value)
    return out


def _plain(value):
    """A value of a preconditioner's settings as it reads in every process: functions by their
    qualified name (their ``repr`` holds a memory address, different in a resumed run)."""
    if isinstance(value, int | float | bool | str):
        return value
    if isinstance(value, functools.partial):
        keywords = ", ".join(f"{k}={_plain(v)}" for k, v in sorted(value.keywords.items()))
        return f"partial({_plain(value.func)}{', ' + keywords if keywords else ''})"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return repr(value)


_NAMES = {
    "model": "model",
    "n_sites": "number of spins N",
    "hamiltonian": "Hamiltonian (its energies differ)",
    "model_constants": "model's fixed variables (couplings or fixed weights differ)",
    "n_parameters": "number of parameters",
    "optimizer": "optimizer",
    "preconditioner": "preconditioner",
    "n_samples": "samples per step",
    "steps_per_beta": "steps_per_beta",
    "warmup_steps": "warmup_steps",
}


def check_signature(saved: dict, current: dict, *, done: int, path) -> None:
    """Raise a ``ValueError`` naming every way in which ``current`` is not the run ``saved`` was.

    The β grid may be extended: the checkpoint's first ``done + 1`` values (those finished and
    the one in progress) must start the new grid.
    """
    problems = []
    for key in sorted(set(saved) | set(current)):
        if key == "betas":
            old, new = saved.get(key, []), current.get(key, [])
            n = min(len(old), done + 1)
            if old[:n] != new[:n]:
                problems.append(f"β grid: the checkpoint ran {old[:n]} first, this run starts {new[:n]}")
            continue
        if saved.get(key) != current.get(key):
            name = _NAMES.get(key, key)
            if key in ("hamiltonian", "model_constants"):
                problems.append(name)
            else:
                problems.append(f"{name}: {saved.get(key)!r} in the checkpoint, {current.get(key)!r} in this run")
    if problems:
        raise ValueError(f"the checkpoint {os.fspath(path)} is of another run; it differs in: " + "; ".join(problems))


def dumps(value) -> str:
    """JSON text (strict) of plain values, for the text fields of a checkpoint."""
    return json.dumps(value, allow_nan=False)
