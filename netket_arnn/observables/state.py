"""Estimates from a variational state: fresh samples, their log q, and everything computed from them."""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._distributed import gather_to_host
from .._validation import check_beta, check_positive_int
from ..models.log_prob import chunked_log_prob, machine_pow_of
from ._samples import flat_samples as _flat_samples
from .importance import LogZEstimate, log_z_importance
from .overlaps import OverlapDistribution, overlap_distribution
from .thermo import ThermoEstimate, thermodynamics

__all__ = ["Estimates", "distinct_fraction", "estimate", "log_prob", "model_machine_pow"]


def log_prob(vstate, samples) -> jax.Array:
    r"""Normalised :math:`\log q(x)` of a state's ARNN (:func:`netket_arnn.models.log_prob`).

    Evaluated ``vstate.chunk_size`` samples at a time (all at once when it is ``None``), so the
    memory of the model's batched pass is bounded by the chunk size. ``samples`` has shape
    ``(..., N)``; returns ``samples.shape[:-1]``.
    """
    shape = np.shape(samples)[:-1]
    values = chunked_log_prob(vstate.model, vstate.chunk_size, vstate.variables, _flat_samples(samples))
    return values.reshape(shape)


#: The exponent relating a model's output to its probability (the same function as
#: :func:`netket_arnn.models.log_prob.machine_pow_of`, under its earlier name).
model_machine_pow = machine_pow_of


@dataclass(frozen=True)
class Estimates:
    """Everything :func:`estimate` computes from one batch of fresh samples.

    ``distinct_fraction`` is the number of distinct configurations among the samples divided by
    their number: a diagnostic of sample diversity next to the ESS, which cannot see states
    that :math:`q` never samples.

    Every process of a multi-process run holds the same ``Estimates``: the means and errors are
    global reductions, the host-side parts are computed from the gathered samples.
    """

    thermo: ThermoEstimate
    log_z: LogZEstimate
    overlaps: OverlapDistribution | None = None
    distinct_fraction: float | None = None
    #: the fresh samples ``(M, N)`` and their ``(M,)`` log q, as drawn (sharded like the sampler's)
    samples: jax.Array | None = field(default=None, repr=False, compare=False)
    log_q: jax.Array | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        out = {**self.thermo.as_dict(), "log_z_importance": self.log_z.as_dict()}
        out["distinct_fraction"] = self.distinct_fraction
        if self.overlaps is not None:
            out["overlaps"] = self.overlaps.as_dict()
        return out


def estimate(
    vstate,
    hamiltonian,
    beta,
    *,
    n_samples: int | None = None,
    overlaps: bool = False,
    overlap_max_samples: int | None = 4000,
) -> Estimates:
    r"""Draw fresh samples from ``vstate`` and estimate f, e, s, :math:`\langle|m|\rangle`, :math:`\log Z`.

    When the state has a ``chunk_size``, the samples are drawn and evaluated that many at a
    time (the direct sampler itself draws all it is asked for at once), so the memory does not
    grow with ``n_samples``.

    Args:
        vstate: an ``nk.vqs.MCState`` of a normalised ARNN with an exact sampler.
        hamiltonian: the classical Hamiltonian (batched ``energy(x)``).
        beta: inverse temperature, > 0.
        n_samples: number of fresh samples, >= 2 (default: the state's ``n_samples``). The
            state's own ``n_samples`` is left unchanged.
        overlaps: also compute :func:`overlap_distribution` (quadratic cost) on the first
            ``overlap_max_samples`` samples.

    Under :func:`jax.distributed.initialize` the samples are sharded over the devices of all
    processes: f, e, s, :math:`\langle|m|\rangle` and :math:`\log Z` are reduced over all of them
    under jit, and the samples are gathered to every host once for the distinct fraction and
    :math:`P(q)` (every process must call ``estimate``, as it must call every collective).
    """
    beta = check_beta(beta)
    n = vstate.n_samples if n_samples is None else check_positive_int(n_samples, "n_samples")
    if n < 2:
        raise ValueError(f"n_samples must be >= 2 (a mean and its error bar), got {n}")
    x = _flat_samples(_draw(vstate, n))
    log_q = log_prob(vstate, x)
    thermo = thermodynamics(hamiltonian, x, log_q, beta)
    log_z = log_z_importance(hamiltonian, x, log_q, beta)
    host = gather_to_host(x)  # once, for both host-side statistics
    pq = overlap_distribution(host, max_samples=overlap_max_samples) if overlaps else None
    return Estimates(
        thermo=thermo, log_z=log_z, overlaps=pq, distinct_fraction=distinct_fraction(host), samples=x, log_q=log_q
    )


def _draw(vstate, n: int):
    chunk = vstate.chunk_size
    if chunk is None or n <= chunk:
        return vstate.sample(n_samples=n)
    parts, drawn = [], 0
    while drawn < n:
        part = _flat_samples(vstate.sample(n_samples=min(chunk, n - drawn)))
        parts.append(part)
        drawn += part.shape[0]
    return jnp.concatenate(parts)


def distinct_fraction(samples) -> float:
    """Number of distinct configurations among ``samples`` (shape ``(..., N)``) over their number.

    Counted on the host over all samples; samples sharded over several processes are gathered
    first (a collective: every process calls it and gets the same fraction).
    """
    x = gather_to_host(_flat_samples(samples))
    return len(np.unique(x, axis=0)) / x.shape[0]
