"""Inverse Ising: reading a learned first layer, the recovery figures, pseudo-likelihood."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.data import coupling_recovery, learned_couplings, pseudo_likelihood_couplings
from netket_arnn.models import H2ARNN, SingleLayerARNN, SpinGlassARNN

from .helpers import PAPER_FIG6, exact_samples


def test_learned_couplings_read_back_the_start_of_every_model():
    """A learned first layer started from H's couplings holds exactly those couplings."""
    H = na.sherrington_kirkpatrick(7, seed=3)
    J = np.asarray(H.couplings)
    x = np.ones((1, 7))
    for model, expected in (
        (SpinGlassARNN.from_hamiltonian(H, 1.3, 1, learn_couplings=True), J),
        (H2ARNN.from_hamiltonian(H, 1.3, learn_couplings=True), J),
        (SingleLayerARNN.from_hamiltonian(H, 1.3), 2 * 1.3 * J),  # 1L starts at 2 beta J
    ):
        variables = jax.jit(model.init)(jax.random.key(0), x)
        np.testing.assert_allclose(learned_couplings(variables), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(learned_couplings(variables, model), expected, rtol=1e-12, atol=1e-15)


def test_learned_couplings_reads_what_the_model_reads():
    """With arbitrary (non-symmetric) kernels, reading the parameters agrees with the model's own matrix."""
    H = na.sherrington_kirkpatrick(7, seed=3)
    rng = np.random.default_rng(0)
    for model in (
        SingleLayerARNN.from_hamiltonian(H, 1.0),
        SpinGlassARNN.from_hamiltonian(H, 1.0, 1, learn_couplings=True),
    ):
        variables = jax.jit(model.init)(jax.random.key(0), np.ones((1, 7)))
        kernel = variables["params"]["first_layer"]["kernel"]
        random = jax.numpy.asarray(rng.normal(size=kernel.shape))
        variables = {**variables, "params": {**variables["params"], "first_layer": {"kernel": random}}}
        np.testing.assert_allclose(learned_couplings(variables), learned_couplings(variables, model), rtol=1e-14)


def test_learned_couplings_needs_a_learned_layer():
    H = na.sherrington_kirkpatrick(5, seed=1)
    model = SpinGlassARNN.from_hamiltonian(H, 1.0, 1)  # fixed couplings: nothing learned
    with pytest.raises(KeyError, match="learn_couplings=True"):
        learned_couplings(jax.jit(model.init)(jax.random.key(0), np.ones((1, 5))))


def test_recovery_figures_of_known_transformations():
    J = np.asarray(na.sherrington_kirkpatrick(20, seed=1).couplings)
    rec = coupling_recovery(-2.0 * J, J)  # a global sign flip and a scale
    assert rec.sign == -1 and rec.r_signed == pytest.approx(1.0) and rec.r_abs == pytest.approx(1.0)
    assert rec.slope == pytest.approx(2.0) and rec.intercept == pytest.approx(0.0, abs=1e-12)
    # one sign per later site (column of the upper triangle): only align="column" undoes it
    signs = np.where(np.arange(20) % 3 == 0, -1.0, 1.0)
    upper = np.triu(J, 1) * signs[None, :]
    flipped = upper + upper.T
    assert coupling_recovery(flipped, J).r_signed < 0.9
    assert coupling_recovery(flipped, J, align="column").r_signed == pytest.approx(1.0)
    assert coupling_recovery(flipped, J).r_abs == pytest.approx(1.0)
    # a strictly lower-triangular matrix (the published layout) reads the same
    assert coupling_recovery(np.tril(-2.0 * J, -1), J).slope == pytest.approx(2.0)
    noise = np.random.default_rng(0).normal(size=J.shape)
    assert abs(coupling_recovery(noise + noise.T, J).r_signed) < 0.2
    with pytest.raises(ValueError, match="align"):
        coupling_recovery(J, J, align="row")
    with pytest.raises(ValueError, match="shape"):
        coupling_recovery(J[:5, :5], J)


def test_published_learned_layer_gives_the_published_correlation():
    """The paper's own learned first layer reproduces its quoted r(|W|, |J|) (computed, not copied)."""
    with np.load(PAPER_FIG6) as data:
        W, J = data["learned_first_layer"], data["couplings"]
    rec = coupling_recovery(W, J)
    np.testing.assert_array_equal(
        np.tril(np.asarray(na.sherrington_kirkpatrick(100, seed=4).couplings), -1), np.tril(J, -1).astype(np.float64)
    )
    assert 0.6 < rec.r_abs < 0.7 and rec.n_pairs == 4950


@pytest.mark.parametrize("field", [0.0, 0.3])
def test_pseudo_likelihood_recovers_couplings_and_fields_from_exact_samples(field):
    H = na.sherrington_kirkpatrick(10, seed=6, h=field)
    beta = 0.8
    samples = exact_samples(H, beta, 40000, seed=2)
    result = pseudo_likelihood_couplings(samples, beta)
    assert result.converged
    rec = coupling_recovery(result.couplings, np.asarray(H.couplings))
    assert rec.sign == 1 and rec.r_signed > 0.97 and rec.slope == pytest.approx(1.0, abs=0.08)
    np.testing.assert_allclose(result.fields, np.asarray(H.fields), atol=0.06)
    # the uniform field on average (statistical error ~0.01 at M = 40000; a field left as
    # beta h would be off by 0.06 at h = 0.3)
    assert np.mean(result.fields) == pytest.approx(field, abs=0.025)
    # the L2 penalty shrinks the estimate
    shrunk = pseudo_likelihood_couplings(samples, beta, l2=0.05)
    assert np.abs(shrunk.couplings).sum() < np.abs(result.couplings).sum()


def test_pseudo_likelihood_bad_input():
    with pytest.raises(ValueError, match="spins ±1"):
        pseudo_likelihood_couplings(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="l2"):
        pseudo_likelihood_couplings(np.ones((4, 3)), l2=-1.0)
    with pytest.raises(ValueError, match="beta"):
        pseudo_likelihood_couplings(np.ones((4, 3)), beta=0.0)


def test_pseudo_likelihood_divides_couplings_and_fields_by_beta():
    # beta only converts the estimate of (beta J, beta h) to (J, h): both scale exactly as 1/beta
    H = na.sherrington_kirkpatrick(6, seed=1, h=0.4)
    samples = exact_samples(H, 0.7, 3000, seed=5)
    at_one = pseudo_likelihood_couplings(samples, 1.0)
    at_half = pseudo_likelihood_couplings(samples, 0.5)
    assert np.abs(at_one.fields).min() > 0.05  # the fields are not all 0: the scaling shows
    np.testing.assert_allclose(at_half.couplings, 2.0 * at_one.couplings, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(at_half.fields, 2.0 * at_one.fields, rtol=1e-12, atol=1e-14)


def test_pseudo_likelihood_l2_penalty_acts_on_the_couplings_only():
    """A huge penalty sets K = 0; the fields are then those of independent spins, tanh(beta h_i) = <x_i>."""
    H = na.sherrington_kirkpatrick(6, seed=1, h=0.4)
    beta = 0.7
    samples = exact_samples(H, beta, 3000, seed=5)
    result = pseudo_likelihood_couplings(samples, beta, l2=1e6)
    assert np.abs(result.couplings).max() < 1e-4
    independent = np.arctanh(samples.astype(np.float64).mean(axis=0)) / beta
    assert np.abs(independent).max() > 0.3  # a penalty on the fields would pull them to 0
    np.testing.assert_allclose(result.fields, independent, rtol=0, atol=3e-3)  # measured: 7e-4
