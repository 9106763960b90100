r"""Thermodynamic estimates from samples of a normalised autoregressive model :math:`q`.

Every estimate is per spin and comes with a Monte Carlo error. Samples of an exact
(direct) sampler are independent, so the error of a mean is :math:`\sigma/\sqrt{M}` for
:math:`M` samples; the statistics are :class:`netket.stats.Stats` objects
(``.mean``, ``.error_of_mean``, ``.variance``).

For a configuration :math:`x` with energy :math:`H(x)` and model log-probability
:math:`\log q(x)` the per-sample ("local") values are

.. math::

    f_\text{loc} = \frac{H(x) + \beta^{-1}\log q(x)}{N}, \quad
    e_\text{loc} = \frac{H(x)}{N}, \quad
    s_\text{loc} = -\frac{\log q(x)}{N}, \quad
    m_\text{loc} = \frac{|\sum_i x_i|}{N},

whose means are the variational free energy :math:`f[q] = F[q]/N \ge f`, the energy, the
entropy and :math:`\langle|m|\rangle` under :math:`q`. When :math:`q = p` the local free
energy is the constant :math:`-\log Z/(\beta N)` (zero-variance property).

Also provided: the overlap distribution :math:`P(q_{ab})` over pairs of independent
samples (:func:`overlap_distribution`) and the importance-weight estimate of
:math:`\log Z` with its effective sample size (:func:`log_z_importance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np

from ._validation import check_beta

__all__ = [
    "Estimates",
    "LogZEstimate",
    "OverlapDistribution",
    "ThermoEstimate",
    "estimate",
    "local_values",
    "log_prob",
    "log_z_importance",
    "overlap_distribution",
    "thermodynamics",
]


# -- per-sample values and their statistics ------------------------------------------------


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
    """:func:`netket.stats.statistics` of independent samples: error = std/sqrt(M).

    The values are laid out as ``M`` chains of length one, which NetKet treats as
    independent (it needs ``M >= 32`` to report an error).
    """
    return nk.stats.statistics(jnp.reshape(values, (-1, 1)))


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


# -- importance weights ------------------------------------------------------------------------


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


# -- overlaps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverlapDistribution:
    r"""Distribution of the overlap :math:`q_{ab} = \frac1N\sum_i a_i b_i` of two independent samples.

    The overlap takes the :math:`N+1` values :math:`-1, -1+2/N, \dots, 1`; ``probability``
    is the fraction of pairs at each value, over all pairs :math:`a<b` of distinct samples
    (a sample is never paired with itself, which would put a spurious mass at
    :math:`q = 1`). Errors come from a jackknife over ``n_blocks`` blocks of samples.

    Attributes:
        q: ``(N+1,)`` overlap values.
        probability, error: ``(N+1,)`` :math:`P(q)` (sums to 1) and its standard error.
        q2, q2_error: :math:`\langle q^2\rangle` and its error.
        abs_q, abs_q_error: :math:`\langle |q|\rangle` and its error.
        n_samples: samples used; n_pairs: pairs counted.
    """

    q: np.ndarray
    probability: np.ndarray
    error: np.ndarray
    q2: float
    q2_error: float
    abs_q: float
    abs_q_error: float
    n_samples: int
    n_pairs: int = field(default=0)

    def as_dict(self) -> dict:
        return {
            "q": self.q.tolist(),
            "probability": self.probability.tolist(),
            "error": self.error.tolist(),
            "q2": self.q2,
            "q2_error": self.q2_error,
            "abs_q": self.abs_q,
            "abs_q_error": self.abs_q_error,
            "n_samples": self.n_samples,
            "n_pairs": self.n_pairs,
        }


@partial(jax.jit, static_argnames=("same",))
def _pair_counts(xa, xb, same: bool):
    """Histogram over the N+1 overlap values of all pairs (a in xa, b in xb); a<b if same."""
    n = xa.shape[-1]
    gram = jnp.rint(xa @ xb.T).astype(jnp.int32)  # a·b ∈ {-N, -N+2, ..., N}
    idx = (gram + n) // 2
    if same:
        weight = jnp.triu(jnp.ones(gram.shape, dtype=jnp.int32), k=1)
    else:
        weight = jnp.ones(gram.shape, dtype=jnp.int32)
    return jnp.zeros(n + 1, dtype=jnp.int32).at[idx.ravel()].add(weight.ravel())


def overlap_distribution(samples, *, n_blocks: int = 10, max_samples: int | None = None) -> OverlapDistribution:
    r""":math:`P(q_{ab})` over all pairs of distinct independent samples, with jackknife errors.

    The ``M`` samples are split into ``n_blocks`` equal blocks (the last ``M mod n_blocks``
    samples are not used); pair counts are accumulated for every pair of blocks with one
    ``(B, N) @ (N, B)`` product, so the cost is :math:`O(M^2 N)` time and :math:`O(B^2)` memory.
    The jackknife removes one block (and all its pairs) at a time.

    Args:
        samples: ``(..., N)`` independent samples (e.g. ``vstate.samples``).
        n_blocks: number of jackknife blocks (>= 2).
        max_samples: use only the first ``max_samples`` samples (the cost is quadratic).
    """
    x = np.asarray(_flat_samples(samples), dtype=np.float64)
    if max_samples is not None:
        if max_samples < 2:
            raise ValueError(f"max_samples must be >= 2, got {max_samples}")
        x = x[:max_samples]
    if int(n_blocks) != n_blocks or n_blocks < 2:
        raise ValueError(f"n_blocks must be an integer >= 2, got {n_blocks!r}")
    m, n = x.shape
    size = m // n_blocks
    if size < 1:
        raise ValueError(f"need at least n_blocks = {n_blocks} samples, got {m}")
    blocks = [jnp.asarray(x[k * size : (k + 1) * size]) for k in range(n_blocks)]
    counts = np.zeros((n_blocks, n_blocks, n + 1), dtype=np.int64)
    for a in range(n_blocks):
        for b in range(a, n_blocks):
            c = np.asarray(_pair_counts(blocks[a], blocks[b], a == b), dtype=np.int64)
            counts[a, b] = c
            counts[b, a] = c
    q = np.linspace(-1.0, 1.0, n + 1)
    total = np.triu(np.ones((n_blocks, n_blocks), dtype=bool))
    all_counts = counts[total].sum(axis=0)

    def moments(c):
        p = c / c.sum()
        return np.concatenate([p, [p @ q**2, p @ np.abs(q)]])

    full = moments(all_counts)
    # Leave-one-block-out: drop every pair involving block k (row k counts each once).
    loo = np.stack([moments(all_counts - counts[k].sum(axis=0)) for k in range(n_blocks)])
    err = np.sqrt((n_blocks - 1) / n_blocks * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
    return OverlapDistribution(
        q=q,
        probability=full[: n + 1],
        error=err[: n + 1],
        q2=float(full[n + 1]),
        q2_error=float(err[n + 1]),
        abs_q=float(full[n + 2]),
        abs_q_error=float(err[n + 2]),
        n_samples=n_blocks * size,
        n_pairs=int(all_counts.sum()),
    )


# -- from a variational state --------------------------------------------------------------


def log_prob(vstate, samples) -> jax.Array:
    r"""Normalised :math:`\log q(x) = \text{machine\_pow}\cdot\mathrm{Re}\log\psi(x)` of a state's ARNN.

    Uses the state's ``chunk_size``. ``samples`` has shape ``(..., N)``; returns ``samples.shape[:-1]``.
    """
    machine_pow = model_machine_pow(vstate.model)
    shape = samples.shape[:-1]
    log_psi = vstate.log_value(_flat_samples(samples))
    return (machine_pow * jnp.real(log_psi)).reshape(shape)


def model_machine_pow(model) -> float:
    """The exponent relating the model's output to its probability, log q = machine_pow · Re log ψ."""
    pow_ = getattr(model, "machine_pow", None)
    if pow_ is None:
        raise TypeError(
            f"{type(model).__name__} has no `machine_pow`: a normalised autoregressive model "
            "(nk.models.AbstractARNN subclass) must define it"
        )
    return float(pow_)


