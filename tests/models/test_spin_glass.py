"""SK_kRSB networks (netket_arnn.models.spin_glass): structure, exactness of the machinery, sampling.

Small systems throughout; the expensive checks (training to the exact free energy, N = 1000
and 64 x 64 runs, the N = 200 memory budget, the batched pass's memory scaling) are marked slow.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest
import scipy.special
import scipy.stats

import netket_arnn as na
from netket_arnn.exact import by_enumeration
from netket_arnn.models.spin_glass import SpinGlassARNN, spin_glass_n_params
from netket_arnn.nn.first_layer import fields_from_rows
from netket_arnn.nn.sparse import frontier_layout

# exactness checks run in double precision (the models' default arithmetic is float32); the
# machinery is checked at random parameters (the decoupled start has its own tests)
_model = functools.partial(SpinGlassARNN.from_hamiltonian, dtype=jnp.float64, start="random")


def _sk(n, seed=2):
    return na.sherrington_kirkpatrick(n, seed=seed)


def _ea(L, seed=4, pbc=True, h=0.0):
    return na.edwards_anderson(nk.graph.Grid([L, L], pbc=pbc), seed=seed, h=h)


def _with_fields(H, seed):
    h = np.random.default_rng(seed).normal(0.0, 0.5, H.n_sites)
    if H.is_sparse:
        return na.PairwiseIsing(H.hilbert, np.asarray(H.edge_weights), h, edges=np.asarray(H.edges))
    return na.from_couplings(np.asarray(H.couplings), h)


def _init(model, seed=0):
    return jax.jit(model.init)(jax.random.key(seed), jnp.ones((1, model.hilbert.size)))


def _n_params(model):
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.ones((1, model.hilbert.size)))
    return sum(p.size for p in jax.tree.leaves(shapes["params"]))


def _spins(n, batch, seed):
    return jnp.asarray(np.random.default_rng(seed).choice([-1.0, 1.0], size=(batch, n)))


def _logits(model):
    """Jitted ``(variables, x) -> logits`` of ``model``."""
    return jax.jit(lambda v, y: model.apply(v, y, method=model.logits))


def _log_q(model, variables, x):
    return np.asarray(2.0 * jax.jit(model.apply)(variables, x))


def _all_log_q(model, variables):
    return _log_q(model, variables, jnp.asarray(model.hilbert.all_states(), dtype=jnp.float64))


def _cached_pass(model, variables, n_samples, seed=0):
    """Ancestral sampling exactly as ARDirectSampler drives `conditional`; returns x and the conditionals."""
    n = model.hilbert.size
    signs = jnp.asarray(model.hilbert.local_states, dtype=jnp.float64)
    x = jnp.zeros((n_samples, n), dtype=jnp.int8)
    cache = model.init(jax.random.key(seed), x, 0, method=model.conditional)["cache"]
    base = {k: v for k, v in variables.items() if k != "cache"}

    def step(carry, index):
        cache, x, key = carry
        key, sub = jax.random.split(key)
        p, mut = model.apply({**base, "cache": cache}, x, index, method=model.conditional, mutable=["cache"])
        choice = jax.random.categorical(sub, jnp.log(p), axis=-1)
        x = x.at[:, index].set(signs[choice].astype(x.dtype))
        return (mut["cache"], x, key), p

    (_, x, _), probs = jax.jit(lambda c, x: jax.lax.scan(step, (c, x, jax.random.key(seed + 1)), jnp.arange(n)))(
        cache, x
    )
    return x, jnp.moveaxis(probs, 0, 1)


# -- construction ---------------------------------------------------------------------------------
def test_from_hamiltonian_validates_input():
    H = _sk(5)
    with pytest.raises(TypeError, match="PairwiseIsing"):
        _model(np.zeros((5, 5)), 1.0)
    with pytest.raises(ValueError, match="beta"):
        _model(H, 0.0)
    with pytest.raises(ValueError, match="beta"):
        _model(H, float("nan"))
    with pytest.raises(ValueError, match="non-negative integer"):
        _model(H, 1.0, k=-1)
    for bad in (True, "1"):
        with pytest.raises(TypeError, match="non-negative integer"):
            _model(H, 1.0, k=bad)
    with pytest.raises(ValueError, match="non-negative integer"):
        _model(H, 1.0, k=1.5)
    model = SpinGlassARNN(hilbert=H.hilbert, k=1)  # no couplings
    with pytest.raises(ValueError, match="couplings"):
        _init(model)
    wrong = SpinGlassARNN(hilbert=nk.hilbert.Spin(0.5, 4), couplings=nk.utils.HashableArray(np.zeros((5, 5))))
    with pytest.raises(ValueError, match="shape"):
        _init(wrong)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_dense_parameter_count_is_the_papers(k):
    n = 7
    H = _sk(n)
    model = _model(H, 1.0, k=k)
    assert _n_params(model) == (4 * k + 6) * n * (n - 1) // 2 + 2 * n == spin_glass_n_params(H, k)
    learned = _model(H, 1.0, k=k, learn_couplings=True)
    assert (
        _n_params(learned)
        == spin_glass_n_params(H, k) + n * (n - 1) // 2
        == spin_glass_n_params(H, k, learn_couplings=True)
    )


@pytest.mark.parametrize("k", [0, 2])
def test_sparse_parameter_count_is_over_frontier_pairs(k):
    H = _ea(4)
    n = H.n_sites
    J = np.asarray(H.couplings)
    frontier_pairs = sum(1 for i in range(n) for l in range(i + 1, n) if J[:i, l].any())
    model = _model(H, 1.0, k=k, learn_couplings=True)
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=8)
    expected = (4 * k + 6) * frontier_pairs + 2 * n + H.n_edges
    assert vstate.n_parameters == expected == spin_glass_n_params(H, k, learn_couplings=True)
    assert frontier_pairs < n * (n - 1) // 2


def test_initial_parameters_give_the_no_future_conditional():
    # hidden units switched off: u_i = 2β(ξ_ii + h_i), the exact logit when the unsampled spins
    # do not react to x_i
    beta = 0.7
    for H in (_with_fields(_sk(6), 1), _with_fields(_ea(3), 2)):
        model = _model(H, beta, k=1, init_scale=0.0)
        variables = _init(model)
        np.testing.assert_array_equal(variables["params"]["skip"], 2 * beta)
        np.testing.assert_allclose(variables["params"]["bias"], 2 * beta * np.asarray(H.fields))
        x = _spins(H.n_sites, 5, 0)
        xi_diag = np.einsum("bii->bi", np.asarray(fields_from_rows(x, H.couplings)))
        expected = 2 * beta * (xi_diag + np.asarray(H.fields))
        np.testing.assert_allclose(_logits(model)(variables, x), expected, atol=1e-13)
    # the random start is small
    params = _init(_model(_sk(6), beta, k=1))["params"]
    assert 0 < float(jnp.std(params["w"])) < 0.05


def test_learned_first_layer_start():
    H = _sk(6)
    model = _model(H, 1.0, learn_couplings=True, couplings_init_scale=0.01)
    params = _init(model)["params"]
    kernel = params["first_layer"]["kernel"]
    assert kernel.shape == (15,) and 0 < float(jnp.std(kernel)) < 0.05
    model = _model(H, 1.0, learn_couplings=True)  # default: from H's couplings
    params = _init(model)["params"]
    rows, cols = np.triu_indices(6, 1)
    np.testing.assert_allclose(params["first_layer"]["kernel"], np.asarray(H.couplings)[rows, cols])
    W = model.apply({"params": params}, method=model.coupling_matrix)
    np.testing.assert_allclose(W, H.couplings)


# -- exactness of the machinery -------------------------------------------------------------------
_MODELS = {
    "dense-k0": lambda: _model(_with_fields(_sk(7), 0), 0.9, k=0, init_scale=0.4),
    "dense-learned": lambda: _model(_sk(7), 0.9, k=2, learn_couplings=True, couplings_init_scale=0.5, init_scale=0.4),
    "sparse-learned": lambda: _model(
        _with_fields(_ea(3, pbc=False), 1), 0.9, k=2, learn_couplings=True, couplings_init_scale=0.5, init_scale=0.4
    ),
    "dense-centred": lambda: _model(_with_fields(_sk(7), 3), 0.9, k=1, init_scale=0.4, centred=True),
    "sparse-centred": lambda: _model(_with_fields(_ea(3), 2), 0.9, k=2, init_scale=0.4, centred=True),
}
# (the dense models have 7 sites: an odd number, padded to whole chunks)


@pytest.mark.parametrize("name", list(_MODELS))
def test_normalised_and_autoregressive(name):
    model = _MODELS[name]()
    n = model.hilbert.size
    variables = _init(model, seed=3)
    log_q = _all_log_q(model, variables)
    np.testing.assert_allclose(np.exp(log_q).sum(), 1.0, rtol=1e-12)

    # u_i depends on x_<i only: the Jacobian is strictly lower triangular (and nonzero below)
    x = _spins(n, 3, 1)
    logits = _logits(model)
    jac = jax.jit(jax.vmap(jax.jacobian(lambda y: logits(variables, y[None])[0])))(x)  # [b, i, j] = du_i/dx_j
    jac = np.asarray(jac)
    assert np.all(jac[:, *np.triu_indices(n)] == 0.0)
    if model.is_sparse:  # at least through the skip input ξ_ii: every earlier neighbour j of i
        j, i = np.asarray(model.edges).T
        assert np.all(np.abs(jac[:, i, j]).sum(0) > 0)
    else:
        assert np.all(np.abs(jac[:, *np.tril_indices(n, -1)]).sum(0) > 0)
    # flipping x_j leaves u_0..u_j bit for bit unchanged, also through one-site chunks
    small = dataclasses.replace(model, chunk_elements=1)
    flips = jnp.concatenate([x.at[:, j].multiply(-1) for j in range(n)])  # (n * 3, n)
    u_small = np.asarray(_logits(small)(variables, jnp.concatenate([x, flips])))
    u_ref, u_flip = u_small[:3], u_small[3:].reshape(n, 3, n)
    for j in range(n):
        np.testing.assert_array_equal(u_flip[j][:, : j + 1], u_ref[:, : j + 1])
    np.testing.assert_allclose(u_ref, logits(variables, x), atol=1e-13)


@pytest.mark.parametrize("name", list(_MODELS))
def test_cached_conditional_matches_full_conditionals(name):
    model = _MODELS[name]()
    variables = _init(model, seed=5)
    x, cached = _cached_pass(model, variables, n_samples=64)
    full = jax.jit(lambda v, y: model.apply(v, y, method=model.conditionals))(variables, x)
    np.testing.assert_allclose(cached, full, atol=1e-13)
    np.testing.assert_allclose(np.asarray(cached).sum(-1), 1.0, atol=1e-14)
    # the sampled configurations are ±1 and the conditionals are in local_states order
    signs = np.asarray(model.hilbert.local_states)
    lp = np.log(np.take_along_axis(np.asarray(full), (np.asarray(x) == signs[1]).astype(int)[..., None], -1))
    np.testing.assert_allclose(lp[..., 0].sum(-1), _log_q(model, variables, x.astype(jnp.float64)), atol=1e-12)


def test_segmented_sampling_pass_matches_full_conditionals():
    # from N = 64 on, sampling reads each segment's columns through its own static window
    model = _model(_with_fields(_sk(70), 3), 0.9, k=1, init_scale=0.4)
    variables = _init(model, seed=4)
    x, cached = _cached_pass(model, variables, n_samples=16)
    full = jax.jit(lambda v, y: model.apply(v, y, method=model.conditionals))(variables, x)
    np.testing.assert_allclose(cached, full, atol=1e-12)


@pytest.mark.parametrize("name", ["dense-learned", "sparse-learned"])
def test_gradients_match_finite_differences(name):
    # several chunks and column segments, so the rematerialised backward pass is exercised
    model = dataclasses.replace(_MODELS[name](), chunk_elements=300)
    variables = _init(model, seed=7)
    params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}
    x = _spins(model.hilbert.size, 6, 2)
    r = jnp.asarray(np.random.default_rng(0).normal(size=6))

    @jax.jit
    def f(p):
        return jnp.sum(r * 2.0 * model.apply({**rest, "params": p}, x))

    grad = jax.jit(jax.grad(f))(params)
    leaves, tree = jax.tree.flatten(params)
    rng = np.random.default_rng(1)
    eps = 1e-5
    for i, (leaf, g) in enumerate(zip(leaves, jax.tree.leaves(grad))):
        d = jnp.asarray(rng.normal(size=leaf.shape))
        shift = [jnp.zeros_like(l) for l in leaves]
        shift[i] = eps * d
        plus = jax.tree.unflatten(tree, [l + s for l, s in zip(leaves, shift)])
        minus = jax.tree.unflatten(tree, [l - s for l, s in zip(leaves, shift)])
        fd = (f(plus) - f(minus)) / (2 * eps)
        np.testing.assert_allclose(float(jnp.sum(g * d)), float(fd), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("learn", [False, True])
def test_dense_equals_sparse_on_a_sparse_instance(learn):
    H = _with_fields(_ea(4), 3)
    n = H.n_sites
    opts = dict(k=1, learn_couplings=learn, couplings_init_scale=0.5, init_scale=0.5)
    sparse = _model(H, 0.8, **opts)
    dense = _model(H, 0.8, sparse=False, **opts)
    vs = _init(sparse, seed=1)
    vd = _init(dense, seed=2)

    # copy the sparse parameters onto the same pairs of the dense model; the dense units of
    # pairs outside the frontier (whose ξ is always 0) get v = 0
    layout = frontier_layout(n, np.asarray(H.edges))
    i, l = layout.pair_rows, layout.pair_cols
    upper = i * n - i * (i + 1) // 2 + l - i - 1
    pd = dict(vd["params"])
    for name in ("w", "b", "v"):
        arr = np.asarray(pd[name]).copy()
        if name == "v":
            arr[:] = 0.0
        arr[..., upper] = np.asarray(vs["params"][name])
        pd[name] = jnp.asarray(arr)
    pd["skip"], pd["bias"] = vs["params"]["skip"], vs["params"]["bias"]
    if learn:
        e0, e1 = np.asarray(H.edges).T
        kernel = np.zeros(n * (n - 1) // 2)
        kernel[e0 * n - e0 * (e0 + 1) // 2 + e1 - e0 - 1] = np.asarray(vs["params"]["first_layer"]["kernel"])
        pd["first_layer"] = {"kernel": jnp.asarray(kernel)}
    vd = {**vd, "params": pd}

    x = _spins(n, 16, 4)
    u_dense = _logits(dense)(vd, x)
    u_sparse = _logits(sparse)(vs, x)
    np.testing.assert_allclose(u_dense, u_sparse, atol=1e-13)
    # (the cached conditionals of each equal its batched ones: test above)
    assert sum(p.size for p in jax.tree.leaves(vs["params"])) < sum(p.size for p in jax.tree.leaves(vd["params"]))


# -- NetKet integration ---------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "sparse"), [(jnp.float32, False), (jnp.float64, True)])
def test_samples_in_mcstate(dtype, sparse):
    H = _ea(3) if sparse else _sk(9)
    model = _model(H, 1.2, k=2, param_dtype=dtype, dtype=dtype)
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, chunk_size=16, seed=0)
    samples = np.asarray(vstate.samples).reshape(-1, H.n_sites)
    assert samples.shape == (64, H.n_sites) and set(np.unique(samples)) <= {-1, 1}
    log_psi = vstate.log_value(jnp.asarray(samples))
    assert log_psi.dtype == dtype and np.all(np.isfinite(log_psi)) and np.all(np.asarray(log_psi) < 0)
    assert np.isfinite(vstate.expect(H).mean)
    # NetKet's chunked (and sharded) backward pass runs through the model
    _, grad = vstate.expect_and_grad(H)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grad))
    # chunked and unchunked evaluation agree
    plain = jax.jit(model.apply)(vstate.variables, jnp.asarray(samples, dtype=dtype))
    np.testing.assert_allclose(log_psi, plain, rtol=1e-5 if dtype == jnp.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_chi_square_against_own_distribution(dtype):
    H = _with_fields(_sk(6), 5)
    model = _model(H, 1.0, k=1, init_scale=0.5, param_dtype=dtype, dtype=dtype)
    n_samples = 20000
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=n_samples, seed=11, sampler_seed=12)
    samples = np.asarray(vstate.samples).reshape(-1, 6)
    all_states = H.hilbert.all_states()
    p = np.exp(
        2.0 * np.asarray(jax.jit(model.apply)(vstate.variables, jnp.asarray(all_states, dtype=dtype)), np.float64)
    )
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-5 if dtype == jnp.float32 else 1e-12)
    p = p / p.sum()
    counts = np.bincount(np.asarray(H.hilbert.states_to_numbers(samples)), minlength=64)
    expected = p * n_samples
    small = expected < 5  # pooled into one bin, so the chi-square approximation holds
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    assert small.sum() < 20
    assert scipy.stats.chisquare(obs, exp).pvalue > 1e-3


@pytest.mark.slow  # ~25 s of compilation; the memory budget is measured by benchmarks/bench_models.py
def test_batched_pass_memory_stays_within_budget():
    # compile only: XLA's buffer assignment for the value-and-grad of log q. The planned pass
    # holds one batch tile of folded blocks at a time and keeps only the chunk bases for the
    # backward pass: far below a (B, N, N) pass, linear in the batch, smaller on a small budget.
    n, k = 40, 2
    H = _sk(n)

    def temp_bytes(batch, chunk_elements):
        model = _model(H, 1.0, k=k, chunk_elements=chunk_elements)
        variables = _init(model)
        loss = jax.value_and_grad(lambda p, v, x: jnp.sum(model.apply({**v, "params": p}, x)))
        compiled = jax.jit(loss).lower(variables["params"], variables, _spins(n, batch, 0)).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    square = 200 * n * n * (4 * (k + 1) + 2) * 8  # one (B, N, N) pass's numbers, in bytes
    assert temp_bytes(200, 2**25) < square / 4
    assert temp_bytes(800, 2**25) < 4.5 * temp_bytes(200, 2**25)
    assert temp_bytes(200, 2**12) < temp_bytes(200, 2**25) / 2


@pytest.mark.parametrize(
    "name", ["dense-k0", "dense-learned", "sparse-learned", "sparse-fixed-k2", "dense-centred", "sparse-centred"]
)
def test_fused_gradient_equals_autodiff_of_the_reference(name):
    # log_prob_vjp (one pass, backward written out) against jax.vjp of the plain reference
    # computation, on a batch that is not a multiple of the tile and sizes that need padding
    factory = _MODELS.get(name) or (lambda: _model(_with_fields(_ea(3), 4), 0.9, k=2, init_scale=0.4))
    model = dataclasses.replace(factory(), chunk_elements=3000)
    variables = _init(model, seed=9)
    params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}
    x = _spins(model.hilbert.size, 23, 5)
    g = jnp.asarray(np.random.default_rng(2).normal(size=23))

    def log_q(p):
        u = model.apply({**rest, "params": p}, x, method=model.reference_logits)
        return jnp.sum(jax.nn.log_sigmoid(x * u), axis=-1)

    (expected,) = jax.vjp(log_q, params)[1](g)
    fused = jax.jit(lambda v: model.apply(v, x, g, method=model.log_prob_vjp))(variables)
    assert jax.tree.structure(fused) == jax.tree.structure(expected)
    for got, want in zip(jax.tree.leaves(fused), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert all(float(jnp.max(jnp.abs(leaf))) > 0 for leaf in jax.tree.leaves(fused))


# -- slow: training and scale ---------------------------------------------------------------------
def _free_energy_exact(model, variables, H, beta):
    """F[q]/N by enumerating the model's own q over all 2^N states."""
    states = jnp.asarray(H.hilbert.all_states(), dtype=jnp.float64)
    log_q = 2.0 * model.apply(variables, states)
    q = jnp.exp(log_q)
    return float(jnp.sum(q * (H.energy(states) + log_q / beta)) / H.n_sites)


