"""Exact conditionals of square lattices: against enumeration, the transfer matrix, a chi-square of
their samples, and the per-site KL split of a model against the exact KL divergence."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import exact
from netket_arnn.models.frontier import FrontierARNN

from ..models.ar_checks import chi_square_pvalue
from .test_lattice import random_lattice

# (L, W, periodic along (L, W)): open, periodic along W (the wrap bond is in the window), one column
SHAPES = [(3, 4, (False, False)), (4, 3, (False, True)), (2, 5, (False, True)), (6, 1, (False, False))]


def _boltzmann_log_prob(H, x, beta, log_z):
    return -beta * np.asarray(H.energy(jnp.asarray(x))) - log_z


@pytest.mark.parametrize(("L", "W", "periodic"), SHAPES, ids=lambda v: str(v))
def test_conditionals_multiply_to_the_boltzmann_distribution(L, W, periodic):
    H = random_lattice(L, W, periodic, seed=L * W, field_scale=0.7)
    beta = 0.8
    cond = exact.lattice_conditionals(H, beta)
    assert (cond.lattice.L, cond.lattice.W) == (L, W)
    ref = exact.by_enumeration(H, beta)
    assert cond.log_z == pytest.approx(ref.log_z, rel=1e-12)
    x = np.asarray(H.hilbert.all_states())
    np.testing.assert_allclose(cond.log_prob(x), _boltzmann_log_prob(H, x, beta, ref.log_z), atol=1e-10)
    # normalised conditionals of x_<t whose product is p for every x: they are p's conditionals
    assert cond.logits(x).shape == x.shape


def test_log_z_equals_the_transfer_matrix_beyond_enumeration():
    for shape, periodic in (((12, 12), (False, False)), ((7, 9), (False, True))):
        H = random_lattice(*shape, periodic, seed=3, field_scale=0.5)
        cond = exact.lattice_conditionals(H, 1.3)
        assert cond.log_z == pytest.approx(exact.by_transfer_matrix(H, 1.3).log_z, rel=1e-12)
        x = cond.sample(200, seed=1)
        np.testing.assert_allclose(cond.log_prob(x), _boltzmann_log_prob(H, x, 1.3, cond.log_z), atol=1e-8)


def test_edwards_anderson_grid_in_its_own_order():
    H = na.edwards_anderson(nk.graph.Grid([3, 4], pbc=False), "pm1", seed=4, h=0.3)
    cond = exact.lattice_conditionals(H, 1.1)
    x = np.asarray(H.hilbert.all_states())
    ref = exact.by_enumeration(H, 1.1)
    np.testing.assert_allclose(cond.log_prob(x), _boltzmann_log_prob(H, x, 1.1, ref.log_z), atol=1e-10)


def test_samples_follow_the_exact_distribution():
    H = random_lattice(3, 4, (False, True), seed=8, field_scale=0.5)
    beta = 0.7
    samples = exact.lattice_conditionals(H, beta).sample(20000, seed=5)
    assert samples.shape == (20000, 12) and set(np.unique(samples)) == {-1.0, 1.0}
    p = np.asarray(exact.by_enumeration(H, beta, return_probabilities=True).probabilities)
    assert chi_square_pvalue(samples, H.hilbert, p) > 1e-3
    # the test has power: the distribution at another beta is rejected
    other = np.asarray(exact.by_enumeration(H, 1.3 * beta, return_probabilities=True).probabilities)
    assert chi_square_pvalue(samples, H.hilbert, other) < 1e-6
    again = exact.lattice_conditionals(H, beta).sample(20000, seed=5)
    np.testing.assert_array_equal(samples, again)


def test_kl_per_site_sums_to_the_exact_kl_of_a_model():
    H = na.edwards_anderson(nk.graph.Grid([3, 4], pbc=False), "pm1", seed=2, h=0.2)
    beta = 1.0
    model = FrontierARNN.from_hamiltonian(H, beta, (4,), init_scale=0.5)
    variables = model.init(jax.random.key(3), jnp.ones((1, 12)))
    states = H.hilbert.all_states()
    log_q = 2.0 * np.asarray(model.apply(variables, states), np.float64)
    cond = exact.lattice_conditionals(H, beta)
    kl_exact = float(np.sum(np.exp(log_q) * (log_q - cond.log_prob(states))))
    assert kl_exact > 0.05  # a model far enough from p that a dropped or misplaced term shows
    # samples of q, in 20 batches: the estimate's mean and standard error
    sampler = nk.sampler.ARDirectSampler(H.hilbert)
    vstate = nk.vqs.MCState(sampler, model, variables=variables, n_samples=4000, seed=0, sampler_seed=1)
    estimates = []
    for _ in range(20):
        x = np.asarray(vstate.sample()).reshape(-1, 12)
        u = np.asarray(model.apply(variables, jnp.asarray(x), method=model.logits))
        per_site = cond.kl_per_site(x, u)
        assert per_site.shape == (12,) and np.all(per_site >= -1e-12)
        estimates.append(per_site.sum())
    mean, error = np.mean(estimates), np.std(estimates) / np.sqrt(len(estimates))
    assert abs(mean - kl_exact) < 5 * error + 1e-4, (mean, error, kl_exact)
    # the exact model has none
    x = cond.sample(500, seed=2)
    np.testing.assert_allclose(cond.kl_per_site(x, cond.logits(x)), 0.0, atol=1e-12)


def test_bad_input_is_refused_with_its_reason():
    periodic = random_lattice(4, 4, (True, False), seed=1)
    with pytest.raises(ValueError, match="open along"):
        exact.lattice_conditionals(periodic, 1.0)
    with pytest.raises(ValueError, match="open along L"):
        exact.lattice_conditionals(periodic, 1.0, lattice=exact.SquareLattice(4, 4, True, False))
    with pytest.raises(ValueError, match="open along L"):  # built directly, the same checks
        exact.LatticeConditionals(periodic, 1.0, exact.SquareLattice(4, 4, True, False))
    with pytest.raises(ValueError, match="not nearest-neighbour bonds"):
        exact.lattice_conditionals(na.sherrington_kirkpatrick(6, seed=1), 1.0)
    wide = random_lattice(2, 30, (False, False), seed=1)
    with pytest.raises(ValueError, match="MAX_CONDITIONAL_TABLE_BYTES"):
        exact.lattice_conditionals(wide, 1.0)
    H = random_lattice(3, 3, (False, False), seed=1)
    with pytest.raises(ValueError, match="beta"):
        exact.lattice_conditionals(H, 0.0)
    cond = exact.lattice_conditionals(H, 1.0)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 9\)"):
        cond.logits(np.ones((2, 8)))
    with pytest.raises(ValueError, match="spins -1 and \\+1"):
        cond.log_prob(np.zeros((2, 9)))
    with pytest.raises(ValueError, match="shape of x"):
        cond.kl_per_site(np.ones((2, 9)), np.zeros((2, 8)))
