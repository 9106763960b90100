r"""Equilibrium samples of :math:`p(x) \propto e^{-\beta H(x)}` with NetKet's Markov-chain samplers.

NetKet's Metropolis samplers draw from :math:`|\psi(x)|^2` (``machine_pow = 2``). The parameter-free
module :class:`BoltzmannWeight` returns :math:`\log\psi(x) = -\beta H(x)/2`, so with the default
``machine_pow = 2`` they sample the Boltzmann distribution itself:

- :func:`sample_boltzmann` with ``method="metropolis"`` runs ``nk.sampler.MetropolisLocal``
  (single-spin flips, ``n_chains`` independent chains);
- ``method="parallel_tempering"`` runs ``nk.sampler.ParallelTemperingLocal``: every physical
  chain carries ``n_replicas`` copies at inverse temperatures :math:`\beta\,b_r`,
  :math:`b_r \in (0, 1]`, :math:`b_0 = 1`, that exchange configurations; only the :math:`b = 1`
  copy is stored.

One *sweep* is :math:`N` proposed single-spin flips. After ``n_burn_in_sweeps`` sweeps, a sample
is stored every ``sweeps_per_sample`` sweeps. Each proposal re-evaluates :math:`H` on the whole
configuration (NetKet's samplers know nothing of single-flip energy updates): a sweep of a dense
instance costs :math:`O(N^3)` per chain (:math:`O(N \cdot E)` sparse).

The result is a :class:`~netket_arnn.data.BoltzmannDataset` (where data are kept and written)
holding the int8 samples in chain-major order, the Hamiltonian, β, the settings and the equilibration diagnostics
(:mod:`netket_arnn.data.diagnostics`); a dataset that fails them raises an
:class:`~netket_arnn.data.EquilibrationWarning`.
"""

from __future__ import annotations

import math
import sys
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from netket.utils import HashableArray
from netket.utils.types import DType

from .._distributed import gather_to_host
from .._validation import check_beta, check_float_dtype, check_non_negative_int, check_positive_int, check_seed
from ..data.dataset import BoltzmannDataset, energies_per_spin
from ..operators import PairwiseIsing
from ..operators._checks import check_pairwise

__all__ = ["BoltzmannWeight", "boltzmann_sampler", "sample_boltzmann"]

METHODS = ("metropolis", "parallel_tempering")


class BoltzmannWeight(nn.Module):
    r"""Parameter-free "machine" with :math:`\log\psi(x) = -\beta H(x)/2` for a pairwise Ising ``H``.

    With ``machine_pow = 2`` a NetKet sampler draws from :math:`e^{-\beta H(x)}`. Use
    ``variables = {"params": {}}``. The couplings are static fields (hashable arrays), so one
    compiled sampler serves one instance at one β.

    Fields: ``beta``; ``edges`` ``(E, 2)`` int pairs with their ``weights`` ``(E,)`` (sparse),
    or ``couplings`` ``(N, N)`` symmetric (dense); ``fields`` ``(N,)``; ``dtype`` of the energy.
    """

    beta: float
    fields: HashableArray
    couplings: HashableArray | None = None
    edges: HashableArray | None = None
    weights: HashableArray | None = None
    dtype: DType = jnp.float64

    @classmethod
    def from_hamiltonian(cls, H: PairwiseIsing, beta: float, *, dtype: DType = jnp.float64) -> BoltzmannWeight:
        """The Boltzmann weight of ``H`` at inverse temperature ``beta`` (dense or sparse like ``H``)."""
        check_pairwise(H)
        beta = check_beta(beta)
        dtype = check_float_dtype(dtype, "dtype")
        fields = HashableArray(np.asarray(H.fields, dtype=np.float64))
        if H.is_sparse:
            return cls(
                beta=beta,
                fields=fields,
                edges=HashableArray(np.asarray(H.edges, dtype=np.int32)),
                weights=HashableArray(np.asarray(H.edge_weights, dtype=np.float64)),
                dtype=dtype,
            )
        return cls(beta=beta, fields=fields, couplings=HashableArray(np.asarray(H.couplings, np.float64)), dtype=dtype)

    def energy(self, x: jax.Array) -> jax.Array:
        r""":math:`H(x) = -\sum_{i<j} J_{ij} x_i x_j - \sum_i h_i x_i`, ``(..., N) -> (...)``."""
        x = jnp.asarray(x).astype(self.dtype)  # int8 samples: cast before any sum
        h = jnp.asarray(np.asarray(self.fields), self.dtype)
        if self.couplings is not None:
            J = jnp.asarray(np.asarray(self.couplings), self.dtype)
            pair = 0.5 * jnp.sum((x @ J) * x, axis=-1)
        else:
            edges = np.asarray(self.edges)
            w = jnp.asarray(np.asarray(self.weights), self.dtype)
            pair = (x[..., edges[:, 0]] * x[..., edges[:, 1]]) @ w
        return -pair - x @ h

    def __call__(self, x: jax.Array) -> jax.Array:
        return -0.5 * self.beta * self.energy(x)


