"""The default precision policy: float64 parameters, float32 arithmetic, log q accumulated in float64.

Every other model test sets ``dtype`` equal to ``param_dtype``; these tests build each model with
its DEFAULT dtype settings. With float32 arithmetic each per-site term :math:`\\log\\sigma(x_i u_i)`
carries a float32 rounding error (so :math:`\\sum_x q(x) = 1` only to ~1e-7, whatever the
accumulation), but the sum over the N sites must be float64: a float32 sum adds a rounding
error of order ``eps32 * |log q|``, i.e. ~1e-6 already at N = 32.

The sharp check: ``x`` and ``x'`` that differ only in the LAST spin share every logit
(:math:`u_i` depends on :math:`x_{<i}` only), so in a float64 accumulation
:math:`\\log q(x) - \\log q(x')` is exactly the difference of the two last-site float32 terms,
:math:`\\log\\sigma(u_N) - \\log\\sigma(-u_N)`; a float32 accumulation rounds the common partial
sum :math:`\\sum_{i<N}` differently in the two and misses by ~ulp(|log q|).

Add a model to ``DEFAULT_MODELS`` (a builder ``H, beta -> model`` using the defaults, valid at N = 32)
to check it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.models import CurieWeissARNN, SingleLayerARNN, SpinGlassARNN

BETA = 1.3

DEFAULT_MODELS = {
    "SpinGlassARNN": lambda H, beta: SpinGlassARNN.from_hamiltonian(H, beta, 1),
    "SingleLayerARNN": lambda H, beta: SingleLayerARNN.from_hamiltonian(H, beta),
    "CurieWeissARNN": lambda H, beta: CurieWeissARNN(hilbert=H.hilbert, beta=beta, J=1.0, h=0.2, trainable=True),
}


def _init(model, x):
    return jax.jit(model.init)(jax.random.key(0), jnp.asarray(x[:2]))


@pytest.mark.parametrize("name", sorted(DEFAULT_MODELS))
def test_defaults_are_float64_parameters_and_float64_log_q(name):
    H = na.sherrington_kirkpatrick(8, seed=1, h=0.2)
    model = DEFAULT_MODELS[name](H, BETA)
    x = np.asarray(H.hilbert.all_states())
    variables = _init(model, x)
    for leaf in jax.tree.leaves(variables["params"]):
        assert leaf.dtype == jnp.float64
    assert jax.jit(model.apply)(variables, x).dtype == jnp.float64


@pytest.mark.parametrize("name", sorted(DEFAULT_MODELS))
def test_default_log_q_is_normalised_to_float32_arithmetic_precision(name):
    # measured: |sum q - 1| ~ 5e-8 at N = 10 with float32 arithmetic (per-site sigmoid pairs
    # each rounded in float32); a wrong normalisation (a dropped site, a wrong sign) is O(1)
    H = na.sherrington_kirkpatrick(10, seed=2, h=0.2)
    model = DEFAULT_MODELS[name](H, BETA)
    x = np.asarray(H.hilbert.all_states())
    variables = _init(model, x)
    log_q = 2.0 * np.asarray(jax.jit(model.apply)(variables, x))
    assert abs(np.exp(log_q).sum() - 1.0) < 1e-6


@pytest.mark.parametrize("name", sorted(DEFAULT_MODELS))
def test_default_log_q_accumulates_the_sites_in_float64(name):
    # measured for SpinGlassARNN at N = 32 (three instances): |Δ log q - Δ last term| <= 1.1e-7 with the float64
    # accumulation (ulps of the last-site terms, evaluated in another compiled program), and
    # 5.5e-6 .. 6.2e-6 with a float32 accumulation of the same float32 terms
    n, m = 32, 256
    H = na.sherrington_kirkpatrick(n, seed=0, h=0.2)
    model = DEFAULT_MODELS[name](H, BETA)
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(m, n))
    x[:, -1] = 1.0
    flipped = x.copy()
    flipped[:, -1] = -1.0
    both = np.concatenate([x, flipped])
    variables = _init(model, both)
    log_q = 2.0 * np.asarray(jax.jit(model.apply)(variables, both))
    assert log_q.dtype == np.float64
    difference = log_q[:m] - log_q[m:]
    conditionals = 2.0 * np.asarray(
        jax.jit(lambda v, s: model.apply(v, s, method=model.conditionals_log_psi))(variables, x)
    )
    # local index 0 is spin +1, 1 is spin -1 (hilbert.local_states of Spin(0.5))
    last = conditionals[:, -1, 0].astype(np.float64) - conditionals[:, -1, 1].astype(np.float64)
    assert np.abs(difference - last).max() < 1e-6
    assert np.abs(log_q).mean() > 20  # the partial sums are large enough for float32 to show
