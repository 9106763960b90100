r"""Exact sampling of :math:`p \propto e^{-\beta H}` with a trained ARNN as the Metropolis proposal.

:class:`ARNNProposal` is a :class:`netket.sampler.rules.MetropolisRule` for an *independence*
sampler: every chain proposes a fresh configuration :math:`x' \sim q` drawn from the
autoregressive network (ancestral sampling with NetKet's :class:`~netket.sampler.ARDirectSampler`),
whatever its current state :math:`x`, and :class:`netket.sampler.MetropolisSampler` accepts it
with

.. math::  A(x \to x') = \min\Big(1, \frac{p(x')\, q(x)}{p(x)\, q(x')}\Big),

the rule supplying the log-correction :math:`\log q(x) - \log q(x')` and the sampler the ratio of
the sampled machine (here :class:`~netket_arnn.sampling.BoltzmannWeight`, so :math:`p \propto e^{-\beta H}`).
The chain's stationary distribution is :math:`p` for any :math:`q` that is positive wherever
:math:`p` is; the closer :math:`q` is to :math:`p`, the higher the acceptance rate and the
shorter the autocorrelation (acceptance 1 when :math:`q = p`). Both :math:`\log q` values come
from one batched pass of the model, so proposal and correction use the same :math:`q`.

:func:`draw_with_proposal` draws chains this way and reports the acceptance rate;
:func:`sample_with_proposal` keeps them in a :class:`~netket_arnn.data.BoltzmannDataset` with their
diagnostics; :func:`unbiased_observables` turns them into energy, :math:`\langle|m|\rangle` and
:math:`P(q)` estimates that carry no bias from :math:`q`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import netket as nk
import numpy as np
from netket.utils import struct

from .._distributed import gather_to_host
from .._validation import check_beta, check_non_negative_int, check_positive_int, check_seed
from ..data.dataset import BoltzmannDataset, energies_per_spin
from ..data.diagnostics import Diagnostics, diagnose
from ..models.log_prob import log_prob, machine_pow_of
from ..observables import OverlapDistribution, overlap_distribution
from ..operators._checks import check_pairwise
from .boltzmann import BoltzmannWeight

__all__ = [
    "ARNNProposal",
    "ProposalChains",
    "ProposalObservables",
    "arnn_proposal_sampler",
    "draw_with_proposal",
    "sample_with_proposal",
    "unbiased_observables",
]


class ARNNProposal(nk.sampler.rules.MetropolisRule):
    r"""Independence proposal :math:`x' \sim q` from an autoregressive network (see the module doc).

    Args:
        model: an ``nk.models.AbstractARNN`` (``machine_pow = 2``) on the sampler's Hilbert space.
        variables: its variables (``vstate.variables``); a ``"cache"`` collection is dropped.
    """

    model: nn.Module = struct.field(pytree_node=False)
    variables: Any
    direct_sampler: nk.sampler.ARDirectSampler

    def __init__(self, model, variables):
        if not isinstance(model, nk.models.AbstractARNN):
            raise TypeError(
                f"the proposal model must be an autoregressive network (nk.models.AbstractARNN), got "
                f"{type(model).__name__}: an independence proposal needs exact samples and log q"
            )
        if machine_pow_of(model) != 2:
            raise ValueError(f"the proposal model has machine_pow = {model.machine_pow}; q = |psi|^2 needs 2")
        if not isinstance(variables, dict) or "params" not in variables:
            raise TypeError("variables must be the model's variables dict (with a 'params' collection)")
        self.model = model
        self.variables = {k: v for k, v in variables.items() if k != "cache"}
        # built here: NetKet's samplers cannot be constructed inside a traced function
        self.direct_sampler = nk.sampler.ARDirectSampler(model.hilbert)

    def _draw(self, sampler, key, n: int):
        """``n`` samples of q, ``(n, N)`` of the sampler's dtype."""
        direct = self.direct_sampler
        if direct.hilbert != sampler.hilbert:
            raise ValueError(f"the proposal model lives on {direct.hilbert}, the sampler on {sampler.hilbert}")
        if n % direct.n_batches:
            raise ValueError(f"{n} chains cannot be split over {direct.n_batches} devices")
        state = direct.init_state(self.model, self.variables, seed=key)
        x, _ = direct.sample(self.model, self.variables, state=state, chain_length=n // direct.n_batches)
        return x.reshape(n, sampler.hilbert.size).astype(sampler.dtype)

    def _log_q(self, x):
        return log_prob(self.model, self.variables, x)

    def transition(self, sampler, machine, parameters, state, key, σ):
        n = σ.shape[0]
        σp = self._draw(sampler, key, n)
        log_q = self._log_q(jnp.concatenate([σ, σp], axis=0))
        return σp, log_q[:n] - log_q[n:]

    def random_state(self, sampler, machine, parameters, state, key):
        # start the chains from q: if q is close to p there is little to burn in
        return self._draw(sampler, key, sampler.n_batches)

    def __repr__(self):
        return f"ARNNProposal(model={type(self.model).__name__})"


def arnn_proposal_sampler(hilbert, model, variables, *, n_chains: int = 16, sweep_size: int = 1):
    """``nk.sampler.MetropolisSampler`` with the :class:`ARNNProposal` of ``model``.

    ``sweep_size`` is the number of proposals between returned samples (1: every proposal
    is a global move, so no thinning is needed for a good ``q``). Samples are int8.
    """
    return nk.sampler.MetropolisSampler(
        hilbert,
        ARNNProposal(model, variables),
        n_chains=check_positive_int(n_chains, "n_chains"),
        sweep_size=check_positive_int(sweep_size, "sweep_size"),
        dtype=jnp.int8,
    )


@dataclass(frozen=True)
class ProposalChains:
    """Markov chains of :math:`e^{-\beta H}` drawn with an ARNN proposal, and what the draw measured.

    Attributes:
        chains: ``(n_chains, chain_length, N)`` int8 spins, every process holding all of them.
        energies: ``(n_chains, chain_length)`` their total energies :math:`H(x)`.
        acceptance: the Metropolis acceptance rate of the stored part.
        settings: the sampler's settings as plain values (for a dataset's ``sampler`` record).
    """

    chains: np.ndarray
    energies: np.ndarray
    acceptance: float
    settings: dict

    @property
    def samples(self) -> np.ndarray:
        """``(M, N)`` chain-major view of the chains."""
        return self.chains.reshape(-1, self.chains.shape[-1])


def draw_with_proposal(
    H,
    beta: float,
    model,
    variables,
    n_samples: int,
    *,
    n_chains: int = 16,
    sweep_size: int = 1,
    n_burn_in: int | None = None,
    seed: int = 0,
    dtype=jnp.float64,
) -> ProposalChains:
    r"""``n_samples`` samples of :math:`e^{-\beta H}` by Metropolis with proposals from ``model``, as chains.

    ``n_burn_in`` proposals per chain are discarded first; the chains start from samples of
    ``q``, and an independent proposal leaves the states that ``q`` under-weights slowly, so the
    default is generous: a quarter of the stored chain length, at least 100. The energies are
    computed once, here; nothing is checked or written (see :func:`sample_with_proposal` for a
    dataset with its diagnostics).
    """
    check_pairwise(H)
    beta = check_beta(beta)
    n_samples = check_positive_int(n_samples, "n_samples")
    seed = check_seed(seed)
    sampler = arnn_proposal_sampler(H.hilbert, model, variables, n_chains=n_chains, sweep_size=sweep_size)
    if n_burn_in is None:
        n_burn_in = max(100, -(-n_samples // sampler.n_chains) // 4)
    n_burn_in = check_non_negative_int(n_burn_in, "n_burn_in")
    machine = BoltzmannWeight.from_hamiltonian(H, beta, dtype=dtype)
    params = {"params": {}}
    state = sampler.reset(machine, params, sampler.init_state(machine, params, seed=seed))
    if n_burn_in:
        _, state = sampler.replace(sweep_size=1).sample(machine, params, state=state, chain_length=n_burn_in)
        state = sampler.reset(machine, params, state)  # restart the acceptance counters
    length = -(-n_samples // sampler.n_chains)
    chains, state = sampler.sample(machine, params, state=state, chain_length=length)
    # The chains are sharded over the devices (of all processes): every process gets them all.
    chains = gather_to_host(chains).astype(np.int8)
    energies = H.n_sites * energies_per_spin(H, chains.reshape(-1, H.n_sites)).reshape(chains.shape[:2])
    settings = {
        "method": "arnn_proposal",
        "proposal_model": type(model).__name__,
        "n_chains": int(sampler.n_chains),
        "chain_length": int(length),
        "sweep_size": int(sweep_size),
        "n_burn_in": int(n_burn_in),
        "seed": int(seed),
        "acceptance": float(state.acceptance),
    }
    return ProposalChains(chains=chains, energies=energies, acceptance=settings["acceptance"], settings=settings)


def sample_with_proposal(H, beta: float, model, variables, n_samples: int, **options) -> BoltzmannDataset:
    r"""A :class:`~netket_arnn.data.BoltzmannDataset` of :func:`draw_with_proposal`'s chains, with its diagnostics.

    ``options`` are those of :func:`draw_with_proposal`. The dataset's ``sampler["acceptance"]`` is
    the acceptance rate of the stored part; its diagnostics are computed as for any Markov-chain
    data (and an :class:`~netket_arnn.data.EquilibrationWarning` is issued if they fail).
    """
    drawn = draw_with_proposal(H, beta, model, variables, n_samples, **options)
    return BoltzmannDataset.from_chains(drawn.chains, beta, hamiltonian=H, sampler=drawn.settings)


@dataclass(frozen=True)
class ProposalObservables:
    """Unbiased estimates at β from ARNN-proposal Metropolis samples.

    ``energy`` and ``abs_magnetization`` are per-spin :class:`netket.stats.Stats` over the chains
    (error bars from NetKet's autocorrelation analysis), ``overlaps`` is :math:`P(q)` over pairs of
    samples (pairs from the same chain are correlated, a bias of order :math:`\tau/M`),
    ``acceptance`` the Metropolis acceptance rate, ``diagnostics`` the equilibration diagnostics
    of the chains' energies (:func:`netket_arnn.data.diagnose`; reported, not warned about).
    """

    energy: nk.stats.Stats
    abs_magnetization: nk.stats.Stats
    overlaps: OverlapDistribution | None
    acceptance: float
    n_samples: int
    diagnostics: Diagnostics

    def as_dict(self) -> dict:
        out = {"acceptance": self.acceptance, "n_samples": self.n_samples}
        for name in ("energy", "abs_magnetization"):
            stats = getattr(self, name)
            out[name] = float(stats.mean)
            out[f"{name}_error"] = float(stats.error_of_mean)
        if self.overlaps is not None:
            out["overlaps"] = self.overlaps.as_dict()
        out["diagnostics"] = self.diagnostics.as_dict()
        return out


def unbiased_observables(
    H,
    beta: float,
    model,
    variables,
    n_samples: int = 4096,
    *,
    n_chains: int = 16,
    n_burn_in: int | None = None,
    overlaps: bool = True,
    overlap_max_samples: int | None = 4000,
    seed: int = 0,
) -> ProposalObservables:
    r"""Energy, :math:`\langle|m|\rangle` and :math:`P(q)` of :math:`e^{-\beta H}`, unbiased by ``model``.

    ``model`` (e.g. the network trained by an annealing run) is only the proposal of an exact
    Metropolis chain (:func:`draw_with_proposal`), so its errors cost acceptance, never bias in
    the limit of long chains. For finite chains, mind the one weakness of an independent
    proposal: a chain enters the states that ``q`` under-weights rarely and then stays there long,
    so short chains under-represent them, and the autocorrelation time NetKet reports does not
    see it. Use chains much longer than the inverse acceptance rate (a few thousand samples per
    chain for a poorly trained ``q``), or train ``q`` further.
    """
    drawn = draw_with_proposal(H, beta, model, variables, n_samples, n_chains=n_chains, n_burn_in=n_burn_in, seed=seed)
    n = drawn.chains.shape[-1]
    energy_per_spin = drawn.energies / n
    abs_m = np.abs(drawn.chains.astype(np.float64).mean(axis=-1))
    pq = overlap_distribution(drawn.samples, max_samples=overlap_max_samples) if overlaps else None
    return ProposalObservables(
        energy=nk.stats.statistics(energy_per_spin),
        abs_magnetization=nk.stats.statistics(abs_m),
        overlaps=pq,
        acceptance=drawn.acceptance,
        n_samples=int(drawn.samples.shape[0]),
        diagnostics=diagnose(energy_per_spin),
    )
