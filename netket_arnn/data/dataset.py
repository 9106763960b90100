"""Datasets of spin configurations with their β, Hamiltonian and equilibration diagnostics.

A :class:`BoltzmannDataset` holds ``M`` samples ``(M, N)`` int8 ±1 in chain-major order (chain
``c`` owns rows ``[c L, (c+1) L)``), the inverse temperature, optionally the Hamiltonian (always
its SHA-256 fingerprint), the settings of the sampler that produced it and the
:class:`~netket_arnn.data.Diagnostics` of its energy series.

File format (``.npz``, no pickles): ``samples`` (int8), ``beta``, ``n_chains``, the Hamiltonian
as :func:`netket_arnn.save_instance` stores it (``fields`` and ``couplings`` or ``edges`` +
``edge_weights``) when kept, and a JSON ``header`` with the fingerprint, the diagnostics
(``diagnostics.passed`` is the flag), the sampler settings and free-form metadata.

A dataset whose diagnostics fail raises an :class:`EquilibrationWarning` when it is created
and every time it is loaded; :class:`~netket_arnn.driver.MaximumLikelihood` warns again when it
trains on one.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field

import jax
import netket as nk
import numpy as np

from .._io import atomic_write
from .._validation import check_beta
from ..operators import PairwiseIsing
from ..operators._checks import check_pairwise
from .diagnostics import Diagnostics, diagnose

__all__ = ["BoltzmannDataset", "EquilibrationWarning", "instance_sha256"]

_FORMAT = "netket_arnn.BoltzmannDataset/1"


class EquilibrationWarning(UserWarning):
    """Samples whose equilibration diagnostics failed are being created, loaded or used."""


def instance_sha256(H: PairwiseIsing) -> str:
    """SHA-256 over N, the edge list, the float64 couplings and fields of ``H`` (order as stored)."""
    check_pairwise(H)
    digest = hashlib.sha256()
    digest.update(np.int64(H.n_sites).tobytes())
    digest.update(np.ascontiguousarray(np.asarray(H.edges, dtype=np.int64)).tobytes())
    digest.update(np.ascontiguousarray(np.asarray(H.edge_weights, dtype=np.float64)).tobytes())
    digest.update(np.ascontiguousarray(np.asarray(H.fields, dtype=np.float64)).tobytes())
    return digest.hexdigest()


def check_spin_samples(samples, name: str = "samples") -> np.ndarray:
    """``samples`` as an ``(M, N)`` int8 array of ±1, or a ValueError naming the problem."""
    x = np.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty (n_samples, N) array, got shape {x.shape}")
    if not np.all(np.abs(x) == 1):
        bad = tuple(np.argwhere(np.abs(x) != 1)[0])
        raise ValueError(f"{name} must hold spins ±1; found {x[bad]} at index {bad}")
    return x.astype(np.int8)


@dataclass(frozen=True, eq=False)
class BoltzmannDataset:
    """Samples of :math:`p \\propto e^{-\\beta H}` with their provenance and diagnostics.

    Attributes:
        samples: ``(M, N)`` int8 spins ±1, chain-major.
        beta: inverse temperature of the samples.
        n_chains: number of chains (``M`` is ``n_chains * chain_length``).
        diagnostics: :class:`~netket_arnn.data.Diagnostics` of the energy (None if the
            dataset has no Hamiltonian to compute energies with).
        fingerprint: :func:`instance_sha256` of the Hamiltonian (None if unknown).
        hamiltonian: the :class:`~netket_arnn.PairwiseIsing`, if kept.
        sampler: settings of the sampler that produced the samples.
        metadata: free-form JSON-serialisable description.
    """

    samples: np.ndarray
    beta: float
    n_chains: int = 1
    diagnostics: Diagnostics | None = None
    fingerprint: str | None = None
    hamiltonian: PairwiseIsing | None = None
    sampler: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "samples", check_spin_samples(self.samples))
        object.__setattr__(self, "beta", check_beta(self.beta))
        m = self.samples.shape[0]
        if int(self.n_chains) != self.n_chains or self.n_chains < 1 or m % self.n_chains:
            raise ValueError(f"n_chains must be a positive integer dividing the {m} samples, got {self.n_chains!r}")
        object.__setattr__(self, "n_chains", int(self.n_chains))
        H = self.hamiltonian
        if H is not None:
            check_pairwise(H, "hamiltonian")
            if H.n_sites != self.n_sites:
                raise ValueError(f"the Hamiltonian has {H.n_sites} sites but the samples have {self.n_sites}")
            own = instance_sha256(H)
            if self.fingerprint is not None and self.fingerprint != own:
                raise ValueError("fingerprint does not match the Hamiltonian given with the samples")
            object.__setattr__(self, "fingerprint", own)

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_chains(
        cls,
        chains,
        beta: float,
        *,
        hamiltonian: PairwiseIsing | None = None,
        store_couplings: bool = True,
        sampler: dict | None = None,
        metadata: dict | None = None,
        warn: bool = True,
        **thresholds,
    ) -> BoltzmannDataset:
        """Dataset from ``(n_chains, chain_length, N)`` samples (or ``(M, N)``: one chain).

        With a ``hamiltonian`` the energy diagnostics are computed (``thresholds`` go to
        :func:`~netket_arnn.data.diagnose`) and a failure raises an :class:`EquilibrationWarning`
        (unless ``warn=False``). ``store_couplings=False`` keeps only the fingerprint.
        """
        x = np.asarray(chains)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise ValueError(f"chains must have shape (n_chains, chain_length, N), got {x.shape}")
        n_chains, length, n = x.shape
        flat = check_spin_samples(x.reshape(n_chains * length, n), "chains")
        diagnostics = None
        if hamiltonian is not None:
            check_pairwise(hamiltonian, "hamiltonian")
            if hamiltonian.n_sites != n:
                raise ValueError(f"the Hamiltonian has {hamiltonian.n_sites} sites but the samples have {n}")
            diagnostics = diagnose(energies_per_spin(hamiltonian, flat).reshape(n_chains, length), **thresholds)
        dataset = cls(
            samples=flat,
            beta=beta,
            n_chains=n_chains,
            diagnostics=diagnostics,
            fingerprint=None if hamiltonian is None else instance_sha256(hamiltonian),
            hamiltonian=hamiltonian if store_couplings else None,
            sampler=dict(sampler or {}),
            metadata=dict(metadata or {}),
        )
        if warn:
            dataset.warn_if_failed("created", stacklevel=3)
        return dataset

    # -- views --------------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.samples.shape[1])

    @property
    def chain_length(self) -> int:
        return self.n_samples // self.n_chains

    @property
    def chains(self) -> np.ndarray:
        """``(n_chains, chain_length, N)`` view of the samples."""
        return self.samples.reshape(self.n_chains, self.chain_length, self.n_sites)

    @property
    def passed(self) -> bool | None:
        """True/False: diagnostics passed/failed; None: not diagnosed (no Hamiltonian)."""
        return None if self.diagnostics is None else self.diagnostics.passed

    def energies(self) -> np.ndarray:
        """``(M,)`` energies per spin of the samples (needs the Hamiltonian)."""
        if self.hamiltonian is None:
            raise ValueError("this dataset does not hold its Hamiltonian (saved with store_couplings=False)")
        return energies_per_spin(self.hamiltonian, self.samples)

    def warn_if_failed(self, action: str = "used", stacklevel: int = 2) -> None:
        """Raise an :class:`EquilibrationWarning` if the diagnostics failed."""
        if self.diagnostics is not None and not self.diagnostics.passed:
            warnings.warn(
                f"dataset {action} although its equilibration diagnostics FAILED: "
                + "; ".join(self.diagnostics.failures),
                EquilibrationWarning,
                stacklevel=stacklevel + 1,
            )

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the dataset to one compressed ``.npz`` file (format in the module doc), atomically."""
        header = {
            "format": _FORMAT,
            "n_sites": self.n_sites,
            "fingerprint": self.fingerprint,
            "diagnostics": None if self.diagnostics is None else self.diagnostics.as_dict(),
            "sampler": self.sampler,
            "metadata": self.metadata,
        }
        arrays = {"samples": self.samples, "beta": np.float64(self.beta), "n_chains": np.int64(self.n_chains)}
        arrays["diagnostics_passed"] = np.array(-1 if self.passed is None else int(self.passed), dtype=np.int8)
        H = self.hamiltonian
        if H is not None:
            header["hamiltonian"] = {"dtype": H.dtype.name, "metadata": H.metadata, "sparse": H.is_sparse}
            arrays["fields"] = np.asarray(H.fields)
            if H.is_sparse:
                arrays["edges"] = np.asarray(H.edges)
                arrays["edge_weights"] = np.asarray(H.edge_weights)
            else:
                arrays["couplings"] = np.asarray(H.couplings)
        atomic_write(path, lambda f: np.savez_compressed(f, header=np.array(json.dumps(header)), **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike, *, warn: bool = True) -> BoltzmannDataset:
        """Read a file written by :meth:`save`; warns if its diagnostics failed."""
        with np.load(path, allow_pickle=False) as data:
            if "header" not in data:
                raise ValueError(f"{path} is not a netket_arnn dataset file (no header)")
            header = json.loads(str(data["header"]))
            if header.get("format") != _FORMAT:
                raise ValueError(
                    f"{os.fspath(path)} is not a netket_arnn dataset (its format is {header.get('format')!r}, "
                    f"expected {_FORMAT!r})"
                )
            H = None
            if "hamiltonian" in header:
                info = header["hamiltonian"]
                hilbert = nk.hilbert.Spin(0.5, int(header["n_sites"]))
                kwargs = {"dtype": info["dtype"], "metadata": info["metadata"]}
                if info["sparse"]:
                    H = PairwiseIsing(hilbert, data["edge_weights"], data["fields"], edges=data["edges"], **kwargs)
                else:
                    H = PairwiseIsing(hilbert, data["couplings"], data["fields"], **kwargs)
            diag = header.get("diagnostics")
            dataset = cls(
                samples=data["samples"],
                beta=float(data["beta"]),
                n_chains=int(data["n_chains"]),
                diagnostics=None if diag is None else Diagnostics.from_dict(diag),
                fingerprint=header.get("fingerprint"),
                hamiltonian=H,
                sampler=header.get("sampler", {}),
                metadata=header.get("metadata", {}),
            )
        if warn:
            dataset.warn_if_failed(f"loaded from {os.fspath(path)}", stacklevel=2)
        return dataset

    def __repr__(self):
        state = {None: "not diagnosed", True: "diagnostics passed", False: "diagnostics FAILED"}[self.passed]
        return (
            f"BoltzmannDataset(M={self.n_samples}, N={self.n_sites}, beta={self.beta:g}, "
            f"n_chains={self.n_chains}, {state})"
        )


def energies_per_spin(H: PairwiseIsing, samples) -> np.ndarray:
    """``H(x)/N`` of ``(M, N)`` samples as float64 numpy, in jitted chunks of at most 4096."""
    x = np.asarray(samples)
    chunk = min(len(x), 4096)
    pad = -len(x) % chunk
    if pad:
        x = np.concatenate([x, np.repeat(x[:1], pad, axis=0)])
    out = [np.asarray(_energies(H, x[k : k + chunk]), dtype=np.float64) for k in range(0, len(x), chunk)]
    return np.concatenate(out)[: len(x) - pad] / H.n_sites


@jax.jit
def _energies(H, x):
    return H.energy(x)
