r"""Parallel tempering with local fields: equilibrium samples of glassy pairwise systems.

Target: :math:`p_\beta(x) \propto e^{-\beta H(x)}`,
:math:`H(x) = -\sum_{i<j} J_{ij} x_i x_j - \sum_i h_i x_i`, :math:`x_i = \pm 1`.

Each of ``n_chains`` independent chains carries :math:`R` replicas at ascending inverse
temperatures :math:`\beta_0 < \dots < \beta_{R-1} = \beta`. One *sweep* visits the sites in the
order :math:`i = 0, \dots, N-1` and flips :math:`x_i` with the Metropolis probability
:math:`\min(1, e^{-\beta_r \Delta E})`, :math:`\Delta E = 2 x_i u_i`, where
:math:`u_i = h_i + \sum_j J_{ij} x_j` is the local field, kept up to date: a flip of :math:`x_i`
adds :math:`-2 x_i J_{ji}` to :math:`u_j` for the neighbours :math:`j` of :math:`i`. A flip costs
O(degree) (O(N) dense) instead of the O(N²) energy evaluation of a generic Metropolis sampler
(:func:`~netket_arnn.sampling.sample_boltzmann` runs NetKet's), so a dense sweep is O(N²).
Every single-site update satisfies detailed balance, so the sweep leaves each :math:`p_{\beta_r}`
invariant. After every sweep, neighbouring replicas :math:`(r, r+1)` exchange their
configurations with probability :math:`\min(1, e^{(\beta_{r+1}-\beta_r)(E_{r+1}-E_r)})`: the pairs
with even :math:`r` after even sweeps, odd :math:`r` after odd ones (detailed balance of the
product distribution :math:`\prod_r p_{\beta_r}`).

Only the replica at :math:`\beta` is stored, one sample every ``sweeps_per_sample`` sweeps after
the burn-in. The local fields and energies are recomputed from scratch at the start of every
compiled block, so rounding cannot accumulate. The result is a
:class:`~netket_arnn.data.BoltzmannDataset` with the energy diagnostics of
:mod:`netket_arnn.data.diagnostics` and, in its ``sampler`` settings, the replica temperatures and
the exchange acceptance of every neighbouring pair (a pair far below ~0.2 is a bottleneck: add
replicas there).

Independent chains give independent replicas of the same instance, so the overlap
:math:`q = \frac1N\sum_i x^{(a)}_i x^{(b)}_i` of samples of two different chains samples the
overlap distribution :math:`P(q)` of the spin-glass literature
(:func:`netket_arnn.observables.chain_overlaps`).
"""

from __future__ import annotations

import math
import sys
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_beta, check_non_negative_int, check_positive_int, check_seed
from ..data.dataset import BoltzmannDataset
from ..operators import PairwiseIsing
from ..operators._checks import check_pairwise

__all__ = ["parallel_tempering", "replica_temperatures"]


def replica_temperatures(beta: float, n_replicas: int = 16, beta_min: float | None = None) -> np.ndarray:
    r"""``(n_replicas,)`` ascending inverse temperatures, geometric from ``beta_min`` to ``beta``.

    A geometric ladder keeps the exchange acceptance roughly constant where the specific heat is
    smooth. ``beta_min`` defaults to :math:`\beta/4`.
    """
    beta = check_beta(beta)
    n_replicas = check_positive_int(n_replicas, "n_replicas")
    beta_min = beta / 4 if beta_min is None else check_beta(beta_min, "beta_min")
    if n_replicas == 1:
        return np.array([beta])
    if beta_min >= beta:
        raise ValueError(f"beta_min must be below beta, got beta_min = {beta_min} and beta = {beta}")
    return np.geomspace(beta_min, beta, n_replicas)


