import flax.linen as fnn
import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import netket_arnn as na


def loop_energy(J, h, x):
    """Reference H(x) = -Σ_{i<j} J_ij x_i x_j - Σ_i h_i x_i by a plain double loop."""
    n = len(h)
    out = np.zeros(len(x))
    for b, conf in enumerate(x):
        e = 0.0
        for i in range(n):
            for j in range(i + 1, n):
                e -= J[i, j] * conf[i] * conf[j]
            e -= h[i] * conf[i]
        out[b] = e
    return out


def random_instance(rng, n, density):
    J = rng.normal(size=(n, n)) * (rng.random((n, n)) < density)
    J = np.triu(J, 1)
    J = J + J.T
    return J, rng.normal(size=n)


def random_spins(rng, batch, n, dtype=np.int8):
    return rng.choice(np.array([-1, 1], dtype=dtype), size=(batch, n))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 12),
    density=st.sampled_from([0.2, 0.6, 1.0]),
    sparse=st.booleans(),
    dtype=st.sampled_from([jnp.float32, jnp.float64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_energy_matches_double_loop(n, density, sparse, dtype, seed):
    rng = np.random.default_rng(seed)
    J, h = random_instance(rng, n, density)
    x = random_spins(rng, 7, n)
    hilbert = nk.hilbert.Spin(0.5, n)
    if sparse:
        rows, cols = np.nonzero(np.triu(J, 1))
        H = na.PairwiseIsing(hilbert, J[rows, cols], h, edges=np.stack([rows, cols], 1), dtype=dtype)
    else:
        H = na.PairwiseIsing(hilbert, J, h, dtype=dtype)
    assert H.is_sparse == sparse
    assert H.n_edges == np.count_nonzero(np.triu(J, 1))
    got = np.asarray(H.energy(x))
    assert got.dtype == np.dtype(dtype)
    rtol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(got, loop_energy(J, h, x), rtol=rtol, atol=rtol * 10)


def test_dense_and_sparse_accessors_agree():
    rng = np.random.default_rng(0)
    J, h = random_instance(rng, 9, 0.4)
    dense = na.from_couplings(J, h)
    sparse = na.PairwiseIsing(dense.hilbert, dense.edge_weights, h, edges=dense.edges)
    np.testing.assert_array_equal(np.asarray(sparse.couplings), J)
    np.testing.assert_array_equal(np.asarray(dense.couplings), J)
    assert np.all(np.asarray(dense.edges)[:, 0] < np.asarray(dense.edges)[:, 1])
    x = random_spins(rng, 50, 9)
    np.testing.assert_allclose(dense.energy(x), sparse.energy(x), rtol=1e-13)
    assert "sparse" in repr(sparse) and "N=9" in repr(dense)


def test_int8_samples_do_not_overflow():
    H = na.curie_weiss(300, J=1.0)
    x = np.ones((2, 300), dtype=np.int8)
    # All spins up: Σ_{i<j} x_i x_j = N(N-1)/2, far beyond int8 range.
    np.testing.assert_allclose(H.energy(x), -(300 - 1) / 2.0, rtol=1e-12)


def test_operator_is_a_jittable_pytree_and_diagonal():
    rng = np.random.default_rng(1)
    H = na.from_couplings(*random_instance(rng, 6, 1.0))
    x = jnp.asarray(random_spins(rng, 4, 6))
    leaves, treedef = jax.tree_util.tree_flatten(H)
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    np.testing.assert_allclose(jax.jit(lambda op, s: op.energy(s))(rebuilt, x), H.energy(x))
    xp, mels = H.get_conn_padded(x)
    assert xp.shape == (4, 1, 6) and mels.shape == (4, 1)
    np.testing.assert_array_equal(xp[:, 0], x)
    # The generic NetKet machinery sees a diagonal matrix with H(x) on the diagonal.
    dense = np.asarray(H.to_dense())
    np.testing.assert_allclose(np.diag(dense), H.energy(H.hilbert.all_states()), rtol=1e-12)
    assert np.count_nonzero(dense - np.diag(np.diag(dense))) == 0


def test_mcstate_expect_is_sample_mean_without_model_calls():
    H = na.sherrington_kirkpatrick(10, seed=3)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=2, features=4)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=512, seed=0, sampler_seed=1)
    stats = vs.expect(H)
    np.testing.assert_allclose(stats.mean.real, np.mean(H.energy(vs.samples)), rtol=1e-12)
    vs.chunk_size = 128
    np.testing.assert_allclose(vs.expect(H).mean.real, np.mean(H.energy(vs.samples)), rtol=1e-12)
    # The registered kernel never evaluates the model: a model that would give NaN on
    # connected states cannot spoil the estimate.
    kernel = nk.vqs.get_local_kernel(vs, H)
    values = kernel(lambda p, s: jnp.full(s.shape[:-1], jnp.nan), vs.parameters, vs.samples.reshape(-1, 10), H)
    assert np.all(np.isfinite(values))


def test_metropolis_boltzmann_sampling_uses_operator():
    # log ψ = -βH/2 makes |ψ|^2 the Boltzmann distribution: the operator is usable in any model.
    H = na.curie_weiss(8, J=1.0, h=0.2)
    beta = 0.7

    class LogBoltzmann(fnn.Module):
        @fnn.compact
        def __call__(self, x):
            return -0.5 * beta * H.energy(x)

    vs = nk.vqs.MCState(
        nk.sampler.MetropolisLocal(H.hilbert, n_chains=16),
        LogBoltzmann(),
        variables={"params": {}},
        n_samples=4096,
        n_discard_per_chain=50,
        seed=0,
        sampler_seed=0,
    )
    stats = vs.expect(H)
    exact = na.exact.curie_weiss_closed_form(8, beta, h=0.2)
    assert abs(stats.mean.real / 8 - exact.energy) < 5 * stats.error_of_mean / 8 + 1e-3