@pytest.mark.slow
def test_sk_1rsb_reaches_exact_free_energy_n16():
    n, beta = 16, 1.5
    H = na.sherrington_kirkpatrick(n, seed=1)
    f_exact = by_enumeration(H, beta).free_energy
    model = _model(H, 0.1, k=1)
    sampler = nk.sampler.ARDirectSampler(H.hilbert)
    variables = _init(model, seed=0)
    rest = {k: v for k, v in variables.items() if k != "params"}
    params = variables["params"]
    optimizer = optax.adam(3e-3)
    opt_state = optimizer.init(params)
    sampler_state = sampler.init_state(model, variables, seed=1)
    batch = 500

    @jax.jit
    def step(params, opt_state, sampler_state, b):
        full = {**rest, "params": params}
        x, sampler_state = sampler.sample(model, full, state=sampler_state, chain_length=batch)
        x = x.reshape(-1, n).astype(jnp.float64)

        def loss(p):
            log_q = 2.0 * model.apply({**rest, "params": p}, x)
            reward = jax.lax.stop_gradient(b * H.energy(x) + log_q)
            return jnp.mean((reward - jnp.mean(reward)) * log_q)

        grads = jax.grad(loss)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, sampler_state

    # β annealed from 0.1 to 1.5 (the paper's protocol, compressed), then trained at 1.5
    schedule = np.concatenate([np.linspace(0.1, beta, 800), np.full(400, beta)])
    for b in schedule:
        params, opt_state, sampler_state = step(params, opt_state, sampler_state, b)
    f_q = _free_energy_exact(model, {**rest, "params": params}, H, beta)
    assert f_q >= f_exact - 1e-12  # variational bound
    assert (f_q - f_exact) / abs(f_exact) < 1e-3


