"""Observables on samples: thermodynamics, importance-weight log Z, overlap distribution."""

from __future__ import annotations

import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest
from netket.utils import HashableArray

import netket_arnn as na
from netket_arnn import observables as obs

from .driver.tabulated import TabulatedARNN


def _exact_samples(H, beta, n, seed=0):
    """Independent samples of the Boltzmann distribution, drawn from the enumerated table."""
    th = na.exact.by_enumeration(H, beta, return_probabilities=True)
    states = np.asarray(H.hilbert.all_states())
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(states), size=n, p=th.probabilities / th.probabilities.sum())
    return states[idx], th


def test_thermodynamics_with_q_equal_p():
    H = na.sherrington_kirkpatrick(8, seed=4)
    beta = 0.9
    x, th = _exact_samples(H, beta, 4000)
    log_p = na.exact.log_prob(H, x, beta)
    est = obs.thermodynamics(H, x, log_p, beta)
    assert est.n_samples == 4000
    # zero-variance property: every sample gives -log Z/(βN)
    assert est.free_energy.mean == pytest.approx(th.free_energy, rel=1e-12)
    assert est.free_energy.variance < 1e-24
    for name in ("energy", "entropy", "abs_magnetization"):
        stats = getattr(est, name)
        assert abs(stats.mean - getattr(th, name)) < 4 * stats.error_of_mean, name
        assert stats.error_of_mean == pytest.approx(np.sqrt(stats.variance / 4000), rel=1e-10)
    d = est.as_dict()
    assert d["free_energy"] == pytest.approx(th.free_energy) and "entropy_error" in d


def test_log_z_importance_exact_and_uniform_proposal():
    H = na.sherrington_kirkpatrick(8, seed=4)
    beta = 0.9
    x, th = _exact_samples(H, beta, 2000)
    exact = na.exact.log_prob(H, x, beta)
    res = obs.log_z_importance(H, x, exact, beta)
    assert res.log_z == pytest.approx(th.log_z, rel=1e-12)
    assert res.ess == pytest.approx(2000, rel=1e-10) and res.ess_fraction == pytest.approx(1.0)
    assert res.log_z_error < 1e-10
    assert res.free_energy == pytest.approx(th.free_energy, rel=1e-12)

    # uniform proposal q = 2^-N: consistent estimate, ESS well below M
    rng = np.random.default_rng(1)
    u = rng.choice([-1.0, 1.0], size=(20000, 8))
    res = obs.log_z_importance(H, u, np.full(20000, -8 * np.log(2.0)), beta)
    assert abs(res.log_z - th.log_z) < 4 * res.log_z_error
    assert 1 < res.ess < 0.95 * 20000
    assert res.free_energy_error == pytest.approx(res.log_z_error / (beta * 8))


def test_log_z_error_bar_matches_the_spread_of_independent_estimates():
    # 300 independent batches of M = 400 uniform-proposal samples: the reported error of log Z
    # must match the standard deviation of the estimates (dropping its 1/sqrt(M) makes it 20x
    # too large, a wrong M-dependence shows at the other M).
    H = na.sherrington_kirkpatrick(8, seed=4)
    beta = 0.5
    rng = np.random.default_rng(7)
    for m in (100, 400):
        estimates = [
            obs.log_z_importance(H, rng.choice([-1.0, 1.0], size=(m, 8)), np.full(m, -8 * np.log(2.0)), beta)
            for _ in range(300)
        ]
        spread = np.std([e.log_z for e in estimates], ddof=1)
        reported = np.mean([e.log_z_error for e in estimates])
        assert reported == pytest.approx(spread, rel=0.15), (m, reported, spread)


@pytest.mark.parametrize("m", [2, 3, 17, 31])
def test_iid_statistics_give_error_bars_for_few_samples(m):
    values = np.random.default_rng(m).normal(size=m)
    st = obs.iid_statistics(jnp.asarray(values))
    assert st.mean == pytest.approx(values.mean(), rel=1e-12)
    assert st.variance == pytest.approx(values.var(ddof=1), rel=1e-12)
    assert st.error_of_mean == pytest.approx(values.std(ddof=1) / np.sqrt(m), rel=1e-12)


