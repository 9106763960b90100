"""Log-sigmoid chains (netket_arnn.nn.chains)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

from netket_arnn.nn.chains import log_sigmoid, log_sigmoid_chain, signed_chain_sum


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


def test_log_sigmoid_values_and_derivatives():
    z = jnp.concatenate([jnp.linspace(-40.0, 40.0, 801), jnp.array([-800.0, -1e-9, 0.0, 1e-9, 800.0])])
    np.testing.assert_allclose(log_sigmoid(z), jax.nn.log_sigmoid(z), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(log_sigmoid(z), _log_sigmoid(np.asarray(z)), rtol=1e-14, atol=1e-300)
    d = jax.vmap(jax.grad(log_sigmoid))(z)
    np.testing.assert_allclose(d, scipy.special.expit(-np.asarray(z)), rtol=1e-13, atol=1e-300)  # σ(-z)
    d2 = jax.vmap(jax.grad(jax.grad(log_sigmoid)))(z[:801])
    s = scipy.special.expit(np.asarray(z[:801]))
    np.testing.assert_allclose(d2, -s * (1 - s), rtol=1e-9, atol=1e-15)


def test_chain_is_nested_log_sigmoids():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(5, 3))
    w = rng.normal(size=(3, 3))
    b = rng.normal(size=(3, 3))
    expected = _log_sigmoid(b[2] + w[2] * _log_sigmoid(b[1] + w[1] * _log_sigmoid(b[0] + w[0] * u)))
    np.testing.assert_allclose(log_sigmoid_chain(jnp.asarray(u), jnp.asarray(w), jnp.asarray(b)), expected)


def test_chain_is_stable_for_large_inputs():
    # log σ(z) ~ z for z -> -inf: no overflow to -inf or nan
    out = log_sigmoid_chain(jnp.array([-800.0, 800.0]), jnp.ones((1, 2)), jnp.zeros((1, 2)))
    np.testing.assert_allclose(out, [-800.0, 0.0], atol=1e-12)


def test_depth_mismatch_raises():
    with pytest.raises(ValueError, match="depth"):
        log_sigmoid_chain(jnp.zeros(2), jnp.zeros((2, 2)), jnp.zeros((1, 2)))


def test_signed_sum_and_zero_padding():
    rng = np.random.default_rng(1)
    xi = rng.normal(size=(4, 6))
    w = rng.normal(size=(2, 2, 6))
    b = rng.normal(size=(2, 2, 6))
    v = rng.normal(size=(2, 6))
    plus = _log_sigmoid(b[1, 0] + w[1, 0] * _log_sigmoid(b[0, 0] + w[0, 0] * xi))
    minus = _log_sigmoid(b[1, 1] + w[1, 1] * _log_sigmoid(b[0, 1] + w[0, 1] * xi))
    expected = np.sum(v[0] * plus - v[1] * minus, axis=-1)
    got = signed_chain_sum(*map(jnp.asarray, (xi, w, b, v)))
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    # slots with zero output weight contribute nothing, whatever their input
    v[:, 3:] = 0.0
    xi2 = xi.copy()
    xi2[:, 3:] = 1e3
    np.testing.assert_allclose(
        signed_chain_sum(*map(jnp.asarray, (xi2, w, b, v))),
        signed_chain_sum(*map(jnp.asarray, (xi[:, :3], w[..., :3], b[..., :3], v[:, :3]))),
        rtol=1e-14,
    )
