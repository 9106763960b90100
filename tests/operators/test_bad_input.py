import netket as nk
import numpy as np
import pytest

import netket_arnn as na


def sym(n, seed=0):
    J = np.triu(np.random.default_rng(seed).normal(size=(n, n)), 1)
    return J + J.T


@pytest.mark.parametrize(
    "J, kwargs, match",
    [
        (np.zeros((3, 4)), {}, "square"),
        (np.zeros(3), {}, "square"),
        (np.triu(np.ones((4, 4)), 1), {}, "symmetric"),
        (np.where(np.eye(4, dtype=bool), 0.0, np.nan), {}, "finite"),
        (sym(4) + np.diag([0, 0, 1.0, 0]), {}, "zero diagonal"),
        (sym(4), {"triangular": True}, "triangular"),
    ],
)
def test_bad_dense_couplings(J, kwargs, match):
    with pytest.raises(ValueError, match=match):
        na.from_couplings(J, **kwargs)


def test_triangular_option_builds_the_symmetric_matrix():
    L = np.tril(np.random.default_rng(1).normal(size=(5, 5)), -1)
    H = na.from_couplings(L, triangular=True)
    np.testing.assert_array_equal(np.asarray(H.couplings), L + L.T)
    np.testing.assert_array_equal(np.asarray(na.from_couplings(L.T, triangular=True).couplings), L + L.T)


def test_bad_fields():
    with pytest.raises(ValueError, match="fields must have shape"):
        na.from_couplings(sym(4), np.zeros(3))
    with pytest.raises(ValueError, match="fields must be finite"):
        na.from_couplings(sym(4), np.array([0, np.inf, 0, 0]))


@pytest.mark.parametrize(
    "edges, weights, match",
    [
        ([(0, 0)], [1.0], "self-loop"),
        ([(0, 1), (1, 0)], [1.0, 2.0], "repeated pair"),
        ([(0, 5)], [1.0], r"\[0, 4\)"),
        ([(0, 1)], [1.0, 2.0], "one weight per edge"),
        ([(0, 1)], [np.nan], "finite"),
        (np.zeros((2, 3), dtype=int), [1.0, 1.0], r"\(E, 2\)"),
    ],
)
def test_bad_edges(edges, weights, match):
    with pytest.raises(ValueError, match=match):
        na.PairwiseIsing(nk.hilbert.Spin(0.5, 4), np.asarray(weights), edges=np.asarray(edges))


@pytest.mark.parametrize(
    "hilbert, exc, match",
    [
        (nk.hilbert.Fock(3, 4), TypeError, "Spin"),
        (nk.hilbert.Spin(1.0, 4), ValueError, "spin-1/2"),
        (nk.hilbert.Spin(0.5, 4, total_sz=0), ValueError, "constrained"),
        (nk.hilbert.Spin(0.5, 5), ValueError, "5 sites"),
    ],
)
def test_bad_hilbert(hilbert, exc, match):
    with pytest.raises(exc, match=match):
        na.PairwiseIsing(hilbert, sym(4))


@pytest.mark.parametrize("beta", [0.0, -1.0, np.inf, np.nan])
def test_bad_beta_everywhere(beta):
    H = na.curie_weiss(6)
    for call in (
        lambda: na.exact.enumeration(H, beta),
        lambda: na.exact.curie_weiss(6, beta),
        lambda: na.exact.curie_weiss_infinite(beta),
        lambda: na.exact.log_prob(H, np.ones((1, 6)), beta),
        lambda: na.exact.sk_replica_symmetric(beta),
    ):
        with pytest.raises(ValueError, match="beta"):
            call()


def test_enumeration_limits_are_stated():
    big = na.sherrington_kirkpatrick(na.exact.MAX_SITES + 1, seed=1)
    with pytest.raises(ValueError, match=f"N <= {na.exact.MAX_SITES}"):
        na.exact.enumeration(big, 1.0)
    with pytest.raises(ValueError, match=f"N <= {na.exact.MAX_SITES_PROBABILITIES}"):
        na.exact.enumeration(
            na.sherrington_kirkpatrick(na.exact.MAX_SITES_PROBABILITIES + 1, seed=1),
            1.0,
            return_probabilities=True,
        )
    with pytest.raises(ValueError, match="not known exactly"):
        na.exact.log_prob(big, np.ones((1, big.n_sites)), 1.0)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="positive integer"):
        na.curie_weiss(0)
    with pytest.raises(ValueError, match="'gaussian' or 'pm1'"):
        na.edwards_anderson(nk.graph.Chain(4), "uniform", seed=0)
    with pytest.raises(TypeError, match="NetKet graph"):
        na.edwards_anderson([(0, 1)], seed=0)