class _SmallBatchARNN(TabulatedARNN):
    """Refuses (at trace time) to see more than 8 configurations at once."""

    def conditionals_log_psi(self, inputs):
        assert inputs.shape[0] <= 8, f"batch of {inputs.shape[0]} > 8"
        return super().conditionals_log_psi(inputs)

    def conditional(self, inputs, index):
        assert inputs.shape[0] <= 8, f"batch of {inputs.shape[0]} > 8"
        return super().conditional(inputs, index)


def test_estimate_draws_and_evaluates_in_chunks():
    # The direct sampler draws all it is asked for at once, and MCState.log_value ignores
    # chunk_size: estimate must chunk both itself, or a memory-hungry model cannot be used.
    H = na.sherrington_kirkpatrick(5, seed=9)
    log_p = np.asarray(na.exact.log_prob(H, H.hilbert.all_states(), 0.8))
    model = _SmallBatchARNN(hilbert=H.hilbert, log_p=HashableArray(log_p))
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=8, chunk_size=8, seed=0)
    res = obs.estimate(vs, H, 0.8, n_samples=60)
    assert res.thermo.n_samples == 60
    assert res.thermo.free_energy.mean == pytest.approx(na.exact.by_enumeration(H, 0.8).free_energy, rel=1e-12)
    assert 0 < res.distinct_fraction <= 1
    vs.chunk_size = None
    with pytest.raises(AssertionError, match="batch of 60"):
        obs.estimate(vs, H, 0.8, n_samples=60)


def _exact_overlap(H, beta):
    th = na.exact.by_enumeration(H, beta, return_probabilities=True)
    s = np.asarray(H.hilbert.all_states())
    p = th.probabilities
    n = H.n_sites
    idx = np.rint((s @ s.T + n) / 2).astype(int)
    return np.bincount(idx.ravel(), weights=np.outer(p, p).ravel(), minlength=n + 1)


def test_overlap_distribution_matches_enumeration():
    H = na.curie_weiss(6)
    beta = 1.4
    x, _ = _exact_samples(H, beta, 3000, seed=2)
    res = obs.overlap_distribution(x, n_blocks=10)
    exact = _exact_overlap(H, beta)
    np.testing.assert_allclose(res.q, np.linspace(-1, 1, 7))
    assert res.probability.sum() == pytest.approx(1.0)
    assert res.n_samples == 3000 and res.n_pairs == 3000 * 2999 // 2
    z = (res.probability - exact) / res.error
    assert np.all(np.abs(z) < 4.5), z
    assert 0.1 < np.mean(z**2) < 4.0  # the jackknife errors have the right size
    q = res.q
    assert abs(res.q2 - exact @ q**2) < 4.5 * res.q2_error
    assert abs(res.abs_q - exact @ np.abs(q)) < 4.5 * res.abs_q_error


def test_small_q_weight_and_chain_overlaps_match_enumeration():
    H = na.curie_weiss(6)
    beta = 1.4
    exact = _exact_overlap(H, beta)
    q = np.linspace(-1, 1, 7)
    small = exact[np.abs(q) < 0.5].sum()  # q = -1/3, 1/3
    x, _ = _exact_samples(H, beta, 3000, seed=5)
    flat = obs.overlap_distribution(x, n_blocks=10, small_q=0.5)
    assert abs(flat.small_q_weight - small) < 4.5 * flat.small_q_weight_error
    # independent chains: the same distribution, from pairs across chains only
    chains = x.reshape(10, 300, 6)
    res = obs.chain_overlaps(chains, small_q=0.5)
    assert res.n_pairs == 45 * 300 * 300 and res.n_samples == 3000
    z = (res.probability - exact) / res.error
    assert np.all(np.abs(z) < 4.5), z
    assert 0.1 < np.mean(z**2) < 4.0  # the jackknife over chains has the right size
    assert abs(res.q2 - exact @ q**2) < 4.5 * res.q2_error
    assert abs(res.small_q_weight - small) < 4.5 * res.small_q_weight_error