@dataclass(frozen=True)
class Estimates:
    """Everything :func:`estimate` computes from one batch of fresh samples."""

    thermo: ThermoEstimate
    log_z: LogZEstimate
    overlaps: OverlapDistribution | None = None

    def as_dict(self) -> dict:
        out = {**self.thermo.as_dict(), "log_z_importance": self.log_z.as_dict()}
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

    Args:
        vstate: an ``nk.vqs.MCState`` of a normalised ARNN with an exact sampler.
        hamiltonian: the classical Hamiltonian (batched ``energy(x)``).
        beta: inverse temperature, > 0.
        n_samples: number of fresh samples (default: the state's ``n_samples``). The
            state's own ``n_samples`` is left unchanged.
        overlaps: also compute :func:`overlap_distribution` (quadratic cost) on the first
            ``overlap_max_samples`` samples.
    """
    beta = check_beta(beta)
    samples = vstate.sample(n_samples=n_samples) if n_samples is not None else vstate.sample()
    x = _flat_samples(samples)
    log_q = log_prob(vstate, x)
    thermo = thermodynamics(hamiltonian, x, log_q, beta)
    log_z = log_z_importance(hamiltonian, x, log_q, beta)
    pq = overlap_distribution(x, max_samples=overlap_max_samples) if overlaps else None
    return Estimates(thermo=thermo, log_z=log_z, overlaps=pq)


# -- helpers ---------------------------------------------------------------------------------


def _flat_samples(samples):
    samples = jnp.asarray(samples)
    if samples.ndim < 2:
        raise ValueError(f"samples must have shape (..., N), got {samples.shape}")
    return samples.reshape((-1, samples.shape[-1]))


def _energies(hamiltonian, x):
    energy = getattr(hamiltonian, "energy", None)
    if not callable(energy):
        raise TypeError(
            f"{type(hamiltonian).__name__} has no batched `energy(x)` method: the free energy "
            "is defined for classical (diagonal) Hamiltonians such as netket_arnn.PairwiseIsing"
        )
    return energy(x)


def relative_error(value: float, exact: float) -> float:
    """``|value - exact| / |exact|`` (``inf`` when exact is 0 and value is not)."""
    if exact == 0:
        return 0.0 if value == 0 else math.inf
    return abs(value - exact) / abs(exact)
