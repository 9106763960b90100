"""CW_N is exact at every N; CW_inf is accurate from its saddle point; 1P baseline (THEORY §3, §5)."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest
import scipy.special

import netket_arnn as na
from netket_arnn.models import (
    FIXED_COLLECTION,
    CurieWeissARNN,
    CurieWeissInfARNN,
    OneParameterARNN,
    curie_weiss_exact_parameters,
)
from netket_arnn.models import _curie_weiss_table as cw_plan

from .ar_checks import cached_sampling_pass, evaluate, log_q, perturb


def _init(model, x):
    return jax.jit(model.init)(jax.random.key(0), x)


def _mcstate(model, n_samples, seed=0, **kwargs):
    return nk.vqs.MCState(
        nk.sampler.ARDirectSampler(model.hilbert),
        model,
        n_samples=n_samples,
        seed=seed,
        sampler_seed=seed + 1,
        **kwargs,
    )


@pytest.mark.parametrize(("beta", "J", "h"), [(0.4, 1.0, 0.3), (1.0, 1.0, -0.2), (2.0, -0.7, 0.1)])
def test_cw_n_exact_against_enumeration(beta, J, h):
    H = na.curie_weiss(12, J=J, h=h)
    model = CurieWeissARNN.from_hamiltonian(H, beta, dtype=jnp.float64)
    x = H.hilbert.all_states()
    lq = log_q(model, _init(model, x), x)
    lp = np.asarray(na.exact.log_prob(H, x, beta))
    enum = na.exact.by_enumeration(H, beta)  # independent of the closed form used by log_prob
    np.testing.assert_allclose(lp, -beta * np.asarray(H.energy(x)) - enum.log_z, atol=1e-10)
    np.testing.assert_allclose(lq, lp, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.exp(lq).sum(), 1.0, atol=1e-10)


def test_cw_n_exact_at_large_n_on_random_and_sampled_configurations():
    N, beta = 1000, 1.2
    H = na.curie_weiss(N, J=1.0, h=0.02)
    vstate = _mcstate(CurieWeissARNN.from_hamiltonian(H, beta, dtype=jnp.float64), n_samples=16)
    log_z = na.exact.log_partition_function(H, beta)
    sampled = np.asarray(vstate.samples).reshape(-1, N)
    rng = np.random.default_rng(0)
    # unbiased configurations and strongly magnetised ones (fraction of up spins 0.1 ... 0.9)
    up_fraction = (
        np.linspace(0.1, 0.9, 16)[:, None] * (np.arange(16) % 2)[:, None] + 0.5 * (np.arange(16) % 2 == 0)[:, None]
    )
    random = np.where(rng.random((16, N)) < up_fraction, 1.0, -1.0)
    for x in (sampled, random):
        lq = 2 * np.asarray(vstate.log_value(x))
        lp = np.asarray(na.exact.log_prob(H, x, beta, log_z=log_z))
        np.testing.assert_allclose(lq, lp, rtol=1e-8)
    assert np.all(np.abs(lp) > 100)  # the relative tolerance is meaningful


def test_cw_n_parameters_at_another_beta():
    N, beta0, beta1 = 10, 0.5, 1.7
    H = na.curie_weiss(N, J=1.0, h=0.1)
    x = H.hilbert.all_states()
    lp1 = np.asarray(na.exact.log_prob(H, x, beta1))
    exact1 = curie_weiss_exact_parameters(N, beta1, 1.0, 0.1)
    assert CurieWeissARNN.exact_parameters is curie_weiss_exact_parameters

    fixed = _mcstate(CurieWeissARNN.from_hamiltonian(H, beta0, dtype=jnp.float64), n_samples=16)
    assert np.max(np.abs(2 * np.asarray(fixed.log_value(x)) - lp1)) > 0.1
    fixed.model_state = {FIXED_COLLECTION: CurieWeissARNN.fixed_variables(beta1, 1.0, 0.1)}
    np.testing.assert_allclose(2 * np.asarray(fixed.log_value(x)), lp1, atol=1e-10)

    trainable = _mcstate(CurieWeissARNN.from_hamiltonian(H, beta0, trainable=True, dtype=jnp.float64), n_samples=16)
    trainable.parameters = exact1
    np.testing.assert_allclose(2 * np.asarray(trainable.log_value(x)), lp1, atol=1e-10)

    with pytest.raises(ValueError, match="beta"):
        curie_weiss_exact_parameters(N, -1.0)


def test_parameter_counts():
    N = 9
    H = na.curie_weiss(N)
    x = H.hilbert.all_states()[:2]
    count = lambda tree: sum(a.size for a in jax.tree.leaves(tree))  # noqa: E731

    cw_n = _init(CurieWeissARNN.from_hamiltonian(H, 1.0, trainable=True, dtype=jnp.float64), x)
    assert count(cw_n["params"]) == 2 * N * (N - 1) + 6 * N  # THEORY: 2N(N-1) + O(N)
    fixed = _init(CurieWeissARNN.from_hamiltonian(H, 1.0, dtype=jnp.float64), x)
    assert count(fixed["params"]) == 0 and count(fixed[FIXED_COLLECTION]) == 2  # beta J, beta h
    assert count(_init(CurieWeissInfARNN.from_hamiltonian(H, 1.0, dtype=jnp.float64), x)["params"]) == N + 2
    assert count(_init(OneParameterARNN.from_hamiltonian(H, 1.0, dtype=jnp.float64), x)["params"]) == N


def test_cw_inf_saddle_point_free_energy_at_n400():
    N, beta = 400, 1.5
    H = na.curie_weiss(N)
    vstate = _mcstate(CurieWeissInfARNN.from_hamiltonian(H, beta, dtype=jnp.float64), n_samples=4000, seed=3)
    log_z = na.exact.log_partition_function(H, beta)
    f_exact = -log_z / (beta * N)

    def relative_error(v):
        # beta (F[q] - F) = E_q[log q - log p]: estimated from samples of q with log p exact
        x = np.asarray(v.samples).reshape(-1, N)
        kl = 2 * np.asarray(v.log_value(x)) - np.asarray(na.exact.log_prob(H, x, beta, log_z=log_z))
        return kl.mean() / (beta * N * abs(f_exact)), kl.std() / np.sqrt(len(kl)) / (beta * N * abs(f_exact)), x

    rel, err, x = relative_error(vstate)
    assert 0 <= rel + 3 * err and rel < 5e-4
    f_q = np.mean(np.asarray(H.energy(x)) + 2 * np.asarray(vstate.log_value(x)) / beta) / N
    np.testing.assert_allclose((f_q - f_exact) / abs(f_exact), rel, atol=1e-12)
    # the bound is not trivial: without the symmetry-breaking sgn(M) term the error is larger
    vstate.parameters = {**vstate.parameters, "w1": jnp.zeros(N)}
    assert relative_error(vstate)[0] > 5e-4


def test_cw_inf_saddle_point_start():
    N, J = 50, 1.3
    H = na.curie_weiss(N, J=J, h=0.2)
    x = jnp.ones((2, N))
    for beta in (0.5, 1.5):
        p = _init(CurieWeissInfARNN.from_hamiltonian(H, beta, dtype=jnp.float64), x)["params"]
        m = np.asarray(p["w1"])[0] / (2 * beta * J * (N - 1) / N)
        np.testing.assert_allclose(m, np.tanh(beta * J * m), atol=1e-12)  # root of m = tanh(beta J m)
        assert (m > 0.5) == (beta * J > 1)  # zero above the critical temperature
        np.testing.assert_allclose(p["w1"], 2 * beta * J * m * (N - 1 - np.arange(N)) / N, atol=1e-12)
        np.testing.assert_allclose([p["b0"], p["w0"]], [2 * beta * 0.2, 2 * beta * J / N])
    random = _init(CurieWeissInfARNN.from_hamiltonian(H, 1.5, start="random", init_scale=1e-3, dtype=jnp.float64), x)[
        "params"
    ]
    assert 0 < np.std(random["w1"]) < 1e-2


def test_one_parameter_starts():
    N, beta = 8, 0.7
    H = na.curie_weiss(N, J=2.0)
    x = H.hilbert.all_states()
    mean_field = OneParameterARNN.from_hamiltonian(H, beta, dtype=jnp.float64)
    np.testing.assert_allclose(_init(mean_field, x)["params"]["w"], 2 * beta * 2.0 / N)
    zeros = OneParameterARNN.from_hamiltonian(H, beta, start="zeros", dtype=jnp.float64)
    np.testing.assert_allclose(log_q(zeros, _init(zeros, x), x), -N * np.log(2), atol=1e-12)
    # the logit of site i is w_i M_i: check it on one configuration
    model = OneParameterARNN.from_hamiltonian(H, beta, start="random", init_scale=0.5, dtype=jnp.float64)
    variables = _init(model, x)
    w = np.asarray(variables["params"]["w"])
    xs = np.asarray(x[77], dtype=float)
    u = w * (np.cumsum(xs) - xs)
    np.testing.assert_allclose(log_q(model, variables, xs[None]), np.sum(-np.log1p(np.exp(-xs * u))), atol=1e-12)


def test_curie_weiss_models_reject_other_hamiltonians():
    sk = na.sherrington_kirkpatrick(10, seed=1)
    rng = np.random.default_rng(0)
    J = np.full((10, 10), 0.1)
    np.fill_diagonal(J, 0)
    nonuniform_field = na.from_couplings(J, rng.normal(size=10))
    for cls in (CurieWeissARNN, CurieWeissInfARNN, OneParameterARNN):
        for H in (sk, nonuniform_field):
            with pytest.raises(ValueError, match="Curie–Weiss"):
                cls.from_hamiltonian(H, 1.0, dtype=jnp.float64)
        with pytest.raises(TypeError, match="PairwiseIsing"):
            cls.from_hamiltonian(nk.operator.spin.sigmaz(sk.hilbert, 0), 1.0, dtype=jnp.float64)
        with pytest.raises(ValueError, match="beta"):
            cls.from_hamiltonian(na.curie_weiss(10), 0.0, dtype=jnp.float64)
    with pytest.raises(ValueError, match="start"):
        CurieWeissInfARNN.from_hamiltonian(na.curie_weiss(10), 1.0, start="bogus", dtype=jnp.float64)
    # the non-CW couplings of from_couplings are accepted when they are of CW form
    assert CurieWeissARNN.from_hamiltonian(na.from_couplings(J, 0.3), 1.0, dtype=jnp.float64).J == pytest.approx(1.0)


def test_cw_n_gradient_matches_finite_differences():
    # the gradient flows through the logit table to every kind of parameter
    H = na.curie_weiss(7, J=1.0, h=0.1)
    model = CurieWeissARNN.from_hamiltonian(H, 1.3, trainable=True, dtype=jnp.float64)
    x = H.hilbert.all_states()
    params = _init(model, x)["params"]
    weights = jnp.cos(jnp.arange(len(x)))
    loss = jax.jit(lambda p: jnp.sum(weights * model.apply({"params": p}, x)))
    grad = jax.jit(jax.grad(loss))(params)
    eps = 1e-6
    # (site 0's hidden weights multiply M_0 = 0: indices below 7 would have zero gradient)
    for key, idx in [("w_plus", 9), ("b_minus", 10), ("skip", 4), ("w_minus", 20), ("bias", 0)]:
        step = jnp.zeros_like(params[key]).at[idx].set(eps)
        fd = (loss({**params, key: params[key] + step}) - loss({**params, key: params[key] - step})) / (2 * eps)
        assert abs(grad[key][idx]) > 1e-4
        np.testing.assert_allclose(grad[key][idx], fd, rtol=1e-6, atol=1e-9)


def _direct_logits(variables, x):
    """THEORY §3 evaluated sample by sample, site by site (numpy), for any parameter values."""
    n = x.shape[1]
    starts = np.concatenate([[0], np.cumsum(np.arange(n, 0, -1))])
    v = {key: np.asarray(value, dtype=np.float64) for key, value in variables.items()}
    u = np.empty(x.shape)
    for b in range(x.shape[0]):
        for i in range(n):
            M = x[b, :i].sum()
            units = slice(starts[i], starts[i] + n - i)  # the n_i + 1 units of site i
            lse = [scipy.special.logsumexp(v[f"b_{s}"][units] + v[f"w_{s}"][units] * M) for s in ("plus", "minus")]
            u[b, i] = v["skip"][i] * M + v["bias"][i] + lse[0] - lse[1]
    return u


def _force_plan(monkeypatch, table: bool):
    """Make a trainable CW_N use its table (True) or per-sample hidden units (False) whatever the batch."""
    monkeypatch.setattr(cw_plan, "use_table", lambda n, batch, sampling=False: table)


@pytest.mark.parametrize(
    ("table", "step_elements"),
    [(True, None), (True, 2000), (False, 2000)],
    ids=["table", "table-small-steps", "per-sample-small-steps"],
)
def test_cw_n_logits_match_direct_evaluation(monkeypatch, table, step_elements):
    # with small steps N = 50 uses several padded site groups, each split over several steps,
    # some of them padded (the last step repeats a site)
    _force_plan(monkeypatch, table)
    if step_elements is not None:
        monkeypatch.setattr(cw_plan, "_STEP_ELEMENTS", step_elements)
        monkeypatch.setattr(cw_plan, "_SMALL_WORK", 0)
        monkeypatch.setattr(cw_plan, "layout", cw_plan.layout.__wrapped__)
        layout = cw_plan.layout(50, None if table else 12)
        assert all(steps > 1 for *_, steps, _ in layout)
        assert len(layout) > 1 and any(steps * per_step > hi - lo for lo, hi, _, steps, per_step in layout)
    N = 50
    H = na.curie_weiss(N, J=1.0, h=0.1)
    model = CurieWeissARNN.from_hamiltonian(H, 0.8, trainable=True, dtype=jnp.float64)
    rng = np.random.default_rng(1)
    # magnetised and unbiased configurations: many different (i, M_i) are looked up
    x = np.where(rng.random((12, N)) < np.linspace(0.05, 0.95, 12)[:, None], 1.0, -1.0)
    params = _init(model, x)["params"]
    params = {k: p + 0.2 * rng.normal(size=p.shape) for k, p in params.items()}  # off the physics values
    logits = jax.jit(lambda p: model.apply({"params": p}, jnp.asarray(x), method=model.logits))
    np.testing.assert_allclose(np.asarray(logits(params)), _direct_logits(params, x), rtol=1e-12, atol=1e-12)

    # the gradient through the (padded, grouped) plan against central finite differences
    weights = jnp.asarray(rng.normal(size=x.shape))
    loss = jax.jit(lambda p: jnp.sum(weights * logits(p)))
    grad = jax.jit(jax.grad(loss))(params)
    starts = cw_plan.site_starts(N)
    eps = 1e-5
    for key, idx in [("w_plus", starts[3] + 2), ("b_minus", starts[30] + 5), ("w_minus", starts[48]), ("skip", 45)]:
        step = jnp.zeros_like(params[key]).at[idx].set(eps)
        fd = (loss({**params, key: params[key] + step}) - loss({**params, key: params[key] - step})) / (2 * eps)
        assert abs(grad[key][idx]) > 1e-4
        np.testing.assert_allclose(grad[key][idx], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("table", [True, False], ids=["table", "per-sample"])
def test_cw_n_cached_conditional_matches_full_pass_in_both_plans(monkeypatch, table):
    # sampling either caches the whole logit table at index 0 or evaluates each site's units;
    # the table of N = 48 has several site groups; parameters are off their physics values
    _force_plan(monkeypatch, table)
    N = 48
    assert len(cw_plan.layout(N)) > 1
    H = na.curie_weiss(N, J=1.0, h=0.1)
    model = CurieWeissARNN.from_hamiltonian(H, 1.1, trainable=True, dtype=jnp.float64)
    variables = perturb(_init(model, jnp.ones((1, N))), jax.random.key(3), 0.3)
    samples, cached = cached_sampling_pass(model, variables, n_samples=32, seed=4)
    full = evaluate(model, variables, samples)["conditionals"]
    np.testing.assert_allclose(cached, full, rtol=1e-12, atol=1e-13)
    assert 0.05 < np.mean(samples > 0) < 0.95  # both spin values were sampled


@pytest.mark.parametrize(("beta", "J", "h"), [(0.6, 1.0, 0.0), (1.7, 1.0, 0.25), (1.2, -0.8, -0.1)])
def test_exact_recursion_table_equals_the_network_formula(beta, J, h):
    # the fixed CW_N's O(N^2) partition-function recursion against its O(N^3) network at the
    # exact parameters: every entry (i, m <= i) of the table, at N = 60
    N = 60
    H = na.curie_weiss(N, J=J, h=h)
    fixed = CurieWeissARNN.from_hamiltonian(H, beta, dtype=jnp.float64)
    trainable = CurieWeissARNN.from_hamiltonian(H, beta, trainable=True, dtype=jnp.float64)
    x = jnp.ones((1, N))
    table = jax.jit(lambda v: fixed.apply(v, method=fixed.table))(_init(fixed, x))
    reference = jax.jit(lambda v: trainable.apply(v, method=trainable.table))(_init(trainable, x))
    lower = np.tril(np.ones((N, N), bool))
    np.testing.assert_allclose(np.asarray(table)[lower], np.asarray(reference)[lower], rtol=1e-10, atol=1e-10)
    assert np.all(np.asarray(table)[~lower] == 0)
    assert np.ptp(np.asarray(table)[lower]) > 1.0  # the logits vary with (i, m): the check has content
