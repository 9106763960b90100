"""Parallel tempering with local fields against enumeration; its ladder, exchanges and errors."""

from __future__ import annotations

import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.sampling import parallel_tempering, replica_temperatures

from ..data.helpers import exact_distribution
from ..models.ar_checks import chi_square_pvalue


def frustrated_sk():
    return na.sherrington_kirkpatrick(8, seed=3)


def sparse_with_field():
    return na.edwards_anderson(nk.graph.Hypercube(3, n_dim=2, pbc=True), seed=1, h=0.2)


@pytest.mark.parametrize("make", [frustrated_sk, sparse_with_field], ids=["dense", "sparse"])
def test_samples_match_enumeration(make):
    """Dense and sparse (with fields), at a β where the exchanges matter: chi-square over all
    states, the exact energy within 4 sigma, diagnostics passed, every pair exchanging."""
    H, beta = make(), 1.5
    _, p, thermo = exact_distribution(H, beta)
    data = parallel_tempering(H, beta, 24000, n_chains=8, n_replicas=4, sweeps_per_sample=2, n_burn_in_sweeps=100)
    x = np.asarray(data.samples).reshape(-1, H.n_sites)
    assert x.shape == (24000, H.n_sites) and x.dtype == np.int8
    assert chi_square_pvalue(x, H.hilbert, p) > 1e-3
    e = np.asarray(H.energy(x)) / H.n_sites
    assert abs(e.mean() - thermo.energy) < 4 * e.std() / np.sqrt(len(e) / 2)
    assert data.diagnostics.passed
    swaps = data.sampler["swap_acceptance"]
    assert len(swaps) == 3 and all(0.05 < a < 1 for a in swaps)
    assert data.sampler["replica_betas"][-1] == beta


def test_replicas_exchange_towards_the_right_temperatures():
    """With the stored replica at the *cold* end, samples come from β and not from the hot
    replicas: the mean energy is the exact one at β and far from the one at β_min."""
    H = frustrated_sk()
    beta, beta_min = 2.0, 0.2
    data = parallel_tempering(H, beta, 8000, n_chains=8, replica_betas=np.geomspace(beta_min, beta, 6))
    e = np.asarray(H.energy(np.asarray(data.samples).reshape(-1, H.n_sites))) / H.n_sites
    _, _, cold = exact_distribution(H, beta)
    _, _, hot = exact_distribution(H, beta_min)
    assert abs(e.mean() - cold.energy) < 0.2 * abs(hot.energy - cold.energy)


def test_ladder():
    betas = replica_temperatures(1.5, 5)
    np.testing.assert_allclose(betas, np.geomspace(0.375, 1.5, 5))
    np.testing.assert_allclose(replica_temperatures(1.5, 3, beta_min=0.5), [0.5, np.sqrt(0.75), 1.5])
    assert list(replica_temperatures(0.7, 1)) == [0.7]


def test_bad_input_is_named():
    H = frustrated_sk()
    with pytest.raises(ValueError, match="strictly ascending"):
        parallel_tempering(H, 1.0, 8, replica_betas=[1.0, 0.5])
    with pytest.raises(ValueError, match="must be beta"):
        parallel_tempering(H, 1.0, 8, replica_betas=[0.5, 0.9])
    with pytest.raises(ValueError, match="finite and positive"):
        parallel_tempering(H, 1.0, 8, replica_betas=[-0.5, 1.0])
    with pytest.raises(ValueError, match="beta_min must be below beta"):
        replica_temperatures(1.0, 4, beta_min=2.0)
    with pytest.raises(ValueError, match="beta"):
        parallel_tempering(H, 0.0, 8)
    with pytest.raises(ValueError, match="n_samples"):
        parallel_tempering(H, 1.0, 0)


def test_exchanges_carry_a_ferromagnet_across_its_barrier():
    """Curie–Weiss deep in its ordered phase: single flips at β keep a chain in one magnetised
    state; exchanges with hot replicas carry it across, so every chain visits both signs."""
    H, beta = na.curie_weiss(32), 2.0
    m_sign = {}
    for replicas in (1, 8):
        ladder = np.geomspace(0.3, beta, replicas) if replicas > 1 else [beta]
        data = parallel_tempering(H, beta, 8 * 400, n_chains=8, replica_betas=ladder, n_burn_in_sweeps=200)
        m_sign[replicas] = (np.asarray(data.chains).sum(axis=-1) > 0).mean(axis=1)  # per chain
    assert np.all((m_sign[1] == 0) | (m_sign[1] == 1)), m_sign[1]  # stuck without exchanges
    assert np.all((m_sign[8] > 0.15) & (m_sign[8] < 0.85)), m_sign[8]


def test_exchange_acceptance_is_the_exact_one():
    """Two replicas: the fraction of accepted exchanges is E[min(1, e^{(β2-β1)(E2-E1)})] under
    p_β1 × p_β2, computed by enumeration; wrong energies or a wrong ratio change it."""
    H = na.sherrington_kirkpatrick(6, seed=4)
    low, high = 0.5, 1.5
    states, _, _ = exact_distribution(H, 1.0)
    energies = np.asarray(H.energy(states))
    p1, p2 = (np.exp(-b * (energies - energies.min())) for b in (low, high))
    p1, p2 = p1 / p1.sum(), p2 / p2.sum()
    ratio = np.minimum(1.0, np.exp((high - low) * (energies[None, :] - energies[:, None])))  # [E1 index, E2 index]
    expected = float(p1 @ ratio @ p2)
    data = parallel_tempering(H, high, 16 * 2000, n_chains=16, replica_betas=[low, high], n_burn_in_sweeps=20)
    (measured,) = data.sampler["swap_acceptance"]
    assert abs(measured - expected) < 0.02, (measured, expected)
