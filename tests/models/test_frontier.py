"""FrontierARNN (netket_arnn.models.frontier): the exact sparse conditional with a learned future free energy.

Exactness of the machinery against enumeration (normalisation, planned pass = plain pass, cached
sampling pass = batched conditionals, sampler histogram, gradients), the physics of the
derivation (no-future sites, open chain exact at the start, exact-capable on a strip) and a run
on the 16 × 16 lattice.
"""

import functools
import itertools

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest

import netket_arnn as na
from netket_arnn.exact import by_enumeration
from netket_arnn.models.frontier import FrontierARNN, frontier_n_params, input_layout
from netket_arnn.nn.sparse import frontier_layout

from .ar_checks import cached_sampling_pass, chi_square_pvalue, equations, evaluate, log_q, perturb

# exactness checks run in double precision (the models' default arithmetic is float32)
_model = functools.partial(FrontierARNN.from_hamiltonian, dtype=jnp.float64)


def _ea(L, W=None, seed=3, pbc=True, h=0.0):
    W = L if W is None else W
    H = na.edwards_anderson(nk.graph.Grid([L, W], pbc=pbc), seed=seed)
    if np.ndim(h) or h:
        H = na.PairwiseIsing(H.hilbert, np.asarray(H.edge_weights), h, edges=np.asarray(H.edges))
    return H


def _fields(n, seed=5):
    return np.random.default_rng(seed).normal(0.0, 0.5, n)


def _all_states(n):
    return np.asarray(list(itertools.product([1.0, -1.0], repeat=n)))


def _variables(model, seed=0, scale=0.3):
    variables = model.init(jax.random.key(seed), jnp.ones((1, model.hilbert.size)))
    return perturb(variables, jax.random.key(seed + 1), scale=scale)


CASES = {
    "ea3x4-periodic-fields": lambda: _model(_ea(3, 4, h=_fields(12)), 0.7, (6,)),
    "ea3x3-open-two-layers": lambda: _model(_ea(3, pbc=False), 1.3, (5, 3)),
    "ea3x4-learned-couplings": lambda: _model(_ea(3, 4, h=_fields(12, 2)), 0.9, (4,), learn_couplings=True),
}


def test_inputs_are_frontier_and_later_neighbours():
    H = _ea(3, 5)
    n, J = H.n_sites, np.asarray(H.couplings)
    table = input_layout(n, np.asarray(H.edges))
    edges = [tuple(e) for e in np.asarray(H.edges)]
    for i in range(n):
        # C(i): later sites coupled to a sampled site or to i itself (brute force from J)
        expected = [l for l in range(i + 1, n) if np.any(J[:i, l] != 0) or J[i, l] != 0]
        got = table.cols[i, : table.sizes[i]]
        np.testing.assert_array_equal(got, expected)
        assert np.all(table.cols[i, table.sizes[i] :] == n)
        for slot, l in enumerate(got):
            e = table.shift_edge[i, slot]
            assert (e == H.n_edges) == (J[i, l] == 0)
            if J[i, l] != 0:
                assert edges[e] == (i, l)
    assert set(frontier_layout(n, np.asarray(H.edges)).cols[4]) - {n} <= set(table.cols[4])


