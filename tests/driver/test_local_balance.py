"""The local-balance term: its residuals, FrontierARNN's future free energy, the gradient and the driver option."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest

import netket_arnn as na
from netket_arnn.driver.estimator import free_energy_and_grad
from netket_arnn.driver.local_balance import balance_residuals, earlier_fields, imbalance
from netket_arnn.exact import by_enumeration
from netket_arnn.models import FrontierARNN

BETA = 0.8


def _system(seed=2):
    """A 3 × 4 open lattice with Gaussian couplings and fields (N = 12)."""
    graph = nk.graph.Grid([3, 4], pbc=False)
    rng = np.random.default_rng(seed)
    return na.from_graph(graph, rng.normal(size=graph.n_edges), rng.normal(scale=0.5, size=graph.n_nodes))


def _state(H, seed=1, n_samples=256, features=(6,), **kw):
    model = FrontierARNN.from_hamiltonian(H, BETA, features, dtype=jnp.float64, **kw)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=n_samples, seed=seed, sampler_seed=2)
    # away from the start, where the learned future term is ~0
    key = jax.random.key(seed + 10)
    leaves, tree = jax.tree.flatten(vs.parameters)
    keys = jax.random.split(key, len(leaves))
    vs.parameters = jax.tree.unflatten(
        tree, [a + 0.3 * jax.random.normal(k, a.shape, a.dtype) for a, k in zip(leaves, keys, strict=True)]
    )
    return vs


def _residuals(vs, H, x):
    model = vs.model
    u, even = model.apply(vs.variables, x, method=model.logits_and_future_log_z)
    return balance_residuals(u, even, x, earlier_fields(H, x), BETA)


def test_residuals_telescope_to_log_q_plus_beta_h():
    H = _system()
    vs = _state(H)
    x = jnp.asarray(vs.samples.reshape(-1, H.n_sites), jnp.float64)
    e = _residuals(vs, H, x)
    assert e.shape == (x.shape[0], H.n_sites + 1)
    log_q = 2 * vs.log_value(x).real
    np.testing.assert_allclose(e.sum(axis=1), log_q + BETA * H.energy(x), rtol=0, atol=1e-10)
    # B counts every residual, the last (the boundary condition A_N = 0) included
    assert float(imbalance(e)) == pytest.approx(float(np.var(np.asarray(e), axis=0).sum()), rel=1e-12)
    assert float(imbalance(e.at[:, :-1].set(0.0))) > 0


def test_earlier_fields_are_the_fields_of_the_earlier_spins():
    H = _system()
    x = jnp.asarray(np.random.default_rng(0).choice([-1.0, 1.0], size=(5, H.n_sites)))
    J, h = np.asarray(H.couplings), np.asarray(H.fields)
    expected = h + np.einsum("bk,ki->bi", np.asarray(x), np.triu(J, k=1))  # sum over k < i of J_ki x_k
    np.testing.assert_allclose(earlier_fields(H, x), expected, atol=1e-12)


def test_even_part_is_the_mean_of_the_two_shifted_future_free_energies():
    H = _system()
    vs = _state(H, features=(5,))
    model = vs.model
    x = np.asarray(vs.samples.reshape(-1, H.n_sites), np.float64)[:7]
    p = vs.parameters
    inputs = model.inputs
    J = np.triu(np.asarray(H.couplings), k=1)
    weights = np.concatenate([np.asarray(H.edge_weights), [0.0]])
    expected = np.zeros(x.shape)
    for i in range(H.n_sites):
        xi = x[:, :i] @ (J + J.T)[:i]  # (B, N): fields of the earlier spins on every site
        y = np.concatenate([xi, np.zeros((len(x), 1))], axis=1)[:, inputs.cols[i]]
        shift = weights[inputs.shift_edge[i]]

        def phi(z, i=i):
            return np.logaddexp(0, z @ np.asarray(p["kernel_0"][i]) + np.asarray(p["hidden_b_0"][i])) @ np.asarray(
                p["v"][i]
            )

        expected[:, i] = 0.5 * (phi(y + shift) + phi(y - shift))
    for chunk_elements in (2**24, 64):  # one chunk, and one site per chunk
        m = model.clone(chunk_elements=chunk_elements)
        u, even = m.apply(vs.variables, jnp.asarray(x), method=m.logits_and_future_log_z)
        np.testing.assert_allclose(even, expected, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(u, m.apply(vs.variables, jnp.asarray(x), method=m.reference_logits), atol=1e-10)


def test_gradient_adds_the_balance_term_to_the_free_energy_gradient():
    H = _system()
    vs = _state(H)
    x = vs.samples.reshape(-1, H.n_sites)
    weight = 0.7
    _, plain = free_energy_and_grad(vs, H, BETA, samples=x)
    _, tiny = free_energy_and_grad(vs, H, BETA, samples=x, local_balance=1e-300)
    _, balanced = free_energy_and_grad(vs, H, BETA, samples=x, local_balance=weight)
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(tiny), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)  # the fused pass, same free-energy gradient

    # λ/(2βN) ∇B at fixed samples, by central differences along a random direction
    leaves, tree = jax.tree.flatten(vs.parameters)
    keys = jax.random.split(jax.random.key(7), len(leaves))
    direction = jax.tree.unflatten(tree, [jax.random.normal(k, a.shape, a.dtype) for a, k in zip(leaves, keys)])
    xf = jnp.asarray(x, jnp.float64)

    def balance_at(t):
        params = jax.tree.map(lambda a, d: a + t * d, vs.parameters, direction)
        u, even = vs.model.apply({**vs.variables, "params": params}, xf, method=vs.model.logits_and_future_log_z)
        return float(imbalance(balance_residuals(u, even, xf, earlier_fields(H, xf), BETA)))

    eps = 1e-5
    fd = (balance_at(eps) - balance_at(-eps)) / (2 * eps) * weight / (2 * BETA * H.n_sites)
    added = sum(
        float(jnp.vdot(b - a, d))
        for a, b, d in zip(jax.tree.leaves(plain), jax.tree.leaves(balanced), jax.tree.leaves(direction), strict=True)
    )
    assert added == pytest.approx(fd, rel=1e-5)
    assert abs(added) > 1e-6


def _train(H, weight, steps=150):
    """B and f[q] (with its standard error, from 4096 fresh samples) after ``steps`` steps."""
    vs = _state(H, seed=3, n_samples=256)
    driver = na.VariationalFreeEnergy(H, optax.adam(1e-2), variational_state=vs, beta=BETA, local_balance=weight)
    driver.run(steps, show_progress=False)
    x = jnp.asarray(vs.sample(n_samples=4096).reshape(-1, H.n_sites), jnp.float64)
    f_loc = (H.energy(x) + 2 * vs.log_value(x).real / BETA) / H.n_sites
    f, f_err = float(f_loc.mean()), float(f_loc.std() / np.sqrt(len(f_loc)))
    return float(imbalance(_residuals(vs, H, x))), f, f_err, driver


def test_training_with_the_term_balances_the_sites_and_keeps_the_free_energy():
    H = _system()
    exact = -by_enumeration(H, BETA).log_z / (BETA * H.n_sites)
    b_off, f_off, err_off, off = _train(H, 0.0)
    b_on, f_on, err_on, on = _train(H, 1.0)
    assert on.local_balance == 1.0 and off.local_balance == 0.0
    assert b_on < 0.05 * b_off  # the even part is trained, not only the logits' odd part
    for f, err in ((f_off, err_off), (f_on, err_on)):
        assert exact - 4 * err < f < exact + 1e-3, (f, err, exact)  # an upper bound, close to f


def test_driver_refuses_what_it_cannot_balance():
    H = _system()
    vs = _state(H)
    opt = optax.adam(1e-3)
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="local_balance must be a finite number >= 0"):
            na.VariationalFreeEnergy(H, opt, variational_state=vs, beta=BETA, local_balance=bad)
    with pytest.raises(TypeError, match="local_balance must be a number"):
        na.VariationalFreeEnergy(H, opt, variational_state=vs, beta=BETA, local_balance="a lot")
    made = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), na.build_net("1l", H, BETA), n_samples=16, seed=0)
    with pytest.raises(ValueError, match="logits_and_future_log_z.*has none"):
        na.VariationalFreeEnergy(H, opt, variational_state=made, beta=BETA, local_balance=0.1)
    assert na.VariationalFreeEnergy(H, opt, variational_state=made, beta=BETA, local_balance=0).local_balance == 0


def test_anneal_records_the_weight_and_refuses_to_resume_with_another(tmp_path):
    from netket_arnn.driver import AnnealInterrupted, Checkpointing

    H = _system()
    path = tmp_path / "c.mpack"

    def stop(step, log_data, driver):
        if driver.beta > 0.5:
            raise KeyboardInterrupt
        return True

    def run(weight, **kw):
        return na.anneal(
            H,
            _state(H, n_samples=32),
            [0.4, 0.6],
            steps_per_beta=2,
            local_balance=weight,
            show_progress=False,
            **kw,
        )

    with pytest.raises(AnnealInterrupted):
        run(0.5, callback=stop, checkpointing=Checkpointing(path))
    with pytest.raises(ValueError, match="local_balance"):
        run(0.0, checkpointing=Checkpointing(path, resume=True))
    result = run(0.5, checkpointing=Checkpointing(path, resume=True))
    assert result.metadata["local_balance"] == 0.5 and len(result.records) == 2
