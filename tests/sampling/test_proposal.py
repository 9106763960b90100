"""Metropolis with an ARNN as independence proposal: exact samples of p whatever q, acceptance."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest
import scipy.stats
from netket.utils import HashableArray

import netket_arnn as na
from netket_arnn.data import (
    ARNNProposal,
    BoltzmannWeight,
    EquilibrationWarning,
    arnn_proposal_sampler,
    draw_with_proposal,
    sample_with_proposal,
    unbiased_observables,
)
from netket_arnn.driver import MaximumLikelihood
from netket_arnn.models import SingleLayerARNN

from ..data.helpers import exact_distribution, exact_samples, kl_divergence
from ..driver.tabulated import TabulatedARNN
from ..models.ar_checks import chi_square_pvalue

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
        # the estimates report their chains' diagnostics; they never warn in the middle of a run
        warnings.simplefilter("error", EquilibrationWarning)
        # the chains start from q: 300 proposals of burn-in (with 20, P(q) was still narrower than
        # p's, <q^2> 2.7 sigma low, although the energy passed)
        obs = unbiased_observables(H, BETA, model, variables["trained"], 8192, n_chains=64, n_burn_in=300, seed=3)
    assert obs.diagnostics.n_chains == 64 and obs.as_dict()["diagnostics"]["chain_length"] == 128
    for stats, exact in ((obs.energy, thermo.energy), (obs.abs_magnetization, thermo.abs_magnetization)):
        assert abs(float(stats.mean) - exact) < 3 * float(stats.error_of_mean), (stats, exact)
    pq = obs.overlaps
    assert pq.probability.sum() == pytest.approx(1.0)
    # P(q) against the exact overlap distribution of p (enumeration), with the jackknife errors
    # (blocks of whole chains; the bins are correlated, so this diagonal chi^2 is only roughly
    # chi^2-distributed); measured: chi^2 = 17 over 13 bins
    exact = exact_overlap_distribution(H, BETA)
    populated = exact > 1e-4
    chi2 = float(np.sum(((pq.probability - exact) / pq.error)[populated] ** 2))
    assert chi2 < scipy.stats.chi2.isf(1e-3, populated.sum() - 1), chi2
    # the power of the check: the overlap distribution at another temperature is rejected
    other = exact_overlap_distribution(H, 0.6)
    chi2_other = float(np.sum(((pq.probability - other) / pq.error)[populated] ** 2))
    assert chi2_other > 10 * scipy.stats.chi2.isf(1e-3, populated.sum() - 1), chi2_other
    q = pq.q
    assert abs(pq.q2 - exact @ q**2) < 4 * pq.q2_error
    assert abs(pq.abs_q - exact @ np.abs(q)) < 4 * pq.abs_q_error


def exact_overlap_distribution(H, beta) -> np.ndarray:
    """``(N+1,)`` P(q) of two independent samples of exp(-beta H), q = -1, ..., 1, by enumeration."""
    states, p, _ = exact_distribution(H, beta)
    n = states.shape[1]
    x = states.astype(np.int32)
    out = np.zeros(n + 1)
    for start in range(0, len(x), 512):  # rows in blocks: the 2^N x 2^N overlap table is never held
        index = (x[start : start + 512] @ x.T + n) // 2
        out += np.bincount(index.ravel(), weights=np.outer(p[start : start + 512], p).ravel(), minlength=n + 1)
    return out


def test_chains_and_their_energies_are_drawn_once_and_agree_with_the_dataset(proposals):
    H, _, _, variables, model = proposals
    drawn = draw_with_proposal(H, BETA, model, variables["trained"], 512, n_chains=16, n_burn_in=20, seed=4)
    assert drawn.chains.shape == (16, 32, H.n_sites) and drawn.chains.dtype == np.int8
    np.testing.assert_allclose(drawn.energies.ravel(), np.asarray(H.energy(drawn.samples)), rtol=1e-12)
    assert drawn.acceptance == drawn.settings["acceptance"] and 0 < drawn.acceptance <= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquilibrationWarning)
        data = sample_with_proposal(H, BETA, model, variables["trained"], 512, n_chains=16, n_burn_in=20, seed=4)
    np.testing.assert_array_equal(data.chains, drawn.chains)  # the same seed: the same chains
    assert data.sampler == drawn.settings


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