@pytest.mark.parametrize("name", list(CASES))
def test_normalised_and_planned_pass_equals_reference(name):
    model = CASES[name]()
    variables = _variables(model)
    x = _all_states(model.hilbert.size)
    q = np.exp(log_q(model, variables, x))
    np.testing.assert_allclose(q.sum(), 1.0, atol=1e-12)
    ref = jax.jit(lambda v, x: model.apply(v, x, method=model.reference_logits))(variables, x)
    for chunk in (model.chunk_elements, 3 * len(x) * 40):  # one chunk, and several
        small = model.clone(chunk_elements=chunk)
        u = jax.jit(lambda v, x, m=small: m.apply(v, x, method=m.logits))(variables, x)
        np.testing.assert_allclose(u, ref, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_cached_conditional_equals_batched_conditionals(name):
    model = CASES[name]()
    variables = _variables(model, seed=4)
    samples, cached = cached_sampling_pass(model, variables, 64, seed=2)
    batched = evaluate(model, variables, samples)["conditionals"]
    np.testing.assert_allclose(cached, batched, atol=1e-12)


@pytest.mark.parametrize("net", ["frontier", "sk_1rsb_sparse"])
def test_a_sampling_step_works_on_the_frontier_only(net):
    """One site of the sampling pass of the lattice nets makes no array of the batch's size B x N but
    the in-place update of the first-layer state: its cost is O(B |C(i)|), not a select, copy or
    cast of all N sites."""
    H = _ea(8, pbc=False)  # N = 64, frontier 8
    model = na.build_net(net, H, 1.0)
    batch, n = 5, H.n_sites
    x = jnp.zeros((batch, n), jnp.int8)  # the samplers' configurations
    variables = model.init(jax.random.key(0), x, 0, method=model.conditional)

    def step(variables, x, index):
        return model.apply(variables, x, index, method=model.conditional, mutable=["cache"])

    wide = [
        eqn.primitive.name
        for eqn in equations(jax.make_jaxpr(step)(variables, x, 9).jaxpr)
        for var in eqn.outvars
        if getattr(var.aval, "shape", ())[:1] == (batch,)
        and np.prod(var.aval.shape) >= batch * n
        and eqn.primitive.name != "scatter-add"  # the state's update (in place)
    ]
    assert not wide, wide


def test_direct_sampler_histogram_matches_q():
    model = CASES["ea3x4-periodic-fields"]()
    variables = _variables(model, seed=7)
    sampler = nk.sampler.ARDirectSampler(model.hilbert)
    vs = nk.vqs.MCState(sampler, model, n_samples=40_000, seed=0, sampler_seed=11)
    vs.variables = variables
    samples = np.asarray(vs.sample()).reshape(-1, model.hilbert.size)
    q = np.exp(log_q(model, variables, np.asarray(model.hilbert.all_states())))
    assert chi_square_pvalue(samples, model.hilbert, q) > 1e-3


def _exact_free_energy(model, H, beta):
    """β F[q] by enumeration as a function of the trainable parameters, and the exact β F."""
    x = jnp.asarray(_all_states(H.n_sites))
    energy = H.energy(x)

    def beta_f(params, rest):
        lq = model.machine_pow * model.apply({**rest, "params": params}, x)
        return jnp.sum(jnp.exp(lq) * (beta * energy + lq))

    return beta_f, -by_enumeration(H, beta).log_z


@pytest.mark.parametrize("name", ["ea3x4-periodic-fields", "ea3x4-learned-couplings", "ea3x3-open-two-layers"])
def test_gradient_matches_finite_differences(name):
    model = CASES[name]()
    H, beta = _ea(3, 4, h=_fields(12)), 0.7
    if name == "ea3x3-open-two-layers":
        H = _ea(3, pbc=False)
    variables = _variables(model, seed=9)
    params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}
    beta_f, _ = _exact_free_energy(model, H, beta)
    grad = jax.grad(beta_f)(params, rest)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(3), len(leaves))
    direction = jax.tree.unflatten(tree, [jax.random.normal(k, p.shape, p.dtype) for k, p in zip(keys, leaves)])
    eps = 1e-5
    shifted = lambda s: jax.tree.map(lambda p, d: p + s * eps * d, params, direction)  # noqa: E731
    fd = (beta_f(shifted(1.0), rest) - beta_f(shifted(-1.0), rest)) / (2 * eps)
    analytic = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grad), jax.tree.leaves(direction)))
    np.testing.assert_allclose(analytic, fd, rtol=1e-6)
    # every parameter group carries gradient (the padded input slots aside)
    for name_, g in grad.items():
        assert np.any(np.asarray(jax.tree.leaves(g)[0]) != 0), name_


def test_site_without_later_neighbours_is_the_no_future_conditional():
    # site 2 is coupled to site 1 only: its frontier {3, 4, 5} is not empty, but x_2 does not
    # touch the future, so its exact conditional is the no-future one whatever the parameters
    edges = np.array([[0, 3], [1, 2], [3, 4], [4, 5], [0, 5], [1, 4]])
    rng = np.random.default_rng(0)
    H = na.PairwiseIsing(nk.hilbert.Spin(0.5, 6), rng.normal(size=6), _fields(6), edges=edges)
    beta = 0.8
    model = _model(H, beta, (4,))
    assert input_layout(6, edges).sizes[2] == 3
    variables = _variables(model, seed=1, scale=0.5)
    x = _all_states(6)
    u = np.asarray(model.apply(variables, x, method=model.logits))
    J, h = np.asarray(H.couplings), np.asarray(H.fields)
    skip, bias = (np.asarray(variables["params"][k]) for k in ("skip", "bias"))
    no_future = [i for i in range(6) if not np.any(J[i, i + 1 :] != 0)]
    assert no_future == [2, 5]
    for i in no_future:
        np.testing.assert_allclose(u[:, i], skip[i] * (x[:, :i] @ J[:i, i]) + bias[i], atol=1e-12)
    # the start is the no-future conditional 2β(ξ_ii + h_i) plus a correction of the size of v
    v0 = model.init(jax.random.key(0), x[:1])
    u0 = np.asarray(model.apply(v0, x, method=model.logits))
    xi_all = np.stack([x[:, :i] @ J[:i, i] for i in range(6)], axis=1)
    np.testing.assert_allclose(u0, 2 * beta * (xi_all + h), atol=0.3)


