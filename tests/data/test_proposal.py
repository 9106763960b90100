"""Metropolis with an ARNN as independence proposal: exact samples of p whatever q, acceptance."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest
from netket.utils import HashableArray

import netket_arnn as na
from netket_arnn.data import (
    ARNNProposal,
    BoltzmannWeight,
    EquilibrationWarning,
    arnn_proposal_sampler,
    sample_with_proposal,
    unbiased_observables,
)
from netket_arnn.driver import MaximumLikelihood
from netket_arnn.models import SingleLayerARNN

from ..driver.tabulated import TabulatedARNN
from ..models.ar_checks import chi_square_pvalue
from .helpers import exact_distribution, exact_samples, kl_divergence

BETA = 1.0


@pytest.fixture(scope="module")
def proposals():
    """The system, its exact distribution, and an untrained and a briefly trained 1L proposal."""
    H = na.sherrington_kirkpatrick(12, seed=5)
    states, p, thermo = exact_distribution(H, BETA)
    model = SingleLayerARNN.from_hamiltonian(H, BETA, couplings_init_scale=0.01)
    untrained = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16, seed=0)
    trained = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16, seed=0)
    driver = MaximumLikelihood(
        exact_samples(H, BETA, 4000, seed=1), nk.optimizer.Adam(0.05), variational_state=trained, batch_size=500
    )
    driver.run(40, show_progress=False)
    kls = [kl_divergence(p, 2 * np.asarray(vs.log_value(states))) for vs in (untrained, trained)]
    assert kls[1] < kls[0] / 2  # the brief training did improve q
    return H, p, thermo, {"untrained": untrained.variables, "trained": trained.variables}, model


def draw(H, model, variables, seed):
    # one sample per chain after 300 proposals: independent samples (too short to diagnose)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquilibrationWarning)
        return sample_with_proposal(H, BETA, model, variables, 4096, n_chains=4096, n_burn_in=300, seed=seed)


def test_samples_p_whatever_q_and_acceptance_rises_as_q_improves(proposals):
    H, p, _, variables, model = proposals
    acceptance = {}
    for name in ("untrained", "trained"):
        data = draw(H, model, variables[name], seed=0)
        assert chi_square_pvalue(data.samples, H.hilbert, p) > 0.01, name
        acceptance[name] = data.sampler["acceptance"]
    assert 0 < acceptance["untrained"] < acceptance["trained"] < 1


def test_a_perfect_proposal_is_always_accepted():
    """q = p exactly (a tabulated ARNN): the Metropolis-Hastings ratio is 1 for every proposal."""
    H = na.sherrington_kirkpatrick(8, seed=2)
    states, p, _ = exact_distribution(H, BETA)
    model = TabulatedARNN(hilbert=H.hilbert, log_p=HashableArray(np.log(p)))
    variables = model.init(nk.jax.PRNGKey(0), jnp.asarray(states[:1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquilibrationWarning)
        data = sample_with_proposal(H, BETA, model, variables, 4000, n_chains=40, n_burn_in=0, seed=1)
    assert data.sampler["acceptance"] == 1.0
    assert chi_square_pvalue(data.samples, H.hilbert, p) > 0.01


@pytest.mark.parametrize("n_chains", [1, 3])
def test_any_number_of_chains(n_chains, proposals):
    H, _, _, variables, model = proposals
    sampler = arnn_proposal_sampler(H.hilbert, model, variables["trained"], n_chains=n_chains)
    assert isinstance(sampler, nk.sampler.MetropolisSampler) and isinstance(sampler.rule, ARNNProposal)
    machine = BoltzmannWeight.from_hamiltonian(H, BETA)
    x, state = sampler.sample(machine, {"params": {}}, chain_length=5)
    assert x.shape == (n_chains, 5, 12) and x.dtype == jnp.int8
    assert 0 < float(state.acceptance) <= 1


def test_unbiased_observables_match_enumeration(proposals):
    H, _, thermo, variables, model = proposals
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquilibrationWarning)
        obs = unbiased_observables(H, BETA, model, variables["trained"], 8192, n_chains=64, n_burn_in=20, seed=3)
    for stats, exact in ((obs.energy, thermo.energy), (obs.abs_magnetization, thermo.abs_magnetization)):
        assert abs(float(stats.mean) - exact) < 3 * float(stats.error_of_mean), (stats, exact)
    assert obs.overlaps.probability.sum() == pytest.approx(1.0)
    assert np.allclose(obs.overlaps.probability, obs.overlaps.probability[::-1], atol=0.02)  # P(q) = P(-q) at h = 0


def test_bad_input_is_named():
    H = na.sherrington_kirkpatrick(6, seed=1)
    with pytest.raises(TypeError, match="AbstractARNN"):
        ARNNProposal(nk.models.RBM(), {"params": {}})
    model = SingleLayerARNN.from_hamiltonian(H, BETA)
    with pytest.raises(TypeError, match="variables"):
        ARNNProposal(model, {})
    other = SingleLayerARNN.from_hamiltonian(na.sherrington_kirkpatrick(5, seed=1), BETA)
    variables = other.init(nk.jax.PRNGKey(0), jnp.ones((1, 5)))
    with pytest.raises(ValueError, match="lives on"):
        sample_with_proposal(H, BETA, other, variables, 10)
    with pytest.raises(ValueError, match="n_burn_in"):
        sample_with_proposal(H, BETA, model, model.init(nk.jax.PRNGKey(0), jnp.ones((1, 6))), 10, n_burn_in=-1)
