"""The natural-gradient protocol: SR steps of a fixed fraction of the KL divergence's Newton step."""

from __future__ import annotations

import warnings

import jax
import jax.flatten_util
import netket as nk
import numpy as np
import pytest
from scipy.optimize import minimize

import netket_arnn as na
from netket_arnn.driver import FinalEstimates, anneal
from netket_arnn.protocols import ADAPTIVE, NATURAL, PAPER, AnnealProtocol, get_protocol


def test_natural_protocol_spends_the_adaptive_budget_with_sr_steps():
    n_betas = len(na.driver.beta_grid(0.1, 2.0, 0.05))
    assert get_protocol("natural") is NATURAL
    assert NATURAL.max_total_steps(n_betas) == ADAPTIVE.max_total_steps(n_betas)
    assert NATURAL.max_total_steps(n_betas) * 10 <= PAPER.max_total_steps(n_betas)
    assert NATURAL.settings()["min_steps"] == NATURAL.max_steps  # the whole budget at every β
    assert (NATURAL.optimizer, NATURAL.preconditioner) == ("sgd", "sr")
    sr = NATURAL.build_preconditioner()
    assert isinstance(sr, nk.optimizer.SR) and ADAPTIVE.build_preconditioner() is None
    assert isinstance(NATURAL.build_preconditioner(100, 2000), nk.optimizer.SR)
    # more parameters than samples: the same update, in sample space, with the protocol's shift
    kernel = NATURAL.replace(diag_shift=3e-3).build_preconditioner(30_000, 2000)
    assert isinstance(kernel, na.driver.SampleSpaceSR) and kernel.diag_shift == 3e-3


def test_anneal_takes_sr_in_sample_space_for_a_net_with_more_parameters_than_samples():
    H = na.sherrington_kirkpatrick(8, seed=1)
    vs = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert), na.build_net("sk_1rsb", H, 0.5), n_samples=64, seed=0, sampler_seed=1
    )
    assert vs.n_parameters > vs.n_samples
    short = NATURAL.replace(warmup_steps=2, max_steps=2, settle_steps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", nk.errors.InsufficientSamplesForSRWarning)
        result = anneal(H, vs, [0.5], protocol=short, estimates=FinalEstimates(n_samples=256), show_progress=False)
    record = result.metadata["preconditioner"]
    assert record["type"] == "SampleSpaceSR" and record["diag_shift"] == short.diag_shift
    assert np.isfinite(result[-1].free_energy)


def test_step_scale_turns_the_fraction_into_the_sgd_learning_rate():
    # η = ε β N / 4: the QGT of an ARNN is a quarter of the Fisher matrix and the gradient is that of F/N
    assert NATURAL.step_scale(0.5, 40) == pytest.approx(0.5 * 40 / 4)
    assert NATURAL.step_scale(2.0, 800) == pytest.approx(400.0)
    assert ADAPTIVE.step_scale(2.0, 800) == 1.0 and PAPER.step_scale(0.3, 10) == 1.0


def test_qgt_of_an_arnn_is_a_quarter_of_the_fisher_matrix_of_q():
    """The premise of ``step_scale``: NetKet's S is Cov(∂ log ψ) with log ψ = log q / 2."""
    H = na.curie_weiss(8)
    vs = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert), na.build_net("cw_inf", H, 1.2), n_samples=512, seed=0, sampler_seed=1
    )
    S = np.asarray(nk.optimizer.qgt.QGTJacobianDense(vs, holomorphic=False).to_dense())
    x = np.asarray(vs.samples).reshape(-1, H.hilbert.size)
    flat, unravel = jax.flatten_util.ravel_pytree(vs.parameters)
    log_q = lambda p, s: 2.0 * vs._apply_fun({"params": unravel(p)}, s)  # noqa: E731
    jac = np.asarray(jax.jacrev(log_q)(flat, x))
    fisher = np.cov(jac.T, bias=True)
    np.testing.assert_allclose(4.0 * S, fisher, rtol=1e-5, atol=1e-7 * np.abs(fisher).max())  # float32 arithmetic


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"preconditioner": "minsr"}, "preconditioner"),
        ({"preconditioner": "sr"}, "optimizer='sgd'"),
        ({"preconditioner": "sr", "optimizer": "sgd", "diag_shift": 0.0}, "diag_shift"),
    ],
)
def test_bad_natural_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AnnealProtocol(**kwargs)


def test_a_protocol_with_a_preconditioner_refuses_another():
    H = na.curie_weiss(4)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), na.build_net("1p", H, 0.5), n_samples=16)
    with pytest.raises(TypeError, match="preconditioner"):
        anneal(H, vs, [0.5], protocol="natural", preconditioner=nk.optimizer.SR(), show_progress=False)


# -- the protocol reaches the net's own optimum ---------------------------------------------------------
def _exact_free_energy(model, params, H, beta, states, energies):
    log_q = 2.0 * np.asarray(model.apply({"params": params}, states))
    q = np.exp(log_q)
    assert abs(q.sum() - 1.0) < 1e-10
    return float(np.sum(q * (energies + log_q / beta)) / H.hilbert.size)


def _optimum(model, params, H, beta, states, energies):
    """The net's best f[q] at ``beta``, by exact enumeration and L-BFGS over its parameters."""
    flat, unravel = jax.flatten_util.ravel_pytree(params)

    @jax.jit
    def f(p):
        log_q = 2.0 * model.apply({"params": unravel(p)}, states)
        return jax.numpy.sum(jax.numpy.exp(log_q) * (energies + log_q / beta)) / H.hilbert.size

    fg = jax.jit(jax.value_and_grad(f))
    res = minimize(
        lambda p: tuple(np.asarray(v) for v in fg(p)),
        np.asarray(flat),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12},
    )
    return float(res.fun)


@pytest.mark.parametrize("net", ["cw_inf", "1p"])
def test_natural_steps_reach_the_nets_optimum_where_adam_does_not(net):
    """CW_∞ and 1P on Curie–Weiss N = 10 past the transition: after the same few steps per β the natural
    protocol's f[q] (exact, by enumeration) is within 10% of the net's optimum's excess over f; Adam's
    steps of the same budget (the adaptive protocol's values) are further away."""
    H = na.curie_weiss(10)
    betas = [1.0, 1.2, 1.4]
    states = np.asarray(H.hilbert.all_states())
    energies = np.asarray(H.energy(states))
    exact_f = na.exact.thermodynamics(H, betas[-1]).free_energy
    short = {"warmup_steps": 30, "max_steps": 30, "settle_steps": 10}
    excess = {}
    for name, protocol in (
        ("natural", NATURAL.replace(**short)),
        ("adam", ADAPTIVE.replace(convergence=None, **short)),
    ):
        model = na.build_net(net, H, betas[0], dtype=jax.numpy.float64)  # f[q] exact to 1e-12 below
        vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=1000, seed=0, sampler_seed=1)
        anneal(
            H,
            vs,
            betas,
            protocol=protocol,
            estimates=FinalEstimates(n_samples=100, observables=()),
            show_progress=False,
        )
        excess[name] = _exact_free_energy(model, vs.parameters, H, betas[-1], states, energies) - exact_f
    best = _optimum(model, vs.parameters, H, betas[-1], states, energies) - exact_f
    assert best > 0
    assert excess["natural"] - best <= 0.1 * best, (excess, best)
    assert excess["adam"] - best > 2 * (excess["natural"] - best), (excess, best)