@pytest.mark.slow
def test_memory_of_n200_batch2000_k2_under_4gb():
    n, batch, k = 200, 2000, 2
    model = _model(_sk(n), 1.0, k=k)
    variables = _init(model)
    x = _spins(n, batch, 0)
    loss = jax.value_and_grad(lambda p, v, x: jnp.sum(model.apply({**v, "params": p}, x)))
    analysis = jax.jit(loss).lower(variables["params"], variables, x).compile().memory_analysis()
    total = analysis.temp_size_in_bytes + analysis.argument_size_in_bytes + analysis.output_size_in_bytes
    assert total < 4e9


@pytest.mark.slow
@pytest.mark.parametrize("which", ["dense-1000-k1", "sparse-64x64"])
def test_large_systems_run_end_to_end_with_chunk_size(which):
    if which == "dense-1000-k1":
        H = _sk(1000)
        model = _model(H, 1.0, k=1)
    else:
        H = _ea(64, pbc=True)
        model = _model(H, 1.0, k=2)
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=16, chunk_size=8, seed=0)
    samples = vstate.sample().reshape(-1, H.n_sites)
    assert set(np.unique(np.asarray(samples))) <= {-1, 1}
    energy, grad = vstate.expect_and_grad(H)
    assert np.isfinite(energy.mean)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grad))


