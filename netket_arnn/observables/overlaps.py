"""The overlap distribution P(q) of pairs of independent samples, with jackknife errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .._distributed import gather_to_host
from ._samples import flat_samples as _flat_samples

__all__ = ["OverlapDistribution", "chain_overlaps", "overlap_distribution"]


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
        small_q_weight, small_q_weight_error: :math:`P(|q| < q_s)` and its error, with
            :math:`q_s` = ``small_q`` (0.1 by default: the weight between the peaks, the mark of
            replica-symmetry breaking in a spin glass).
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
    small_q: float = 0.1
    small_q_weight: float = float("nan")
    small_q_weight_error: float = float("nan")

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
            "small_q": self.small_q,
            "small_q_weight": self.small_q_weight,
            "small_q_weight_error": self.small_q_weight_error,
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


def overlap_distribution(
    samples, *, n_blocks: int = 10, max_samples: int | None = None, small_q: float = 0.1
) -> OverlapDistribution:
    r""":math:`P(q_{ab})` over all pairs of distinct independent samples, with jackknife errors.

    The ``M`` samples are split into ``n_blocks`` equal blocks (the last ``M mod n_blocks``
    samples are not used); pair counts are accumulated for every pair of blocks with one
    ``(B, N) @ (N, B)`` product, so the cost is :math:`O(M^2 N)` time and :math:`O(B^2)` memory.
    The jackknife removes one block (and all its pairs) at a time.

    Args:
        samples: ``(..., N)`` independent samples (e.g. ``vstate.samples``).
        n_blocks: number of jackknife blocks (>= 2).
        max_samples: use only the first ``max_samples`` samples (the cost is quadratic).
        small_q: the threshold of :attr:`OverlapDistribution.small_q_weight`.

    Samples sharded over the devices of several processes (:func:`jax.distributed.initialize`)
    are gathered to every process first (only the first ``max_samples``), so every process must
    call this function and every one gets the same distribution.
    """
    x = _flat_samples(samples)
    if max_samples is not None:
        if max_samples < 2:
            raise ValueError(f"max_samples must be >= 2, got {max_samples}")
        x = x[:max_samples]
    x = gather_to_host(x).astype(np.float64)
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
    total = np.triu(np.ones((n_blocks, n_blocks), dtype=bool))
    return _jackknife(counts, counts[total].sum(axis=0), n_blocks * size, small_q)


def _jackknife(counts: np.ndarray, all_counts: np.ndarray, n_samples: int, small_q: float) -> OverlapDistribution:
    """P(q) and its moments from ``all_counts`` ``(N+1,)``; errors by leaving out, for each block
    ``k``, the pairs ``counts[k].sum(axis=0)`` that involve it (``counts``: ``(K, K, N+1)``)."""
    if not 0.0 < small_q <= 1.0:
        raise ValueError(f"small_q must be in (0, 1], got {small_q!r}")
    n_blocks, n = counts.shape[0], counts.shape[-1] - 1
    q = np.linspace(-1.0, 1.0, n + 1)
    small = np.abs(q) < small_q - 1e-12

    def moments(c):
        p = c / c.sum()
        return np.concatenate([p, [p @ q**2, p @ np.abs(q), p[small].sum()]])

    full = moments(all_counts)
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
        n_samples=int(n_samples),
        n_pairs=int(all_counts.sum()),
        small_q=float(small_q),
        small_q_weight=float(full[n + 3]),
        small_q_weight_error=float(err[n + 3]),
    )


def chain_overlaps(chains, *, small_q: float = 0.1) -> OverlapDistribution:
    r""":math:`P(q_{ab})` of Markov chains: every pair of samples from two *different* chains.

    Samples of one chain are correlated in time, so pairing them would bias :math:`P(q)`
    towards the chain's own valley; samples of independent chains (e.g. the chains of
    :func:`~netket_arnn.sampling.parallel_tempering`) are independent replicas of the system.
    All :math:`L^2` pairs of every pair of chains :math:`a < b` are counted, and the errors come
    from a jackknife over chains (leave one chain and all its pairs out), which accounts for the
    correlations in time. Cost :math:`O(C^2 L^2 N)`.

    Args:
        chains: ``(C, L, N)`` samples of ``C >= 3`` chains of length ``L`` (e.g. a
            :class:`~netket_arnn.data.BoltzmannDataset`'s ``chains``), held by this process.
        small_q: the threshold of :attr:`OverlapDistribution.small_q_weight`.
    """
    x = np.asarray(chains)
    if x.ndim != 3:
        raise ValueError(f"chains must have shape (n_chains, chain_length, N), got {x.shape}")
    n_chains, length, n = x.shape
    if n_chains < 3:
        raise ValueError(f"chain_overlaps needs at least 3 chains (a jackknife over chains), got {n_chains}")
    blocks = [jnp.asarray(c.astype(np.float64)) for c in x]
    counts = np.zeros((n_chains, n_chains, n + 1), dtype=np.int64)
    for a in range(n_chains):
        for b in range(a + 1, n_chains):
            c = np.asarray(_pair_counts(blocks[a], blocks[b], False), dtype=np.int64)
            counts[a, b] = counts[b, a] = c
    pairs = np.triu(np.ones((n_chains, n_chains), dtype=bool), k=1)
    return _jackknife(counts, counts[pairs].sum(axis=0), n_chains * length, small_q)