def test_chain_overlaps_jackknife_is_leave_one_chain_out():
    # the errors equal the jackknife computed by hand: the distribution of the chains less chain k
    x = np.random.default_rng(3).choice(np.array([-1, 1], dtype=np.int8), size=(5, 20, 6))
    res = obs.chain_overlaps(x)
    loo = np.array([[r.q2, r.small_q_weight] for r in (obs.chain_overlaps(np.delete(x, k, axis=0)) for k in range(5))])
    err = np.sqrt(4 / 5 * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
    np.testing.assert_allclose([res.q2_error, res.small_q_weight_error], err, rtol=1e-12)


def test_chain_overlaps_pairs_only_different_chains():
    a = np.array([1, -1, 1, 1, -1, 1, -1, -1], dtype=np.int8)
    # chain 0 sits at a, chains 1 and 2 at -a: within-chain pairs (q = 1) are not counted
    chains = np.stack([np.stack([a] * 4), np.stack([-a] * 4), np.stack([-a] * 4)])
    res = obs.chain_overlaps(chains)
    assert res.n_pairs == 3 * 16
    assert res.probability[0] == pytest.approx(2 / 3) and res.probability[-1] == pytest.approx(1 / 3)
    assert res.small_q_weight == 0.0
    with pytest.raises(ValueError, match="at least 3 chains"):
        obs.chain_overlaps(chains[:2])
    with pytest.raises(ValueError, match="n_chains, chain_length, N"):
        obs.chain_overlaps(chains[0])
    with pytest.raises(ValueError, match="small_q must be in"):
        obs.chain_overlaps(chains, small_q=0.0)


def test_overlap_excludes_self_pairs():
    a = np.array([1, -1, 1, 1, -1, 1, -1, -1], dtype=np.int8)
    x = np.stack([a] * 10 + [-a] * 10)  # 10 copies of a and of -a
    res = obs.overlap_distribution(x, n_blocks=2)
    # 2 * C(10,2) = 90 pairs at q = 1, 10 * 10 = 100 at q = -1; with self-pairs q = 1 would get 110 / 210
    assert res.n_pairs == 190
    assert res.probability[-1] == pytest.approx(90 / 190)
    assert res.probability[0] == pytest.approx(100 / 190)
    assert res.probability[1:-1].sum() == 0
    res = obs.overlap_distribution(x[:20], n_blocks=2, max_samples=4)
    assert res.n_samples == 4


def test_estimate_from_a_variational_state():
    H = na.sherrington_kirkpatrick(6, seed=9)
    beta = 1.1
    log_p = np.asarray(na.exact.log_prob(H, H.hilbert.all_states(), beta))
    model = TabulatedARNN(hilbert=H.hilbert, log_p=HashableArray(log_p))
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=0, sampler_seed=3)
    res = obs.estimate(vs, H, beta, n_samples=512, overlaps=True)
    th = na.exact.by_enumeration(H, beta)
    assert res.thermo.n_samples == 512 and vs.n_samples == 64
    assert res.thermo.free_energy.mean == pytest.approx(th.free_energy, rel=1e-12)
    assert res.log_z.log_z == pytest.approx(th.log_z, rel=1e-12)
    assert res.overlaps is not None and res.overlaps.probability.sum() == pytest.approx(1.0)
    assert set(res.as_dict()) >= {"free_energy", "log_z_importance", "overlaps"}
    np.testing.assert_allclose(obs.log_prob(vs, vs.samples), log_p[_index(H, vs.samples)], atol=1e-12)


def _index(H, samples):
    return np.asarray(H.hilbert.states_to_numbers(np.asarray(samples).reshape(-1, H.n_sites))).reshape(
        np.shape(samples)[:-1]
    )


def test_observables_reject_bad_input():
    H = na.curie_weiss(4)
    x = np.ones((40, 4))
    with pytest.raises(ValueError, match="beta"):
        obs.thermodynamics(H, x, np.zeros(40), 0.0)
    with pytest.raises(ValueError, match="log_q"):
        obs.thermodynamics(H, x, np.zeros(39), 1.0)
    with pytest.raises(TypeError, match="energy"):
        obs.thermodynamics(nk.operator.Ising(H.hilbert, nk.graph.Chain(4), h=1.0), x, jnp.zeros(40), 1.0)
    with pytest.raises(ValueError, match="n_blocks"):
        obs.overlap_distribution(x, n_blocks=1)
    with pytest.raises(ValueError, match="at least 2"):
        obs.log_z_importance(H, x[:1], np.zeros(1), 1.0)
    with pytest.raises(ValueError, match="n_samples"):
        obs.estimate(
            nk.vqs.MCState(
                nk.sampler.ARDirectSampler(H.hilbert),
                nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2),
                n_samples=8,
            ),
            H,
            1.0,
            n_samples=1,
        )