# -- the decoupled start ----------------------------------------------------------------------
def _star(n, seed, sparse):
    """Couplings of site 0 to every other site only (no two later sites interact), with fields."""
    rng = np.random.default_rng(seed)
    J = np.zeros((n, n))
    J[0, 1:] = rng.normal(0.0, 1.0, n - 1)
    J = J + J.T
    h = rng.normal(0.0, 0.5, n)
    if sparse:
        edges = np.array([(0, l) for l in range(1, n)])
        return na.PairwiseIsing(nk.hilbert.Spin(0.5, n), J[0, 1:], h, edges=edges)
    return na.from_couplings(J, h)


def _exact_log_p(H, beta):
    states = np.asarray(H.hilbert.all_states())
    log_w = -beta * np.asarray(H.energy(states))
    return states, log_w - scipy.special.logsumexp(log_w)


@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("k", [0, 1, 2])
def test_decoupled_start_is_exact_when_no_two_unsampled_spins_interact(k, sparse, centred):
    # A star centred on the first site: given x_<i, the unsampled spins are independent, so the
    # decoupled start is the exact conditional (up to e^-14 of the outer units' linear regime).
    H, beta = _star(7, k, sparse), 0.8
    model = SpinGlassARNN.from_hamiltonian(H, beta, k=k, start="decoupled", centred=centred, dtype=jnp.float64)
    assert model.is_sparse == sparse
    states, log_p = _exact_log_p(H, beta)
    log_q = 2 * np.asarray(model.apply(_init(model), jnp.asarray(states)))
    np.testing.assert_allclose(log_q, log_p, atol=5e-6 if k else 1e-12)


