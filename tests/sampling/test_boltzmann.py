"""Equilibrium Monte Carlo on NetKet's samplers against enumeration; datasets and their files."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest
import scipy.stats

import netket_arnn as na
from netket_arnn.data import (
    BoltzmannDataset,
    BoltzmannWeight,
    EquilibrationWarning,
    integrated_autocorrelation_time,
    sample_boltzmann,
)

from ..data.helpers import exact_distribution
from ..models.ar_checks import chi_square_pvalue

BETA = 1.0


def sk12():
    return na.sherrington_kirkpatrick(12, seed=7)


def ferro12():
    # a ferromagnet in a field: J_ij = 1/N on a ring plus all-to-all, field 0.1 (not Curie–Weiss form)
    n = 12
    J = np.full((n, n), 0.5 / n)
    for i in range(n):
        J[i, (i + 1) % n] = J[(i + 1) % n, i] = 0.6
    np.fill_diagonal(J, 0.0)
    return na.from_couplings(J, h=0.1)


SYSTEMS = {"sk": sk12, "ferro_field": ferro12}


@pytest.mark.parametrize("sparse", [False, True])
def test_boltzmann_weight_is_minus_half_beta_energy(sparse):
    H = na.edwards_anderson(nk.graph.Hypercube(3, n_dim=2, pbc=False), seed=1, h=0.3) if sparse else sk12()
    machine = BoltzmannWeight.from_hamiltonian(H, 1.7)
    x = np.asarray(H.hilbert.random_state(nk.jax.PRNGKey(0), 64)).astype(np.int8)
    log_psi = machine.apply({"params": {}}, x)
    np.testing.assert_allclose(log_psi, -0.5 * 1.7 * np.asarray(H.energy(x)), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("method", ["metropolis", "parallel_tempering"])
@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_samples_match_enumeration(system, method):
    """Samples thinned to ~independence match p (chi-square over all 2^12 states, three seeds
    combined), pass their diagnostics, and give the exact energy and <|m|> within 3 sigma."""
    H = SYSTEMS[system]()
    _, p, thermo = exact_distribution(H, BETA)
    pvalues, datasets = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error", EquilibrationWarning)  # this data must pass its diagnostics
        for seed in range(3):
            data = sample_boltzmann(
                H,
                BETA,
                6400,
                method=method,
                n_chains=64,
                sweeps_per_sample=10,
                n_burn_in_sweeps=100,
                n_replicas=4,
                seed=seed,
            )
            assert data.passed
            pvalues.append(chi_square_pvalue(data.samples, H.hilbert, p))
            datasets.append(data)
    combined = scipy.stats.combine_pvalues(pvalues).pvalue
    assert combined > 0.01, (pvalues, combined)

    energies = np.concatenate([d.energies().reshape(d.n_chains, d.chain_length) for d in datasets])
    abs_m = np.concatenate([np.abs(d.chains.astype(np.float64).mean(axis=-1)) for d in datasets])
    for series, exact_value in ((energies, thermo.energy), (abs_m, thermo.abs_magnetization)):
        tau = max(integrated_autocorrelation_time(series), 1.0)
        error = np.sqrt(tau * series.var() / series.size)
        assert abs(series.mean() - exact_value) < 3 * error, (series.mean(), error, exact_value)
    # each dataset's own energy and error bar (its diagnostics, tau included) against enumeration
    for d in datasets:
        error = d.diagnostics.energy_error
        assert abs(d.diagnostics.energy - thermo.energy) < 4 * error, (d.diagnostics.energy, error, thermo.energy)


def test_dataset_layout_and_settings():
    H = sk12()
    with pytest.warns(EquilibrationWarning):  # 13 samples per chain are too few to vouch for
        data = sample_boltzmann(H, 0.5, 100, n_chains=8, sweeps_per_sample=2, n_burn_in_sweeps=5, seed=3)
    assert data.samples.dtype == np.int8 and data.samples.shape == (8 * 13, 12)
    assert data.n_chains == 8 and data.chain_length == 13 and data.chains.shape == (8, 13, 12)
    assert set(np.unique(data.samples)) == {-1, 1}
    assert data.beta == 0.5 and data.hamiltonian is H
    assert data.sampler["sweeps_per_sample"] == 2
    assert data.sampler["n_burn_in_sweeps"] >= 5 and data.sampler["n_burn_in_sweeps"] % 2 == 0
    assert 0 < data.sampler["acceptance"] <= 1
    with pytest.warns(EquilibrationWarning):
        again = sample_boltzmann(H, 0.5, 100, n_chains=8, sweeps_per_sample=2, n_burn_in_sweeps=5, seed=3)
    np.testing.assert_array_equal(again.samples, data.samples)  # reproducible from its seed


def test_dataset_file_round_trip(tmp_path):
    H = na.edwards_anderson(nk.graph.Hypercube(3, n_dim=2, pbc=True), seed=2, h=0.2)
    data = sample_boltzmann(H, 0.7, 16 * 128, n_chains=16, sweeps_per_sample=2, n_burn_in_sweeps=50, seed=1)
    assert data.passed
    path = tmp_path / "data.npz"
    data.save(path)
    with np.load(path) as raw:
        assert raw["samples"].dtype == np.int8
        assert int(raw["diagnostics_passed"]) == int(data.passed)
    back = BoltzmannDataset.load(path)
    np.testing.assert_array_equal(back.samples, data.samples)
    assert back.beta == data.beta and back.n_chains == data.n_chains
    assert back.fingerprint == data.fingerprint
    assert back.hamiltonian.is_sparse
    np.testing.assert_array_equal(np.asarray(back.hamiltonian.edge_weights), np.asarray(H.edge_weights))
    assert back.diagnostics == data.diagnostics and back.sampler == data.sampler
    # fingerprint only: the couplings stay out of the file
    light = BoltzmannDataset.from_chains(data.chains, 0.7, hamiltonian=H, store_couplings=False)
    light.save(tmp_path / "light.npz")
    back = BoltzmannDataset.load(tmp_path / "light.npz")
    assert back.hamiltonian is None and back.fingerprint == na.data.instance_sha256(H)
    with np.load(tmp_path / "light.npz") as raw:
        assert "couplings" not in raw and "edge_weights" not in raw


def test_failing_dataset_is_flagged_in_memory_and_on_file(tmp_path):
    """Chains started far from equilibrium and stored from the first sweep fail the drift check."""
    H = na.curie_weiss(12, J=1.0, h=0.0)
    x0 = np.ones((4, 400, 12), dtype=np.int8)
    rng = np.random.default_rng(0)
    # spins flipped one by one towards a random state: the energy drifts along the chains
    for t in range(1, 400):
        x0[:, t] = x0[:, t - 1]
        flip = rng.integers(0, 12, size=4)
        x0[np.arange(4), t, flip] = np.where(rng.random(4) < 0.5, -1, x0[np.arange(4), t, flip])
    with pytest.warns(EquilibrationWarning, match="FAILED"):
        data = BoltzmannDataset.from_chains(x0, 1.0, hamiltonian=H)
    assert data.passed is False and data.diagnostics.failures
    data.save(tmp_path / "bad.npz")
    with np.load(tmp_path / "bad.npz") as raw:
        assert int(raw["diagnostics_passed"]) == 0
    with pytest.warns(EquilibrationWarning, match="loaded"):
        BoltzmannDataset.load(tmp_path / "bad.npz")


def test_bad_input_is_named():
    H = sk12()
    with pytest.raises(ValueError, match="method"):
        sample_boltzmann(H, 1.0, 10, method="gibbs")
    with pytest.raises(ValueError, match="beta"):
        sample_boltzmann(H, -1.0, 10)
    with pytest.raises(ValueError, match="n_samples"):
        sample_boltzmann(H, 1.0, 0)
    with pytest.raises(ValueError, match="n_replicas"):
        sample_boltzmann(H, 1.0, 10, method="parallel_tempering", n_replicas=3)
    with pytest.raises(ValueError, match="replica_betas"):
        sample_boltzmann(H, 1.0, 10, method="parallel_tempering", replica_betas=[0.5, 0.25])
    with pytest.raises(TypeError, match="PairwiseIsing"):
        sample_boltzmann(nk.operator.Ising(nk.hilbert.Spin(0.5, 4), nk.graph.Chain(4), h=1.0), 1.0, 10)
    with pytest.raises(ValueError, match="spins ±1"):
        BoltzmannDataset(samples=np.zeros((3, 12)), beta=1.0)
    with pytest.raises(ValueError, match="n_chains"):
        BoltzmannDataset(samples=np.ones((5, 12)), beta=1.0, n_chains=2)
    with pytest.raises(ValueError, match="sites"):
        BoltzmannDataset.from_chains(np.ones((5, 3)), 1.0, hamiltonian=H)
    with pytest.raises(TypeError, match="dtype"):
        BoltzmannWeight.from_hamiltonian(H, 1.0, dtype=jnp.int32)


def test_every_field_of_a_dataset_survives_its_file(tmp_path):
    """Sampler settings, free-form metadata, diagnostics, Hamiltonian and samples all come back."""
    H = na.curie_weiss(6, J=1.0, h=0.2)
    chains = np.where(np.random.default_rng(4).random((3, 40, 6)) < 0.6, 1, -1).astype(np.int8)
    metadata = {"source": "unit test", "sweeps": 7, "nested": {"seed": [1, 2]}}
    sampler = {"method": "metropolis", "acceptance": 0.25}
    data = BoltzmannDataset.from_chains(chains, 0.9, hamiltonian=H, sampler=sampler, metadata=metadata, warn=False)
    data.save(tmp_path / "d.npz")
    back = BoltzmannDataset.load(tmp_path / "d.npz", warn=False)
    assert back.metadata == metadata and back.sampler == sampler
    assert back.beta == 0.9 and back.n_chains == 3 and back.fingerprint == data.fingerprint
    assert back.diagnostics == data.diagnostics
    np.testing.assert_array_equal(back.samples, data.samples)
    np.testing.assert_array_equal(np.asarray(back.hamiltonian.couplings), np.asarray(H.couplings))
    np.testing.assert_array_equal(np.asarray(back.hamiltonian.fields), np.asarray(H.fields))
