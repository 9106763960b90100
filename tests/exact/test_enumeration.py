import numpy as np
import pytest
from scipy.special import logsumexp

import netket_arnn as na


def brute_force(H, beta):
    """log Z, <E>, <|M|> from all states listed by NetKet, with numpy only."""
    x = np.asarray(H.hilbert.all_states(), dtype=np.float64)
    J, h = np.asarray(H.couplings), np.asarray(H.fields)
    E = -0.5 * np.einsum("bi,ij,bj->b", x, J, x) - x @ h
    log_z = logsumexp(-beta * E)
    p = np.exp(-beta * E - log_z)
    return log_z, p, p @ E, p @ np.abs(x.sum(1))


@pytest.mark.parametrize("n", [1, 5, 11, 17])
@pytest.mark.parametrize("beta", [0.3, 1.7])
def test_enumeration_matches_brute_force(n, beta):
    rng = np.random.default_rng(n)
    J = np.triu(rng.normal(size=(n, n)), 1)
    H = na.from_couplings(J + J.T, rng.normal(size=n))
    log_z, p, e, m = brute_force(H, beta)
    got = na.exact.enumeration(H, beta, return_probabilities=n <= 11)
    np.testing.assert_allclose(got.log_z, log_z, rtol=1e-12)
    np.testing.assert_allclose(got.energy * n, e, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.abs_magnetization * n, m, rtol=1e-10)
    np.testing.assert_allclose(got.free_energy, -log_z / (beta * n), rtol=1e-12)
    np.testing.assert_allclose(got.entropy, beta * (got.energy - got.free_energy), rtol=1e-12)
    if n <= 11:
        np.testing.assert_allclose(got.probabilities, p, rtol=1e-10)
        assert got.probabilities.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("n", [2, 9, 16])
@pytest.mark.parametrize("beta, h", [(0.4, 0.0), (1.0, 0.3), (1.6, -0.1), (2.5, 0.05)])
def test_enumeration_equals_curie_weiss_closed_form(n, beta, h):
    H = na.curie_weiss(n, J=1.0, h=h)
    enum = na.exact.enumeration(H, beta)
    closed = na.exact.curie_weiss(n, beta, J=1.0, h=h)
    for key in ("log_z", "free_energy", "energy", "entropy", "abs_magnetization"):
        np.testing.assert_allclose(getattr(enum, key), getattr(closed, key), rtol=1e-10, atol=1e-10)


def test_sparse_and_dense_enumeration_agree():
    import netket as nk

    H = na.edwards_anderson(nk.graph.Hypercube(4, n_dim=2), "pm1", seed=3, h=0.2)
    dense = na.from_couplings(np.asarray(H.couplings), np.asarray(H.fields))
    a, b = na.exact.enumeration(H, 0.8), na.exact.enumeration(dense, 0.8)
    assert a.log_z == pytest.approx(b.log_z, rel=1e-13)


def test_chunk_size_does_not_change_results():
    H = na.sherrington_kirkpatrick(20, seed=2)
    a = na.exact.enumeration(H, 1.2, chunk_size=1)
    b = na.exact.enumeration(H, 1.2, chunk_size=16)
    np.testing.assert_allclose(a.log_z, b.log_z, rtol=1e-13)
    np.testing.assert_allclose(a.energy, b.energy, rtol=1e-11)


def test_log_prob_is_normalised_and_matches_enumeration():
    H = na.sherrington_kirkpatrick(10, h=0.1, seed=4)
    x = np.asarray(H.hilbert.all_states())
    lp = np.asarray(na.exact.log_prob(H, x, 1.3))
    assert logsumexp(lp) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(np.exp(lp), na.exact.enumeration(H, 1.3, return_probabilities=True).probabilities)


def test_log_prob_for_large_curie_weiss_uses_closed_form():
    n, beta = 2000, 1.1
    H = na.curie_weiss(n, h=0.02)
    rng = np.random.default_rng(0)
    x = rng.choice([-1, 1], size=(3, n))
    lp = np.asarray(na.exact.log_prob(H, x, beta))
    M = x.sum(1)
    energy = -(M**2 - n) / (2 * n) - 0.02 * M
    np.testing.assert_allclose(lp, -beta * energy - na.exact.curie_weiss_log_z(n, beta, h=0.02), rtol=1e-12)