def test_decoupled_start_is_far_closer_to_p_than_the_random_start():
    H = _with_fields(_sk(10), 5)
    states, log_p = _exact_log_p(H, 0.4)
    kl = {}
    for start in ("decoupled", "random"):
        model = SpinGlassARNN.from_hamiltonian(H, 0.4, k=1, start=start, dtype=jnp.float64)
        log_q = 2 * np.asarray(model.apply(_init(model), jnp.asarray(states)))
        kl[start] = float(np.sum(np.exp(log_q) * (log_q - log_p)))
    assert 0 <= kl["decoupled"] < kl["random"] / 10, kl


def test_start_params_are_the_initial_parameters_and_move_with_beta():
    for H in (_with_fields(_sk(6), 1), _with_fields(_ea(3), 2)):
        for centred in (True, False):
            model = SpinGlassARNN.from_hamiltonian(H, 0.7, k=1, start="decoupled", centred=centred)
            params = _init(model)["params"]
            start = model.start_params(0.7)
            for name, value in start.items():
                np.testing.assert_allclose(params[name], value, rtol=1e-15)
        # in the paper's parametrisation (centred adds the chains' outputs at ξ = 0 to the bias)
        # the first layer's parts are proportional to β, the outer units and v do not move; with
        # fields, the sparse pairs without units add log-cosh constants to the bias (not linear)
        doubled = model.start_params(1.4)
        for name in ("skip", "v") + (() if H.is_sparse else ("bias",)):
            np.testing.assert_allclose(doubled[name], (2.0 if name != "v" else 1.0) * start[name], rtol=1e-14)
        np.testing.assert_allclose(doubled["w"][0], 2 * start["w"][0], rtol=1e-14)
        np.testing.assert_array_equal(doubled["b"][1], start["b"][1])