def boltzmann_sampler(
    hilbert,
    method: str = "metropolis",
    *,
    n_chains: int = 16,
    sweeps_per_sample: int = 1,
    n_replicas: int = 16,
    replica_betas: str | np.ndarray = "linear",
):
    """The NetKet sampler :func:`sample_boltzmann` uses (one stored sample per ``sweeps_per_sample`` sweeps).

    ``method="metropolis"``: ``nk.sampler.MetropolisLocal``; ``"parallel_tempering"``:
    ``nk.sampler.ParallelTemperingLocal`` with ``n_replicas`` (even) copies per chain at relative
    inverse temperatures ``replica_betas`` (``"linear"``, ``"log"`` or values in (0, 1] including 1).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n_chains = check_positive_int(n_chains, "n_chains")
    sweep_size = hilbert.size * check_positive_int(sweeps_per_sample, "sweeps_per_sample")
    if method == "metropolis":
        return nk.sampler.MetropolisLocal(hilbert, n_chains=n_chains, sweep_size=sweep_size, dtype=jnp.int8)
    if isinstance(replica_betas, str):
        n_replicas = check_positive_int(n_replicas, "n_replicas")
        if n_replicas % 2:
            raise ValueError(f"n_replicas must be even (NetKet pairs replicas for exchanges), got {n_replicas}")
        return nk.sampler.ParallelTemperingLocal(
            hilbert,
            n_chains=n_chains,
            sweep_size=sweep_size,
            n_replicas=n_replicas,
            betas=replica_betas,
            dtype=jnp.int8,
        )
    values = np.asarray(replica_betas, dtype=np.float64)
    if values.ndim != 1 or len(values) % 2 or not np.any(values == 1.0) or np.any((values <= 0) | (values > 1)):
        raise ValueError(
            "replica_betas must be 'linear', 'log' or an even number of relative inverse temperatures "
            f"in (0, 1] that includes 1; got {replica_betas!r}"
        )
    return nk.sampler.ParallelTemperingLocal(
        hilbert, n_chains=n_chains, sweep_size=sweep_size, betas=jnp.asarray(values), dtype=jnp.int8
    )


def sample_boltzmann(
    H: PairwiseIsing,
    beta: float,
    n_samples: int,
    *,
    method: str = "metropolis",
    n_chains: int = 16,
    sweeps_per_sample: int = 1,
    n_burn_in_sweeps: int = 1000,
    n_replicas: int = 16,
    replica_betas: str | np.ndarray = "linear",
    seed: int = 0,
    dtype: DType = jnp.float64,
    store_couplings: bool = True,
    progress: bool = False,
    block_size: int | None = None,
) -> BoltzmannDataset:
    r"""Draw ``n_samples`` equilibrium samples of :math:`e^{-\beta H}` and diagnose them.

    Args:
        H: a :class:`~netket_arnn.PairwiseIsing` Hamiltonian.
        beta: inverse temperature, > 0.
        n_samples: number of stored samples; rounded up to a multiple of the number of chains
            (``n_chains * chain_length``).
        method: ``"metropolis"`` (``MetropolisLocal``) or ``"parallel_tempering"``
            (``ParallelTemperingLocal``, for low temperatures and glassy systems).
        n_chains: independent Markov chains (physical chains with parallel tempering).
        sweeps_per_sample: sweeps (N proposed flips each) between stored samples (thinning).
        n_burn_in_sweeps: sweeps discarded at the start of every chain (rounded up to whole
            blocks of ``block_size * sweeps_per_sample`` sweeps; the dataset records the number done).
        n_replicas, replica_betas: parallel tempering only, see :func:`boltzmann_sampler`.
        seed: seed of the chains' random numbers.
        dtype: float dtype of the energy evaluations (``jnp.float64`` or ``jnp.float32``);
            the samples are always stored as int8.
        store_couplings: keep the Hamiltonian in the dataset (else only its fingerprint).
        progress: print progress (sweeps done, mean energy, elapsed time) to stderr.
        block_size: samples per chain drawn per compiled call (default: about 1/20 of the
            chain, so long runs report progress as they go); every call has this length, so
            there is one compilation per run.

    Returns:
        A :class:`~netket_arnn.data.BoltzmannDataset` (its ``diagnostics`` say whether the chains
        look equilibrated; it warns if not).
    """
    check_pairwise(H)
    beta = check_beta(beta)
    n_samples = check_positive_int(n_samples, "n_samples")
    n_burn_in_sweeps = check_non_negative_int(n_burn_in_sweeps, "n_burn_in_sweeps")
    seed = check_seed(seed)
    sampler = boltzmann_sampler(
        H.hilbert,
        method,
        n_chains=n_chains,
        sweeps_per_sample=sweeps_per_sample,
        n_replicas=n_replicas,
        replica_betas=replica_betas,
    )
    n_chains = sampler.n_chains  # NetKet rounds it to a multiple of the device count
    chain_length = math.ceil(n_samples / n_chains)
    if block_size is None:
        block = max(1, min(chain_length // 20, 1000))
    else:
        block = min(check_positive_int(block_size, "block_size"), chain_length)
    machine = BoltzmannWeight.from_hamiltonian(H, beta, dtype=dtype)
    variables = {"params": {}}

    def say(text):
        if progress:
            print(text, file=sys.stderr, flush=True)

    start = time.perf_counter()
    state = sampler.reset(machine, variables, sampler.init_state(machine, variables, seed=seed))
    # Every compiled call draws `block` steps of `sweeps_per_sample` sweeps, burn-in included, so
    # one compilation serves the whole run; the burn-in is rounded up to whole blocks.
    burn_blocks = -(-n_burn_in_sweeps // (sweeps_per_sample * block))
    for k in range(burn_blocks):
        x, state = sampler.sample(machine, variables, state=state, chain_length=block)
        e = float(np.mean(energies_per_spin(H, gather_to_host(x[:, -1]))))
        # the first block's time is mostly compilation: say so, then the per-block times are real
        what = "compiled and ran" if k == 0 else "burn-in"
        say(f"{what} {(k + 1) * block * sweeps_per_sample} sweeps, e = {e:.5f}, {time.perf_counter() - start:.2f} s")
    burn_in_time = time.perf_counter() - start
    state = sampler.reset(machine, variables, state)  # acceptance counted over the stored part only

    blocks, done = [], 0
    while done < chain_length:
        x, state = sampler.sample(machine, variables, state=state, chain_length=block)
        blocks.append(gather_to_host(x).astype(np.int8))  # all chains, from every process's devices
        done += block
        e = float(np.mean(energies_per_spin(H, blocks[-1].reshape(-1, H.n_sites))))
        say(
            f"sampling {min(done, chain_length)}/{chain_length} samples per chain, e = {e:.5f}, "
            f"{time.perf_counter() - start:.2f} s"
        )
    chains = np.concatenate(blocks, axis=1)[:, :chain_length]  # (n_chains, chain_length, N)
    total_time = time.perf_counter() - start

    settings = {
        "method": method,
        "n_chains": int(n_chains),
        "chain_length": int(chain_length),
        "sweeps_per_sample": int(sweeps_per_sample),
        "n_burn_in_sweeps": int(burn_blocks * block * sweeps_per_sample),
        "seed": int(seed),
        "dtype": jnp.dtype(dtype).name,
        "burn_in_seconds": burn_in_time,
        "sampling_seconds": total_time - burn_in_time,
        "acceptance": _acceptance(state),
    }
    if method == "parallel_tempering":
        settings["n_replicas"] = int(sampler.n_replicas)
        settings["replica_betas"] = [float(b) for b in np.asarray(sampler.sorted_betas)]
    return BoltzmannDataset.from_chains(chains, beta, hamiltonian=H, store_couplings=store_couplings, sampler=settings)


def _acceptance(state) -> float | None:
    value = getattr(state, "acceptance", None)
    return None if value is None else float(value)
