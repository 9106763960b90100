"""MADE_dw baseline on NetKet's ARNNDense (netket_arnn.models.made_baseline)."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

from netket_arnn.models import SingleLayerARNN, made, made_n_params, made_width_for

N = 6
HI = nk.hilbert.Spin(0.5, N)


def _variables(model):
    return jax.jit(model.init)(jax.random.key(0), jnp.ones((1, N)))


def _effective_count(model, variables):
    """Parameters that can influence log q: entries with a nonzero gradient at random inputs and
    random parameters (the masks zero the gradient of the masked-out kernel entries)."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.choice([-1.0, 1.0], size=(64, N)))
    params = jax.tree.map(lambda p: p + jnp.asarray(rng.normal(size=p.shape), p.dtype), variables["params"])
    grad = jax.grad(lambda p: jnp.sum(jnp.sin(jnp.arange(64) * model.apply({"params": p}, x))))(params)
    return sum(int(np.count_nonzero(np.asarray(g))) for g in jax.tree.leaves(grad))


@pytest.mark.parametrize(("depth", "width"), [(2, 1), (2, 3), (3, 2)])
def test_made_structure_and_counts(depth, width):
    model = made(HI, depth, width, dtype=jnp.float64)
    assert isinstance(model, nk.models.ARNNDense) and model.machine_pow == 2
    assert model.layers == depth and tuple(model.features) == (width,) * (depth - 1) + (2,)
    variables = _variables(model)
    assert sum(p.size for p in jax.tree.leaves(variables["params"])) == made_n_params(N, depth, width)
    assert _effective_count(model, variables) == made_n_params(N, depth, width, "effective")


def test_paper_convention():
    # one more hidden block of width wN adds its PReLU slopes (wN), weights (wN)^2 and biases (wN)
    n, w = 9, 3
    for d in (2, 3, 4):
        step = made_n_params(n, d + 1, w, "paper") - made_n_params(n, d, w, "paper")
        assert step == (w * n) ** 2 + 2 * w * n
    # depth 1 is the single masked layer 1L: N^2 weights (masked ones included) and N biases
    one_layer = SingleLayerARNN(hilbert=nk.hilbert.Spin(0.5, n), couplings_init_scale=0.1)
    params = jax.eval_shape(one_layer.init, jax.random.key(0), jnp.ones((1, n)))["params"]
    assert made_n_params(n, 1, 1, "paper") == sum(p.size for p in jax.tree.leaves(params)) == n * n + n
    # depth 2: input -> wN (N*wN + wN), PReLU (wN), wN -> output (wN*N + N)
    assert made_n_params(n, 2, w, "paper") == 2 * w * n * n + 2 * w * n + n


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_made_samples_and_is_normalised(dtype):
    model = made(HI, 2, 2, param_dtype=dtype)
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(HI), model, n_samples=32, seed=1)
    samples = np.asarray(vstate.samples).reshape(-1, N)
    assert set(np.unique(samples)) <= {-1, 1}
    q = np.exp(2.0 * np.asarray(vstate.log_value(jnp.asarray(HI.all_states())), dtype=np.float64))
    np.testing.assert_allclose(q.sum(), 1.0, rtol=1e-5)


def test_width_for_a_target_size():
    n, target = 50, 12350  # e.g. the size of an SK_1RSB on 50 spins
    w = made_width_for(n, target, depth=2)
    assert made_n_params(n, 2, w) >= target > made_n_params(n, 2, w - 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        made(HI, 0, 1)
    with pytest.raises(ValueError, match="SingleLayerARNN"):
        made(HI, 1, 1)
    with pytest.raises(ValueError, match="width"):
        made(HI, 2, 1.5)
    with pytest.raises(ValueError, match="convention"):
        made_n_params(5, 2, 1, "torch")
    with pytest.raises(TypeError, match="Spin"):
        made(nk.hilbert.Fock(3, 4), 2, 1)