def test_the_default_start_is_random_and_a_decoupled_start_needs_the_couplings():
    H = _sk(6)
    assert SpinGlassARNN.from_hamiltonian(H, 0.7, k=1).centred  # and the outputs centred
    params = _init(SpinGlassARNN.from_hamiltonian(H, 0.7, k=1))["params"]
    assert float(jnp.std(params["v"])) < 0.05  # not the decoupled -1
    learned = SpinGlassARNN.from_hamiltonian(H, 0.7, k=1, learn_couplings=True, start="decoupled")
    np.testing.assert_array_equal(_init(learned)["params"]["v"], -1.0)  # from H's couplings: decoupled
    with pytest.raises(ValueError, match="start='decoupled' needs the couplings"):
        _init(SpinGlassARNN.from_hamiltonian(H, 0.7, learn_couplings=True, couplings_init_scale=0.1, start="decoupled"))
    with pytest.raises(ValueError, match="start must be one of 'decoupled', 'random'"):
        SpinGlassARNN.from_hamiltonian(H, 0.7, start="exact")


# -- centred chain outputs --------------------------------------------------------------------------
@pytest.mark.parametrize("sparse", [False, True])
def test_centred_network_is_the_same_family_shifted_in_its_bias(sparse):
    # u_i(centred; c) = u_i(plain; c - C(w, b, v)): the same conditionals, reached by a bias shift
    H = _with_fields(_ea(3), 2) if sparse else _with_fields(_sk(7), 3)
    plain, centred = (_model(H, 0.9, k=2, init_scale=0.4, centred=c) for c in (False, True))
    variables = _init(centred, seed=4)
    params = variables["params"]
    offsets = centred.apply(variables, params["w"], params["b"], params["v"], method=centred.output_offsets)
    assert float(jnp.max(jnp.abs(offsets))) > 1e-3  # the shift is not trivial
    x = jnp.asarray(H.hilbert.all_states(), dtype=jnp.float64)
    shifted = {**variables, "params": {**params, "bias": params["bias"] - offsets}}
    np.testing.assert_allclose(_log_q(centred, variables, x), _log_q(plain, shifted, x), atol=1e-12)
    assert np.max(np.abs(_log_q(centred, variables, x) - _log_q(plain, variables, x))) > 1e-2