def _check_ladder(values, beta: float) -> np.ndarray:
    betas = np.asarray(values, dtype=np.float64)
    if betas.ndim != 1 or betas.size == 0:
        raise ValueError(f"replica_betas must be a 1D array of inverse temperatures, got shape {betas.shape}")
    if not np.all(np.isfinite(betas)) or np.any(betas <= 0):
        raise ValueError(f"replica_betas must be finite and positive, got {betas}")
    if np.any(np.diff(betas) <= 0):
        raise ValueError(f"replica_betas must be strictly ascending, got {betas}")
    if not math.isclose(betas[-1], beta, rel_tol=1e-12):
        raise ValueError(f"the last of replica_betas must be beta = {beta} (the stored replica), got {betas[-1]}")
    betas[-1] = beta
    return betas


def _neighbours(H: PairwiseIsing) -> tuple[np.ndarray, np.ndarray] | None:
    """Padded ``(N, D)`` neighbour indices and couplings of a sparse ``H`` (padding: the site
    itself with coupling 0); None for a dense ``H`` (a flip then updates a whole row)."""
    if not H.is_sparse:
        return None
    n = H.n_sites
    edges = np.asarray(H.edges)
    weights = np.asarray(H.edge_weights, dtype=np.float64)
    lists = [[] for _ in range(n)]
    for (i, j), w in zip(edges.tolist(), weights.tolist()):
        lists[i].append((j, w))
        lists[j].append((i, w))
    degree = max(1, max(len(row) for row in lists))
    index = np.tile(np.arange(n)[:, None], (1, degree))
    coupling = np.zeros((n, degree))
    for i, row in enumerate(lists):
        for k, (j, w) in enumerate(row):
            index[i, k], coupling[i, k] = j, w
    return index, coupling


def _local_fields(x, couplings, neighbours, fields):
    """``u = h + J x`` and ``E = -x·(J x)/2 - h·x`` for ``x`` of shape ``(..., N)``."""
    if neighbours is None:
        pair = x @ couplings
    else:
        index, coupling = neighbours
        pair = jnp.sum(x[..., index] * coupling, axis=-1)
    return pair + fields, -0.5 * jnp.sum(x * pair, axis=-1) - x @ fields


@partial(jax.jit, static_argnames=("n_store", "sweeps_per_sample"))
def _run_block(x, parity, key, betas, couplings, neighbours, fields, *, n_store: int, sweeps_per_sample: int):
    """``n_store`` stored samples of ``sweeps_per_sample`` sweeps each, from configurations ``x``
    ``(C, R, N)``; returns the last state, the stored ``(n_store, C, N)`` samples of the replica
    at ``betas[-1]``, the exchanges accepted and attempted per pair ``(R-1,)`` and the parity."""
    n = x.shape[-1]
    n_pairs = betas.shape[0] - 1
    u, energy = _local_fields(x, couplings, neighbours, fields)
    sites = jnp.arange(n)

    def site_update(carry, inputs):
        x, u, energy = carry
        i, log_uniform = inputs
        xi = x[..., i]
        delta_e = 2.0 * xi * u[..., i]
        accept = log_uniform < -betas * delta_e
        change = jnp.where(accept, -2.0 * xi, 0.0)  # the change of x_i
        x = x.at[..., i].add(change)
        if neighbours is None:
            u = u + change[..., None] * couplings[i]
        else:
            index, coupling = neighbours
            u = u.at[..., index[i]].add(change[..., None] * coupling[i])
        energy = energy + jnp.where(accept, delta_e, 0.0)
        return (x, u, energy), None

    def exchange(x, u, energy, parity, log_uniform):
        r = jnp.arange(n_pairs)
        log_ratio = (betas[1:] - betas[:-1]) * (energy[:, 1:] - energy[:, :-1])
        active = (r % 2) == parity
        swap = active & (log_uniform < log_ratio)
        up = jnp.pad(swap, ((0, 0), (0, 1)))  # replica r takes r + 1's configuration
        down = jnp.pad(swap, ((0, 0), (1, 0)))  # replica r + 1 takes r's
        perm = jnp.arange(betas.shape[0]) + up.astype(jnp.int32) - down.astype(jnp.int32)
        take = partial(jnp.take_along_axis, indices=perm[:, :, None], axis=1)
        x, u = take(x), take(u)
        energy = jnp.take_along_axis(energy, perm, axis=1)
        counts = partial(jnp.sum, axis=0, dtype=jnp.int32)
        return x, u, energy, counts(swap), counts(jnp.broadcast_to(active, swap.shape))

    def sweep(carry, key):
        x, u, energy, parity, accepted, attempted = carry
        k_flip, k_swap = jax.random.split(key)
        log_uniform = jnp.log(jax.random.uniform(k_flip, (n,) + energy.shape, dtype=x.dtype))
        (x, u, energy), _ = jax.lax.scan(site_update, (x, u, energy), (sites, log_uniform))
        swap_uniform = jnp.log(jax.random.uniform(k_swap, (energy.shape[0], n_pairs), dtype=x.dtype))
        x, u, energy, acc, att = exchange(x, u, energy, parity, swap_uniform)
        return (x, u, energy, 1 - parity, accepted + acc, attempted + att), None

    def store(carry, key):
        carry, _ = jax.lax.scan(sweep, carry, jax.random.split(key, sweeps_per_sample))
        return carry, carry[0][:, -1].astype(jnp.int8)

    zeros = jnp.zeros(n_pairs, dtype=jnp.int32)
    carry = (x, u, energy, parity, zeros, zeros)
    carry, samples = jax.lax.scan(store, carry, jax.random.split(key, n_store))
    x, _, _, parity, accepted, attempted = carry
    return x, samples, accepted, attempted, parity


