"""The first-layer protocol (netket_arnn.nn): every implementation against the definition.

For each of dense, packed-triangle, sparse (fixed and learned) and uniform first layers:
the batched fields equal xi_il = sum_{s<i} J_sl x_s computed by a double loop, the sampling
recurrence reproduces them site by site from the initial state, and the storage
(collection, shape, start) is as documented.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from netket.utils import HashableArray

from netket_arnn.nn import DenseFirstLayer, PackedFirstLayer, SparseFirstLayer, UniformFirstLayer
from netket_arnn.nn.dense import packed_index, packed_row
from netket_arnn.nn.first_layer import exclusive_cumsum

N = 7


def _symmetric(n, seed, density=1.0):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(size=(n, n)) * (rng.random((n, n)) < density), 1)
    return J + J.T


_J = _symmetric(N, 0)
_SPARSE_J = _symmetric(N, 1, density=0.4)
_EDGES = np.argwhere(np.triu(_SPARSE_J, 1) != 0)

# name -> (layer, the coupling matrix it must act with, its storage: (collection, name, shape))
LAYERS = {
    "dense-fixed": (DenseFirstLayer(N, HashableArray(_J)), _J, ("couplings", "matrix", (N, N))),
    "dense-learned": (DenseFirstLayer(N, HashableArray(_J), learn_couplings=True), _J, ("params", "kernel", (N, N))),
    "packed-fixed": (PackedFirstLayer(N, HashableArray(_J)), _J, ("couplings", "upper", (N * (N - 1) // 2,))),
    "packed-learned": (
        PackedFirstLayer(N, HashableArray(_J), learn_couplings=True),
        _J,
        ("params", "kernel", (N * (N - 1) // 2,)),
    ),
    "sparse-fixed": (
        SparseFirstLayer(N, HashableArray(_SPARSE_J[tuple(_EDGES.T)]), edges=HashableArray(_EDGES)),
        _SPARSE_J,
        ("couplings", "edge_weights", (len(_EDGES),)),
    ),
    "sparse-learned": (
        SparseFirstLayer(
            N, HashableArray(_SPARSE_J[tuple(_EDGES.T)]), learn_couplings=True, edges=HashableArray(_EDGES)
        ),
        _SPARSE_J,
        ("params", "kernel", (len(_EDGES),)),
    ),
    "uniform": (UniformFirstLayer(N), 1.0 - np.eye(N), None),
}
DEFAULT_PRECISION = {name: layer for name, (layer, _, _) in LAYERS.items()}
# the checks against the definition run in float64 arithmetic (the default is float32)
LAYERS = {name: (layer.clone(dtype=jnp.float64), J, storage) for name, (layer, J, storage) in LAYERS.items()}


def _spins(batch, seed):
    return jnp.asarray(np.random.default_rng(seed).choice([-1, 1], size=(batch, N)).astype(np.int8))


def _brute_fields(x, J):
    """xi[b, i, l] = sum_{s<i} J[s, l] x[b, s], by a double loop."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros((x.shape[0], N, N))
    for i in range(N):
        for s in range(i):
            out[:, i, :] += J[s][None, :] * x[:, s : s + 1]
    return out


def _variables(layer):
    return layer.init(jax.random.key(0), method=layer.coupling_matrix)


@pytest.mark.parametrize("name", list(LAYERS))
def test_all_fields_is_the_masked_sum_over_earlier_sites(name):
    layer, J, _ = LAYERS[name]
    variables = _variables(layer)
    x = _spins(5, 1)
    fields = np.asarray(layer.apply(variables, x, method=layer.all_fields))
    expected = _brute_fields(x, J)
    if name == "uniform":  # one column, xi_il = M_i for every l
        assert fields.shape == (5, N, 1)
        np.testing.assert_allclose(fields[..., 0], np.cumsum(np.asarray(x), axis=1) - np.asarray(x), atol=0)
        return
    assert fields.shape == (5, N, N)
    upper = np.triu(np.ones((N, N), bool))  # columns l >= i are the meaningful ones
    np.testing.assert_allclose(fields[:, upper], expected[:, upper], atol=1e-13)
    np.testing.assert_allclose(layer.apply(variables, method=layer.coupling_matrix), J, atol=1e-15)


@pytest.mark.parametrize("name", list(LAYERS))
def test_recurrence_reproduces_the_batched_fields(name):
    layer, _, _ = LAYERS[name]
    variables = _variables(layer)
    x = _spins(4, 2)
    full = np.asarray(layer.apply(variables, x, method=layer.all_fields))
    update = jax.jit(lambda state, i: layer.apply(variables, state, x, i, method=layer.update))
    # a pass starts from init_state, which site 0 leaves as it is
    state = layer.apply(variables, 4, method=layer.init_state)
    for i in range(N):
        state = update(state, i)
        live = slice(i, None) if full.shape[-1] == N else slice(None)  # columns l >= i
        np.testing.assert_allclose(np.asarray(state)[:, live], full[:, i, live], atol=1e-13)
    # site 0 adds nothing, whatever the configurations (the sampler's buffer holds zeros there,
    # but a caller's need not): a state carried over is not reset, so a new pass needs init_state
    carried = update(state, 0)
    np.testing.assert_array_equal(np.asarray(carried), np.asarray(state))