def test_centred_decoupled_start_survives_adam_steps():
    # The outer units of the decoupled start sit at -14: uncentred, every Adam step on v moves the
    # logits by ~14 times the learning rate per pair. Centred, the output weights see only the
    # ξ-dependent part. Exact gradient of KL(q||p) by enumeration, ten Adam steps at 1e-3.
    n, beta = 12, 0.2
    H = na.sherrington_kirkpatrick(n, seed=5)
    states, log_p = _exact_log_p(H, beta)
    states = jnp.asarray(states, dtype=jnp.float64)
    kl = {}
    for centred in (False, True):
        model = SpinGlassARNN.from_hamiltonian(H, beta, k=1, start="decoupled", centred=centred, dtype=jnp.float64)
        variables = _init(model)

        def divergence(p, model=model, variables=variables):
            log_q = 2.0 * model.apply({**variables, "params": p}, states)
            return jnp.sum(jnp.exp(log_q) * (log_q - log_p))

        params, optimizer = variables["params"], optax.adam(1e-3)
        state, grad = optimizer.init(params), jax.jit(jax.grad(divergence))
        before = float(divergence(params))
        for _ in range(10):
            updates, state = optimizer.update(grad(params), state, params)
            params = optax.apply_updates(params, updates)
        kl[centred] = (before, float(divergence(params)))
    assert kl[True][0] == pytest.approx(kl[False][0], rel=1e-9)  # the same start
    assert kl[True][1] < 2 * kl[True][0], kl  # centred: the start is kept (or improved)
    assert kl[False][1] > 100 * kl[True][1], kl  # plain: the start is lost
