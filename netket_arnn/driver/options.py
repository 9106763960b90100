r"""Option groups of :func:`~netket_arnn.driver.anneal`, and the per-β observables.

- :class:`FinalEstimates`: what is estimated from fresh samples after the steps at each β;
- :class:`Checkpointing`: where and how often the run is saved, and whether it resumes;
- :class:`PerBetaObservable`: one quantity computed from each β's fresh samples, stored in
  :attr:`AnnealRecord.observables <netket_arnn.driver.AnnealRecord>` under its ``name`` and
  shown in the table under its ``column``. A new observable is one subclass, passed in
  ``FinalEstimates(observables=...)``: nothing else changes. :class:`SpecificHeat` is one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import jax

from .._validation import check_non_negative_int, check_positive_int
from ..observables.fluctuations import specific_heat

__all__ = ["Checkpointing", "FinalEstimates", "PerBetaObservable", "SampleBatch", "SpecificHeat"]


@dataclass(frozen=True)
class SampleBatch:
    """The fresh samples of one β, as every per-β observable sees them.

    Attributes:
        samples: ``(M, N)`` spins ±1 (possibly sharded over devices and processes).
        log_q: ``(M,)`` their :math:`\\log q`.
        energies: ``(M,)`` their total energies :math:`H(x)`.
        beta: the inverse temperature.
    """

    samples: jax.Array
    log_q: jax.Array
    energies: jax.Array
    beta: float

    @property
    def n_sites(self) -> int:
        return int(self.samples.shape[-1])


class PerBetaObservable:
    """Base of the quantities estimated at every β from its fresh samples.

    A subclass sets ``name`` (the key in the record and the JSON), ``column`` (the table's
    column title, or ``""`` for none) and implements :meth:`__call__`.
    """

    name: ClassVar[str] = ""
    column: ClassVar[str] = ""

    def __call__(self, batch: SampleBatch) -> tuple[float, float]:
        """``(value, standard error)`` from the batch."""
        raise NotImplementedError


@dataclass(frozen=True)
class SpecificHeat(PerBetaObservable):
    r"""Specific heat per spin :math:`c = \beta^2\,\mathrm{Var}_q(E)/N` with its error bar
    (:func:`netket_arnn.observables.specific_heat`)."""

    name: ClassVar[str] = "specific_heat"
    column: ClassVar[str] = "c"

    def __call__(self, batch: SampleBatch) -> tuple[float, float]:
        return specific_heat(batch.energies, batch.beta, batch.n_sites)


@dataclass(frozen=True)
class FinalEstimates:
    r"""What :func:`~netket_arnn.driver.anneal` estimates from fresh samples after the steps at each β.

    Every β gets :math:`f[q]`, :math:`e`, :math:`s`, :math:`\langle|m|\rangle`, the importance-weight
    :math:`\log Z` and ESS, and the fraction of distinct samples; in addition:

    Args:
        n_samples: fresh samples per β, >= 2 (default: the state's ``n_samples``; the paper
            used 20000).
        overlaps: also estimate :math:`P(q)` (stored in ``record.extra["overlaps"]``).
        unbiased_samples: if > 0, also draw this many samples of :math:`e^{-\beta H}` itself by
            Metropolis with the trained network as an independent proposal
            (:func:`netket_arnn.sampling.unbiased_observables`), in ``record.extra["unbiased"]``.
        observables: the per-β observables (default: :class:`SpecificHeat`).
    """

    n_samples: int | None = None
    overlaps: bool = False
    unbiased_samples: int = 0
    observables: tuple[PerBetaObservable, ...] = (SpecificHeat(),)

    def __post_init__(self):
        if self.n_samples is not None:
            n = check_positive_int(self.n_samples, "n_samples")
            if n < 2:
                raise ValueError(f"n_samples must be >= 2 (a mean and its error bar), got {n}")
        check_non_negative_int(self.unbiased_samples, "unbiased_samples")
        if not isinstance(self.overlaps, bool):
            raise TypeError(f"overlaps must be True or False, got {self.overlaps!r}")
        observables = tuple(self.observables)
        for obs in observables:
            if not isinstance(obs, PerBetaObservable) or not obs.name:
                raise TypeError(f"observables must be named PerBetaObservable instances, got {obs!r}")
        names = [obs.name for obs in observables]
        if len(set(names)) != len(names):
            raise ValueError(f"two per-β observables have the same name: {names}")
        object.__setattr__(self, "observables", observables)

    def settings(self) -> dict:
        """Plain values for the results and the checkpoint's signature."""
        return {
            "n_samples": self.n_samples,
            "overlaps": self.overlaps,
            "unbiased_samples": self.unbiased_samples,
            "observables": [obs.name for obs in self.observables],
        }


@dataclass(frozen=True)
class Checkpointing:
    """Where :func:`~netket_arnn.driver.anneal` saves its run, how often, and whether it resumes.

    Args:
        path: the checkpoint file, saved atomically after every β. A fresh run refuses to
            overwrite the checkpoint of an unfinished run: resume it, or remove the file.
        every: also save every this many training steps (>= 1; None: only after each β).
        resume: continue from ``path``. The checkpoint must be of the same run (model, N,
            Hamiltonian, optimizer, samples, steps; the β grid may be extended), else a
            ``ValueError`` names what differs. The final parameters are bit-identical to those
            of an uninterrupted run with the same seeds.
    """

    path: str | os.PathLike
    every: int | None = None
    resume: bool = False

    def __post_init__(self):
        if not isinstance(self.path, str | os.PathLike):
            raise TypeError(f"path must be a file path, got {self.path!r}")
        if self.every is not None:
            object.__setattr__(self, "every", check_positive_int(self.every, "every"))
        if not isinstance(self.resume, bool):
            raise TypeError(f"resume must be True or False, got {self.resume!r}")