def parallel_tempering(
    H: PairwiseIsing,
    beta: float,
    n_samples: int,
    *,
    n_chains: int = 8,
    n_replicas: int = 16,
    beta_min: float | None = None,
    replica_betas=None,
    sweeps_per_sample: int = 1,
    n_burn_in_sweeps: int = 1000,
    seed: int = 0,
    block_size: int | None = None,
    store_couplings: bool = True,
    progress: bool = False,
) -> BoltzmannDataset:
    r"""Draw ``n_samples`` equilibrium samples of :math:`e^{-\beta H}` by parallel tempering (module doc).

    Args:
        H: a :class:`~netket_arnn.PairwiseIsing` Hamiltonian, dense or sparse.
        beta: the inverse temperature of the samples, > 0.
        n_samples: stored samples, rounded up to a multiple of ``n_chains``.
        n_chains: independent chains, each with its own ladder of replicas.
        n_replicas, beta_min: the default ladder, :func:`replica_temperatures`.
        replica_betas: an explicit ascending ladder ending at ``beta`` (overrides ``n_replicas``
            and ``beta_min``).
        sweeps_per_sample: sweeps between stored samples (thinning).
        n_burn_in_sweeps: sweeps discarded first (rounded up to whole blocks).
        seed: seed of the initial configurations and of the chains.
        block_size: stored samples per chain per compiled call (default about 1/20 of the chain,
            at most 1000), so progress is reported as the run goes.
        store_couplings: keep the Hamiltonian in the dataset (else only its fingerprint).
        progress: print progress to stderr.

    Returns:
        A :class:`~netket_arnn.data.BoltzmannDataset` of ``(n_chains, chain_length, N)`` int8
        samples at ``beta``; its ``sampler`` settings hold the ladder (``replica_betas``), the
        exchange acceptance of each neighbouring pair (``swap_acceptance``) and the times.
    """
    check_pairwise(H)
    beta = check_beta(beta)
    n_samples = check_positive_int(n_samples, "n_samples")
    n_chains = check_positive_int(n_chains, "n_chains")
    sweeps_per_sample = check_positive_int(sweeps_per_sample, "sweeps_per_sample")
    n_burn_in_sweeps = check_non_negative_int(n_burn_in_sweeps, "n_burn_in_sweeps")
    seed = check_seed(seed)
    if jax.process_count() > 1:
        raise NotImplementedError(
            "parallel_tempering runs in one process; with several processes use "
            "sample_boltzmann(method='parallel_tempering') (NetKet's sampler, sharded over processes)"
        )
    betas = (
        replica_temperatures(beta, n_replicas, beta_min)
        if replica_betas is None
        else _check_ladder(replica_betas, beta)
    )
    n = H.n_sites
    chain_length = math.ceil(n_samples / n_chains)
    if block_size is None:
        block = max(1, min(chain_length // 20, 1000))
    else:
        block = min(check_positive_int(block_size, "block_size"), chain_length)

    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    fields = jnp.asarray(np.asarray(H.fields, dtype=np.float64), dtype=dtype)
    neighbours = _neighbours(H)
    if neighbours is None:
        couplings = jnp.asarray(np.asarray(H.couplings, dtype=np.float64), dtype=dtype)
    else:
        couplings = jnp.zeros((0,), dtype=dtype)
        neighbours = (jnp.asarray(neighbours[0], dtype=jnp.int32), jnp.asarray(neighbours[1], dtype=dtype))
    ladder = jnp.asarray(betas, dtype=dtype)
    key = jax.random.PRNGKey(seed)
    key, k_init = jax.random.split(key)
    x = jax.random.rademacher(k_init, (n_chains, len(betas), n), dtype=dtype)
    parity = jnp.asarray(0, dtype=jnp.int32)
    run = partial(_run_block, n_store=block, sweeps_per_sample=sweeps_per_sample)

    def say(text):
        if progress:
            print(text, file=sys.stderr, flush=True)

    start = time.perf_counter()
    burn_blocks = -(-n_burn_in_sweeps // (sweeps_per_sample * block))
    for k in range(burn_blocks):
        key, sub = jax.random.split(key)
        x, samples, _, _, parity = run(x, parity, sub, ladder, couplings, neighbours, fields)
        e = float(np.mean(np.asarray(H.energy(samples[-1]))) / n)
        what = "compiled and ran" if k == 0 else "burn-in"
        say(f"{what} {(k + 1) * block * sweeps_per_sample} sweeps, e = {e:.5f}, {time.perf_counter() - start:.2f} s")
    burn_in_time = time.perf_counter() - start

    blocks, done = [], 0
    accepted = np.zeros(len(betas) - 1, dtype=np.int64)
    attempted = np.zeros(len(betas) - 1, dtype=np.int64)
    while done < chain_length:
        key, sub = jax.random.split(key)
        x, samples, acc, att, parity = run(x, parity, sub, ladder, couplings, neighbours, fields)
        blocks.append(np.asarray(samples))
        accepted += np.asarray(acc)
        attempted += np.asarray(att)
        done += block
        e = float(np.mean(np.asarray(H.energy(blocks[-1][-1]))) / n)
        say(
            f"sampling {min(done, chain_length)}/{chain_length} samples per chain, e = {e:.5f}, "
            f"{time.perf_counter() - start:.2f} s"
        )
    chains = np.concatenate(blocks, axis=0)[:chain_length].transpose(1, 0, 2)  # (n_chains, chain_length, N)
    total_time = time.perf_counter() - start
    settings = {
        "method": "parallel_tempering_local_fields",
        "n_chains": int(n_chains),
        "chain_length": int(chain_length),
        "sweeps_per_sample": int(sweeps_per_sample),
        "n_burn_in_sweeps": int(burn_blocks * block * sweeps_per_sample),
        "seed": int(seed),
        "n_replicas": len(betas),
        "replica_betas": [float(b) for b in betas],
        "swap_acceptance": [float(a / t) if t else None for a, t in zip(accepted, attempted)],
        "burn_in_seconds": burn_in_time,
        "sampling_seconds": total_time - burn_in_time,
    }
    return BoltzmannDataset.from_chains(chains, beta, hamiltonian=H, store_couplings=store_couplings, sampler=settings)
