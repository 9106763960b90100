r"""Per-sample local values and their statistics: f, e, s and :math:`\langle|m|\rangle` with error bars."""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np

from .._validation import check_beta
from ._samples import energies as _energies
from ._samples import flat_samples as _flat_samples

__all__ = ["ThermoEstimate", "iid_statistics", "local_values", "relative_error", "thermodynamics"]


def local_values(energies, log_q, samples, beta) -> dict[str, jax.Array]:
    r"""Per-sample :math:`f_\text{loc}, e_\text{loc}, s_\text{loc}, m_\text{loc}` (see module docs).

    Args:
        energies: ``(M,)`` total energies :math:`H(x)`.
        log_q: ``(M,)`` normalised model log-probabilities :math:`\log q(x)`.
        samples: ``(M, N)`` spins ±1 (any dtype; int8 is cast before summing).
        beta: inverse temperature (a Python float or a traced scalar).

    Returns:
        a dict with keys ``free_energy, energy, entropy, abs_magnetization`` of ``(M,)`` arrays.
    """
    n = samples.shape[-1]
    energies = jnp.real(energies)
    log_q = jnp.real(log_q)
    return {
        "free_energy": (energies + log_q / beta) / n,
        "energy": energies / n,
        "entropy": -log_q / n,
        "abs_magnetization": jnp.abs(jnp.sum(samples.astype(energies.dtype), axis=-1)) / n,
    }


def iid_statistics(values) -> nk.stats.Stats:
    r"""``Stats`` of :math:`M \ge 2` independent values: mean, unbiased variance, error :math:`\sigma/\sqrt{M}`.

    The samples of an exact sampler are independent, so no autocorrelation analysis is needed
    (``tau_corr = 0``). Unlike :func:`netket.stats.statistics`, which reports no error for fewer
    than 32 chains, this gives an error bar for any :math:`M \ge 2` (``nan`` for :math:`M = 1`).
    Works inside :func:`jax.jit` and on sharded arrays.
    """
    values = jnp.reshape(values, (-1,))
    m = values.shape[0]
    mean = jnp.mean(values)
    variance = jnp.sum(jnp.abs(values - mean) ** 2) / (m - 1) if m > 1 else jnp.full((), jnp.nan)
    return nk.stats.Stats(
        mean=mean,
        error_of_mean=jnp.sqrt(variance / m),
        variance=variance,
        tau_corr=jnp.zeros((), variance.dtype),
    )


@dataclass(frozen=True)
class ThermoEstimate:
    r"""Per-spin estimates under :math:`q` at inverse temperature :math:`\beta`.

    Attributes:
        free_energy, energy, entropy, abs_magnetization: :class:`netket.stats.Stats`
            of the local values (module docs).
        beta: inverse temperature.
        n_samples: number of samples used.
    """

    free_energy: nk.stats.Stats
    energy: nk.stats.Stats
    entropy: nk.stats.Stats
    abs_magnetization: nk.stats.Stats
    beta: float
    n_samples: int

    def as_dict(self) -> dict:
        """Plain floats: each quantity's mean, ``<name>_error`` and ``<name>_variance``."""
        out = {"beta": self.beta, "n_samples": self.n_samples}
        for name in ("free_energy", "energy", "entropy", "abs_magnetization"):
            stats = getattr(self, name)
            out[name] = float(np.real(stats.mean))
            out[f"{name}_error"] = float(stats.error_of_mean)
            out[f"{name}_variance"] = float(stats.variance)
        return out


@jax.jit
def _thermo_stats(energies, log_q, samples, beta):
    values = local_values(energies, log_q, samples, beta)
    return {name: iid_statistics(v) for name, v in values.items()}


def thermodynamics(hamiltonian, samples, log_q, beta) -> ThermoEstimate:
    r"""Free energy, energy, entropy and :math:`\langle|m|\rangle` (per spin) with errors.

    Args:
        hamiltonian: a classical Hamiltonian with a batched ``energy(x)`` method
            (e.g. :class:`netket_arnn.PairwiseIsing`).
        samples: ``(..., N)`` independent samples of :math:`q`.
        log_q: their normalised log-probabilities, shape ``samples.shape[:-1]``.
        beta: inverse temperature, > 0.
    """
    beta = check_beta(beta)
    x = _flat_samples(samples)
    log_q = jnp.reshape(log_q, (-1,))
    if log_q.shape[0] != x.shape[0]:
        raise ValueError(f"log_q has {log_q.shape[0]} entries but there are {x.shape[0]} samples")
    stats = _thermo_stats(_energies(hamiltonian, x), log_q, x, beta)
    return ThermoEstimate(**stats, beta=beta, n_samples=int(x.shape[0]))


def relative_error(value: float, exact: float) -> float:
    """``|value - exact| / |exact|`` (``inf`` when exact is 0 and value is not)."""
    if exact == 0:
        return 0.0 if value == 0 else math.inf
    return abs(value - exact) / abs(exact)
