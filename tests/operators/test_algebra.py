import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na


def spins(n, batch=64, seed=0):
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(batch, n))


def dense_instance(seed):
    return na.sherrington_kirkpatrick(9, h=0.3, seed=seed)


def sparse_instance(seed):
    return na.edwards_anderson(nk.graph.Hypercube(3, n_dim=2), seed=seed, h=-0.2)


MAKERS = {"dense": dense_instance, "sparse": sparse_instance}


@pytest.mark.parametrize("left", ["dense", "sparse"])
@pytest.mark.parametrize("right", ["dense", "sparse"])
def test_sums_and_differences_stay_pairwise_ising(left, right):
    A, B = MAKERS[left](1), MAKERS[right](2)
    x = spins(9)
    eA, eB = np.asarray(A.energy(x)), np.asarray(B.energy(x))
    for result, expected in ((A + B, eA + eB), (A - B, eA - eB), (B - A, eB - eA)):
        assert isinstance(result, na.PairwiseIsing)
        assert result.hilbert == A.hilbert
        # Sparse only when both are: a dense operand already costs O(N^2).
        assert result.is_sparse == (left == right == "sparse")
        np.testing.assert_allclose(result.energy(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.asarray((A + B).couplings), np.asarray(A.couplings) + np.asarray(B.couplings))
    np.testing.assert_array_equal(np.asarray((A - B).fields), np.asarray(A.fields) - np.asarray(B.fields))
    assert (A + B).metadata["model"] == "combination"
    assert A.metadata["model"] in (A + B).metadata["expression"]


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("c", [2.5, -1, np.float32(0.5), np.float64(3.0), jnp.asarray(-0.75), np.int64(2)])
def test_real_multiples_stay_pairwise_ising(kind, c):
    H = MAKERS[kind](3)
    x = spins(9, seed=1)
    e = np.asarray(H.energy(x))
    for result, expected in ((c * H, float(c) * e), (H * c, float(c) * e), (H / c, e / float(c))):
        assert isinstance(result, na.PairwiseIsing)
        assert result.is_sparse == H.is_sparse and result.dtype == H.dtype
        np.testing.assert_allclose(result.energy(x), expected, rtol=1e-12, atol=1e-12)
    neg = -H
    assert isinstance(neg, na.PairwiseIsing)
    np.testing.assert_allclose(neg.energy(x), -e, rtol=1e-12)
    assert str(float(c)) in (c * H).metadata["expression"]


def test_combinations_keep_the_exact_thermodynamics_consistent():
    # β(2H) at β is H at 2β: the scaled operator is a real Hamiltonian, not a lazy sum.
    H = dense_instance(4)
    a = na.exact.by_enumeration(2 * H, 0.6)
    b = na.exact.by_enumeration(H, 1.2)
    assert a.log_z == pytest.approx(b.log_z, rel=1e-12)
    # A scaled Curie–Weiss Hamiltonian is still recognised by its couplings.
    assert na.curie_weiss_parameters(3 * na.curie_weiss(6, J=1.0, h=0.1)) == pytest.approx((3.0, 0.3))
    assert isinstance(sum([H, H, H], start=-H), na.PairwiseIsing)


def test_dtype_is_promoted():
    A = na.sherrington_kirkpatrick(5, seed=1, dtype=jnp.float32)
    B = na.sherrington_kirkpatrick(5, seed=2)
    assert (A + B).dtype == jnp.float64
    assert (A + A).dtype == jnp.float32 and (2 * A).dtype == jnp.float32


def test_combinations_need_the_same_hilbert_space():
    with pytest.raises(ValueError, match="different Hilbert spaces.*N = 5.*N = 6"):
        na.curie_weiss(5) + na.curie_weiss(6)
    with pytest.raises(ValueError, match="different Hilbert spaces"):
        na.curie_weiss(5) - na.curie_weiss(6)


def test_other_operands_fall_back_to_netket():
    H = na.curie_weiss(3, h=0.2)
    sx = nk.operator.spin.sigmax(H.hilbert, 0)
    diagonal = np.asarray(H.energy(H.hilbert.all_states()))
    for result in (H + sx, sx + H, H - sx, H * 1j):
        assert isinstance(result, nk.operator.AbstractOperator) and not isinstance(result, na.PairwiseIsing)
    np.testing.assert_allclose(np.asarray((1j * H).to_dense()), np.diag(1j * diagonal), atol=1e-12)
    with pytest.raises(ZeroDivisionError):
        H / 0
    with pytest.raises(TypeError):
        H / "2"
    with pytest.raises(ValueError, match="non-finite"):
        H * np.inf
