"""H2ARNN is the exact autoregressive form of exp(-beta H) / Z (THEORY §2)."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.models import FIXED_COLLECTION, H2ARNN
from netket_arnn.models.h2arnn import MAX_H2ARNN_SITES, hidden_parameter_count

from .ar_checks import log_q


def _random_dense(n, seed, field_scale=0.5):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0.0, 1.0 / np.sqrt(n), (n, n)), 1)
    return na.from_couplings(J + J.T, rng.normal(0.0, field_scale, n))


def _init(model, x):
    return jax.jit(model.init)(jax.random.key(0), x)


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.5])
def test_exact_against_enumeration(beta):
    H = _random_dense(10, seed=int(10 * beta))
    model = H2ARNN.from_hamiltonian(H, beta, dtype=jnp.float64)
    x = H.hilbert.all_states()
    lq = log_q(model, _init(model, x), x)
    lp = np.asarray(na.exact.log_prob(H, x, beta))
    np.testing.assert_allclose(lq, lp, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.exp(lq).sum(), 1.0, atol=1e-10)


def test_exact_for_sparse_couplings_with_uniform_field():
    H = na.edwards_anderson(nk.graph.Square(3, pbc=False), "pm1", seed=4, h=0.3)
    model = H2ARNN.from_hamiltonian(H, 1.3, dtype=jnp.float64)
    x = H.hilbert.all_states()
    np.testing.assert_allclose(log_q(model, _init(model, x), x), na.exact.log_prob(H, x, 1.3), atol=1e-10)


def test_trainable_starts_exact_and_counts_parameters():
    N, beta = 6, 0.8
    H = _random_dense(N, seed=1)
    model = H2ARNN.from_hamiltonian(H, beta, trainable=True, learn_couplings=True, dtype=jnp.float64)
    x = H.hilbert.all_states()
    variables = _init(model, x)
    np.testing.assert_allclose(log_q(model, variables, x), na.exact.log_prob(H, x, beta), atol=1e-10)

    params = variables["params"]
    U = 2**N - 1
    assert params["weights"].shape == (U, N)
    assert params["first_layer"]["kernel"].shape == (N * (N - 1) // 2,)
    stored = sum(p.size for p in jax.tree.leaves(params))
    assert stored == U * N + 2 * U + 2 * N + N * (N - 1) // 2
    assert FIXED_COLLECTION not in variables and "couplings" not in variables

    # Only the weights w_cl with l > i act: masked entries (l <= i) receive no gradient, and
    # neither do site 0's, which multiply xi_0l = 0. The layer has sum_i n_i 2^{n_i} = (N-2) 2^N + 2.
    @jax.jit
    def loss(p):
        return jnp.sum(jnp.exp(2 * model.apply({"params": p}, x)) * jnp.sin(jnp.arange(2**N)))

    grad = np.asarray(jax.grad(loss)(params)["weights"])
    site = np.repeat(np.arange(N), 2 ** (N - 1 - np.arange(N)))
    acting = (np.arange(N)[None, :] > site[:, None]) & (site[:, None] >= 1)
    np.testing.assert_array_equal(grad != 0, acting)
    layer = np.count_nonzero(np.arange(N)[None, :] > site[:, None])
    assert stored - U * N + layer == hidden_parameter_count(N) + N * (N - 1) // 2


def test_gradient_matches_finite_differences():
    N, beta = 5, 1.1
    H = _random_dense(N, seed=2)
    model = H2ARNN.from_hamiltonian(H, beta, trainable=True, learn_couplings=True, dtype=jnp.float64)
    x = H.hilbert.all_states()
    params = _init(model, x)["params"]
    weights = np.cos(np.arange(2**N))

    @jax.jit
    def loss(p):
        return jnp.sum(weights * model.apply({"params": p}, x))

    grad = jax.grad(loss)(params)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    gflat, _ = jax.flatten_util.ravel_pytree(grad)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for idx in rng.choice(np.flatnonzero(gflat), size=8, replace=False):
        e = np.zeros_like(flat)
        e[idx] = eps
        fd = (loss(unravel(flat + e)) - loss(unravel(flat - e))) / (2 * eps)
        np.testing.assert_allclose(gflat[idx], fd, rtol=1e-6, atol=1e-8)


def test_fixed_model_has_no_trainable_parameters():
    N = 7
    H = _random_dense(N, seed=3)
    model = H2ARNN.from_hamiltonian(H, 0.5, dtype=jnp.float64)
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16)
    assert vstate.n_parameters == 0
    fixed = vstate.model_state[FIXED_COLLECTION]
    assert sum(a.size for a in jax.tree.leaves(fixed)) == hidden_parameter_count(N, trainable_weights=False)
    np.testing.assert_allclose(
        vstate.model_state["couplings"]["first_layer"]["upper"], H.couplings[np.triu_indices(N, 1)]
    )


def test_trainable_couplings_from_initialiser_stay_normalised():
    N = 6
    H = _random_dense(N, seed=5)
    model = H2ARNN.from_hamiltonian(H, 1.0, learn_couplings=True, couplings_init_scale=1e-2, dtype=jnp.float64)
    x = H.hilbert.all_states()
    variables = _init(model, x)
    kernel = np.asarray(variables["params"]["first_layer"]["kernel"])
    assert 0 < np.std(kernel) < 0.05  # from the initialiser, not from H
    lq = log_q(model, variables, x)
    np.testing.assert_allclose(np.exp(lq).sum(), 1.0, atol=1e-12)
    assert np.max(np.abs(lq - np.asarray(na.exact.log_prob(H, x, 1.0)))) > 1e-3


def test_rejects_bad_input():
    H = _random_dense(MAX_H2ARNN_SITES + 1, seed=0)
    with pytest.raises(ValueError, match=f"N <= {MAX_H2ARNN_SITES}"):
        H2ARNN.from_hamiltonian(H, 1.0, dtype=jnp.float64)
    small = _random_dense(4, seed=0)
    with pytest.raises(TypeError, match="PairwiseIsing"):
        H2ARNN.from_hamiltonian(nk.operator.spin.sigmaz(small.hilbert, 0), 1.0, dtype=jnp.float64)
    for beta in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            H2ARNN.from_hamiltonian(small, beta, dtype=jnp.float64)
    wrong = H2ARNN(
        hilbert=small.hilbert,
        beta=1.0,
        couplings=nk.utils.HashableArray(np.zeros((3, 3))),
        fields=nk.utils.HashableArray(np.zeros(4)),
    )
    with pytest.raises(ValueError, match="shape"):
        wrong.init(jax.random.key(0), small.hilbert.all_states())


def test_batched_pass_in_batch_chunks_equals_one_block():
    # the memory budget splits the batch (N 2^N numbers per sample); the logits do not change
    N = 8
    H = _random_dense(N, seed=6)
    x = H.hilbert.all_states()
    whole = H2ARNN.from_hamiltonian(H, 0.9, dtype=jnp.float64)
    chunked = H2ARNN.from_hamiltonian(H, 0.9, chunk_elements=3 * N * 2**N, dtype=jnp.float64)  # 3 samples per chunk
    variables = _init(whole, x)
    logits = [jax.jit(lambda v, m=m: m.apply(v, x, method=m.logits))(variables) for m in (whole, chunked)]
    np.testing.assert_allclose(logits[1], logits[0], rtol=0, atol=1e-13)

    # the compiled chunked pass holds about a chunk's worth of N 2^N numbers, not the batch's
    def temp_bytes(m):
        lowered = jax.jit(lambda v: m.apply(v, x, method=m.logits)).lower(variables)
        return lowered.compile().memory_analysis().temp_size_in_bytes

    assert temp_bytes(chunked) * 8 < temp_bytes(whole)
