import jax
import jax.numpy as jnp
import numpy as np
import pytest
from netket.utils import HashableArray

from netket_arnn.nn import Couplings, first_layer, first_layer_update


def random_couplings(n, seed=0):
    J = np.triu(np.random.default_rng(seed).normal(size=(n, n)), 1)
    return J + J.T


def test_first_layer_is_the_masked_sum_over_earlier_sites():
    n, rng = 7, np.random.default_rng(1)
    J = random_couplings(n)
    x = rng.choice([-1, 1], size=(5, n)).astype(np.int8)
    xi = np.asarray(first_layer(jnp.asarray(x), jnp.asarray(J)))
    assert xi.shape == (5, n, n)
    for i in range(n):
        for l in range(n):
            expected = sum(J[s, l] * x[:, s] for s in range(i)) if i else np.zeros(5)
            np.testing.assert_allclose(xi[:, i, l], expected, atol=1e-13)


def test_recurrent_update_reproduces_the_batched_pass():
    n, rng = 9, np.random.default_rng(2)
    J = jnp.asarray(random_couplings(n, 3))
    x = jnp.asarray(rng.choice([-1.0, 1.0], size=(4, n)))
    full = first_layer(x, J)
    state = jnp.zeros((4, n))
    update = jax.jit(first_layer_update)
    for i in range(n):
        state = update(state, J, x, i)
        np.testing.assert_allclose(state, full[:, i, :], atol=1e-12)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_couplings_module_fixed_and_trainable(dtype):
    n = 6
    J = random_couplings(n, 4)
    fixed = Couplings(n, HashableArray(J), param_dtype=dtype)
    variables = fixed.init(jax.random.key(0))
    assert "params" not in variables and "couplings" in variables
    out = fixed.apply(variables)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, J, rtol=1e-6 if dtype == jnp.float32 else 0)

    trainable = Couplings(n, HashableArray(J), trainable=True, param_dtype=dtype)
    params = trainable.init(jax.random.key(0))["params"]
    assert params["kernel"].shape == (n * (n - 1) // 2,)
    np.testing.assert_allclose(trainable.apply({"params": params}), J, rtol=1e-6 if dtype == jnp.float32 else 0)

    small = Couplings(n, trainable=True, kernel_init=jax.nn.initializers.normal(1e-2), param_dtype=dtype)
    W = np.asarray(small.apply(small.init(jax.random.key(1))))
    np.testing.assert_array_equal(W, W.T)
    assert np.all(np.diag(W) == 0) and 0 < np.abs(W).max() < 0.1


def test_couplings_module_needs_values():
    with pytest.raises(ValueError, match="need `values`"):
        Couplings(3).init(jax.random.key(0))