def test_start_params_are_the_initial_skip_and_bias_and_move_with_beta():
    from netket_arnn.models import hooks

    n = 9
    H = na.edwards_anderson(nk.graph.Grid([3, 3], pbc=False), seed=3)
    Hh = na.PairwiseIsing(H.hilbert, np.asarray(H.edge_weights), np.linspace(-0.5, 0.5, n), edges=np.asarray(H.edges))
    model = _model(Hh, 0.7, (3,))
    assert isinstance(model, hooks.StartParams)
    params = model.init(jax.random.key(0), jnp.ones((1, n)))["params"]
    start = model.start_params(0.7)
    assert set(start) == {"skip", "bias"}
    for name, value in start.items():
        np.testing.assert_allclose(params[name], value, rtol=1e-15)
    # the shift keeps what training added and moves the part proportional to β
    trained = {**params, "skip": params["skip"] + 0.1, "bias": params["bias"] - 0.2}
    moved = hooks.shift_to_beta(model, trained, 0.7, 1.1)
    np.testing.assert_allclose(moved["skip"], 2 * 1.1 + 0.1, rtol=1e-14)
    np.testing.assert_allclose(moved["bias"], 2 * 1.1 * np.linspace(-0.5, 0.5, n) - 0.2, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(moved["v"], params["v"])


def test_a_protocol_carries_the_start_from_beta_to_beta():
    """With its physics start the protocol's shift moves skip and bias with β; without it a short
    anneal leaves them near the first β's values and ends an order of magnitude further from p."""
    H = na.edwards_anderson(nk.graph.Grid([4, 4], pbc=False), "pm1", seed=1)
    errors = {}
    for shift in (True, False):
        vs = nk.vqs.MCState(
            na.ARDirectSampler(H.hilbert), FrontierARNN.from_hamiltonian(H, 0.25, (8,)), n_samples=256, seed=0
        )
        protocol = na.driver.ADAPTIVE.replace(
            warmup_steps=60, max_steps=30, settle_steps=10, convergence=None, learning_rate=3e-3, shift_start=shift
        )
        result = na.anneal(
            H, vs, [0.25, 0.75, 1.25], protocol=protocol, estimates=na.driver.FinalEstimates(4096), show_progress=False
        )
        errors[shift] = result[-1].relative_error
    assert errors[True] < 0.2 * errors[False], errors


def test_open_chain_without_field_is_exact_at_the_start():
    # on an open chain the future of site i couples to the past only through x_i, and with h = 0
    # the two shifted future free energies are equal: the start (v = 0) is p itself
    n, beta = 10, 0.9
    H = na.edwards_anderson(nk.graph.Chain(n, pbc=False), seed=2)
    model = _model(H, beta, (3,), init_scale=0.0)
    variables = model.init(jax.random.key(0), jnp.ones((1, n)))
    x = _all_states(n)
    lq = log_q(model, variables, x)
    log_p = -beta * np.asarray(H.energy(jnp.asarray(x))) - by_enumeration(H, beta).log_z
    np.testing.assert_allclose(lq, log_p, atol=1e-12)
    # a field breaks the symmetry and the same start is no longer exact
    Hh = na.PairwiseIsing(H.hilbert, np.asarray(H.edge_weights), np.full(n, 0.4), edges=np.asarray(H.edges))
    model_h = _model(Hh, beta, (3,), init_scale=0.0)
    lq_h = log_q(model_h, model_h.init(jax.random.key(0), jnp.ones((1, n))), x)
    log_p_h = -beta * np.asarray(Hh.energy(jnp.asarray(x))) - by_enumeration(Hh, beta).log_z
    assert np.max(np.abs(lq_h - log_p_h)) > 1e-2


@pytest.mark.parametrize("width", [3, pytest.param(2, marks=pytest.mark.slow)])
def test_exact_capable_on_a_strip(width):
    """Trained on the exact KL, the net reaches the exact free energy of an L × W strip with fields.

    The inputs of every conditional take at most a few dozen values, which one softplus layer
    represents; the relative error of f[q] must go below 5e-7 (the net without its shifted
    Φ, the linear term alone, stops at 2e-6 on the 3 × 3 strip).
    """
    beta, L = 1.0, 10 // width
    H = _ea(L, width, pbc=False, h=_fields(L * width, seed=1))
    model = _model(H, beta, (12,))
    variables = model.init(jax.random.key(0), jnp.ones((1, H.n_sites)))
    params, rest = variables["params"], {k: v for k, v in variables.items() if k != "params"}
    beta_f, beta_f_exact = _exact_free_energy(model, H, beta)
    opt = optax.adam(optax.cosine_decay_schedule(0.03, 1500, alpha=0.01))

    @jax.jit
    def run(params):
        def step(carry, _):
            params, state = carry
            value, grad = jax.value_and_grad(beta_f)(params, rest)
            updates, state = opt.update(grad, state, params)
            return (optax.apply_updates(params, updates), state), value

        (params, _), values = jax.lax.scan(step, (params, opt.init(params)), None, length=1500)
        return params, values

    params, values = run(params)
    rel = (float(beta_f(params, rest)) - beta_f_exact) / abs(beta_f_exact)
    start = (float(values[0]) - beta_f_exact) / abs(beta_f_exact)
    assert start > 1e-3  # the start is not already exact
    assert 0 <= rel < 5e-7, rel


def test_parameter_count_and_validation():
    H = _ea(4, 5)
    model = FrontierARNN.from_hamiltonian(H, 0.5, (7, 3))
    params = model.init(jax.random.key(0), jnp.ones((1, 20)))["params"]
    assert sum(p.size for p in jax.tree.leaves(params)) == frontier_n_params(H, (7, 3))
    learned = FrontierARNN.from_hamiltonian(H, 0.5, 7, learn_couplings=True)
    params = learned.init(jax.random.key(0), jnp.ones((1, 20)))["params"]
    assert sum(p.size for p in jax.tree.leaves(params)) == frontier_n_params(H, 7, learn_couplings=True)
    assert params["first_layer"]["kernel"].shape == (H.n_edges,)
    with pytest.raises(ValueError, match="features"):
        FrontierARNN.from_hamiltonian(H, 0.5, ())
    with pytest.raises(ValueError, match="features"):
        FrontierARNN.from_hamiltonian(H, 0.5, (4, 0))
    with pytest.raises(ValueError, match="beta"):
        FrontierARNN.from_hamiltonian(H, -1.0)
    bad = model.clone(couplings=na.models.base.hashable(np.ones(3)))
    with pytest.raises(ValueError, match="one weight per edge"):
        bad.init(jax.random.key(0), jnp.ones((1, 20)))
    with pytest.raises(ValueError, match="sites"):
        model.init(jax.random.key(0), jnp.ones((1, 7)))


@pytest.mark.slow
def test_trains_on_the_16x16_lattice():
    H = na.ferromagnet_2d(16)
    model = FrontierARNN.from_hamiltonian(H, 0.44, (8,))
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=256, seed=0, sampler_seed=1)
    driver = na.VariationalFreeEnergy(H, optax.adam(3e-3), variational_state=vs, beta=0.44)
    log = nk.logging.RuntimeLog()
    driver.run(30, out=log, show_progress=False)
    f = np.real(np.asarray(log.data["free_energy_per_spin"]["Mean"]))
    assert np.all(np.isfinite(f))
    exact = na.exact.thermodynamics(H, 0.44).free_energy
    assert np.mean(f[-5:]) < np.mean(f[:5])  # it learns
    assert np.mean(f[-5:]) > exact  # a variational bound
    # the planned pass in several chunks equals the plain one at this size
    x = jnp.asarray(vs.sample()).reshape(-1, H.n_sites)[:8].astype(jnp.float32)
    small = model.clone(chunk_elements=20_000)
    u = small.apply(vs.variables, x, method=small.logits)
    ref = model.apply(vs.variables, x, method=model.reference_logits)
    np.testing.assert_allclose(u, ref, atol=2e-5)