@pytest.mark.parametrize("name", [n for n in LAYERS if n != "uniform"])
def test_storage_fixed_or_learned(name):
    layer, J, (collection, variable, shape) = LAYERS[name]
    variables = _variables(layer)
    assert set(variables) == {collection}
    stored = variables[collection][variable]
    assert stored.shape == shape and stored.dtype == jnp.float64
    f32 = layer.clone(param_dtype=jnp.float32)
    assert _variables(f32)[collection][variable].dtype == jnp.float32
    if collection == "params":  # a learned layer gets the gradient of its own couplings
        x = _spins(3, 4)
        grad = jax.grad(lambda p: jnp.sum(layer.apply({"params": p}, x, method=layer.all_fields) ** 2))(
            variables["params"]
        )
        assert np.any(np.asarray(grad["kernel"]) != 0)
        random = layer.clone(couplings_init_scale=0.01)
        kernel = np.asarray(_variables(random)["params"]["kernel"])
        assert kernel.shape == shape and 0 < np.std(kernel) < 0.05


@pytest.mark.parametrize("name", list(LAYERS))
def test_default_precision_float64_couplings_float32_arithmetic(name):
    # the models' policy (netket_arnn.models.precision): couplings stored in float64, every array
    # with a batch axis (fields, sampling state) computed in float32
    layer, J, storage = DEFAULT_PRECISION[name], LAYERS[name][1], LAYERS[name][2]
    variables = _variables(layer)
    if storage is not None:
        assert variables[storage[0]][storage[1]].dtype == jnp.float64
    x = _spins(5, 3)
    fields = layer.apply(variables, x, method=layer.all_fields)
    state = layer.apply(variables, 5, method=layer.init_state)
    for i in range(4):  # test driver: the sampling recurrence up to site 3
        state = layer.apply(variables, state, x, i, method=layer.update)
    assert fields.dtype == jnp.float32 and state.dtype == jnp.float32
    if name != "uniform":
        upper = np.triu(np.ones((N, N), bool))
        np.testing.assert_allclose(np.asarray(fields)[:, upper], _brute_fields(x, J)[:, upper], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(state[:, 3:], fields[:, 3, 3:], rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match="dtype"):
        layer.clone(dtype=None).apply(variables, x, method=layer.all_fields)


def test_fixed_or_learned_layers_need_a_start():
    with pytest.raises(ValueError, match="need `values`"):
        _variables(PackedFirstLayer(N))
    with pytest.raises(ValueError, match="couplings_init_scale"):
        _variables(DenseFirstLayer(N, learn_couplings=True))
    with pytest.raises(ValueError, match=r"\(7, 7\) coupling matrix"):
        _variables(PackedFirstLayer(N, HashableArray(np.zeros((N, N + 1)))))
    with pytest.raises(ValueError, match="shape"):
        _variables(SparseFirstLayer(N, HashableArray(np.zeros(2)), edges=HashableArray(_EDGES)))
    with pytest.raises(ValueError, match="no couplings to learn"):
        _variables(UniformFirstLayer(N, learn_couplings=True))


def test_dense_learned_layer_reads_only_the_upper_triangle():
    # a masked dense layer: entries W[s, l] with s >= l change nothing
    layer, _, _ = LAYERS["dense-learned"]
    params = _variables(layer)["params"]
    x = _spins(6, 5)
    fields = layer.apply({"params": params}, x, method=layer.all_fields)
    changed = {"kernel": params["kernel"] + 3.0 * jnp.tril(jnp.ones((N, N)))}
    np.testing.assert_array_equal(layer.apply({"params": changed}, x, method=layer.all_fields), fields)
    diag = layer.apply({"params": params}, x, method=layer.self_fields)
    np.testing.assert_allclose(diag, np.einsum("bii->bi", np.asarray(fields)), atol=1e-13)


def test_exclusive_cumsum_never_sees_its_own_entry():
    rng = np.random.default_rng(0)
    terms = jnp.asarray(rng.normal(size=(3, 9)) * 1e8)
    base = exclusive_cumsum(terms, axis=1)
    np.testing.assert_array_equal(base[:, 0], 0.0)
    for j in range(9):  # entry j of the result depends on entries < j only, bit for bit
        changed = exclusive_cumsum(terms.at[:, j].add(12345.678), axis=1)
        np.testing.assert_array_equal(changed[:, : j + 1], base[:, : j + 1])


def test_packed_index_and_rows():
    n = 9
    rows, cols = np.triu_indices(n, 1)
    np.testing.assert_array_equal(packed_index(rows, cols, n), np.arange(len(rows)))
    J = _symmetric(n, 3)
    upper = jnp.asarray(J[rows, cols])
    for s in range(n):
        np.testing.assert_array_equal(jax.jit(packed_row, static_argnums=2)(upper, s, n), J[s])
    np.testing.assert_array_equal(packed_row(jnp.zeros((0,)), 0, 1), [0.0])  # N = 1: no pairs
