"""The importance-weight estimate of log Z with q as the proposal, and its effective sample size."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from .._validation import check_beta
from ._samples import energies as _energies
from ._samples import flat_samples as _flat_samples

__all__ = ["LogZEstimate", "log_z_importance"]


@dataclass(frozen=True)
class LogZEstimate:
    r"""Importance-weight estimate of :math:`\log Z` with :math:`q` as the proposal.

    :math:`w(x) = e^{-\beta H(x) - \log q(x)}`, :math:`\hat Z = \frac1M\sum_k w(x_k)`.

    Attributes:
        log_z: :math:`\log\hat Z` (consistent; biased low by :math:`O(1/M)`, Jensen).
        log_z_error: delta-method standard error,
            :math:`\sqrt{\widehat{\mathrm{Var}}(w)/M}\,/\,\bar w`.
        free_energy, free_energy_error: :math:`-\log\hat Z/(\beta N)` and its error.
        ess: effective sample size :math:`(\sum w)^2/\sum w^2 \in [1, M]`.
        n_samples: :math:`M`.
    """

    log_z: float
    log_z_error: float
    free_energy: float
    free_energy_error: float
    ess: float
    n_samples: int

    @property
    def ess_fraction(self) -> float:
        """ESS / M: 1 when q = p, small when q misses part of p's mass."""
        return self.ess / self.n_samples

    def as_dict(self) -> dict:
        return {
            "log_z": self.log_z,
            "log_z_error": self.log_z_error,
            "free_energy": self.free_energy,
            "free_energy_error": self.free_energy_error,
            "ess": self.ess,
            "n_samples": self.n_samples,
        }


@jax.jit
def _log_z_kernel(energies, log_q, beta):
    log_w = -beta * jnp.real(energies) - jnp.real(log_q)
    m = log_w.shape[0]
    # Scale by the largest weight so that exp never overflows.
    shift = jax.lax.stop_gradient(jnp.max(log_w))
    w = jnp.exp(log_w - shift)
    mean_w = jnp.mean(w)
    log_z = jnp.log(mean_w) + shift
    var_w = jnp.sum((w - mean_w) ** 2) / (m - 1)
    log_z_error = jnp.sqrt(var_w / m) / mean_w
    ess = jnp.sum(w) ** 2 / jnp.sum(w**2)
    return log_z, log_z_error, ess


def log_z_importance(hamiltonian, samples, log_q, beta) -> LogZEstimate:
    r"""Estimate :math:`\log Z = \log E_q[w]` from samples of :math:`q` (THEORY §1).

    Args:
        hamiltonian: a classical Hamiltonian with a batched ``energy(x)`` method.
        samples: ``(..., N)`` independent samples of :math:`q` (at least 2).
        log_q: their normalised log-probabilities.
        beta: inverse temperature, > 0.
    """
    beta = check_beta(beta)
    x = _flat_samples(samples)
    if x.shape[0] < 2:
        raise ValueError(f"log_z_importance needs at least 2 samples, got {x.shape[0]}")
    log_q = jnp.reshape(log_q, (-1,))
    log_z, err, ess = _log_z_kernel(_energies(hamiltonian, x), log_q, beta)
    n = x.shape[-1]
    log_z, err = float(log_z), float(err)
    return LogZEstimate(
        log_z=log_z,
        log_z_error=err,
        free_energy=-log_z / (beta * n),
        free_energy_error=err / (beta * n),
        ess=float(ess),
        n_samples=int(x.shape[0]),
    )
