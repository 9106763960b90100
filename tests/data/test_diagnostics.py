"""Equilibration diagnostics: autocorrelation time, split-R-hat and drift, on series of known law."""

from __future__ import annotations

import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.data import (
    BoltzmannDataset,
    EquilibrationWarning,
    diagnose,
    energy_drift,
    integrated_autocorrelation_time,
    split_r_hat,
)

from .helpers import PAPER_FIG6


def ar1(a: float, n_chains: int, length: int, seed: int) -> np.ndarray:
    """Stationary AR(1) chains x_t = a x_{t-1} + noise: tau = (1 + a) / (1 - a)."""
    rng = np.random.default_rng(seed)
    x = np.empty((n_chains, length))
    x[:, 0] = rng.normal(size=n_chains) / np.sqrt(1 - a * a)
    noise = rng.normal(size=(n_chains, length))
    for t in range(1, length):  # test data generator, not library code
        x[:, t] = a * x[:, t - 1] + noise[:, t]
    return x


@pytest.mark.parametrize("a", [0.0, 0.5, 0.8])
def test_autocorrelation_time_of_ar1(a):
    tau = integrated_autocorrelation_time(ar1(a, 32, 4000, seed=1))
    assert tau == pytest.approx((1 + a) / (1 - a), rel=0.1)


def test_split_r_hat_is_one_for_agreeing_chains_and_large_otherwise():
    x = ar1(0.5, 16, 2000, seed=2)
    assert split_r_hat(x) == pytest.approx(1.0, abs=0.01)
    shifted = x + np.arange(16)[:, None] * 0.5  # chains that sit at different levels
    assert split_r_hat(shifted) > 1.2
    halves = x.copy()
    halves[:, 1000:] += 1.0  # each chain moves halfway: only the split version sees it
    assert split_r_hat(halves) > 1.05  # flagged at the default threshold


def test_stationary_chains_pass():
    d = diagnose(ar1(0.6, 16, 2000, seed=3))
    assert d.passed, d.failures
    assert abs(d.drift_z) < 4 and d.effective_sample_size == pytest.approx(16 * 2000 / d.tau)


def test_drift_is_detected():
    x = ar1(0.3, 8, 1000, seed=4) * 0.1 - np.linspace(0.0, 0.2, 1000)  # slow relaxation
    first, last, z = energy_drift(x)
    assert last < first and z < -4
    assert any("drift" in f for f in diagnose(x).failures)


def test_short_chains_fail_with_a_reason():
    d = diagnose(np.zeros((100, 3)))
    assert not d.passed and "too short" in d.failures[0]


def published_energies():
    with np.load(PAPER_FIG6) as data:
        samples = data["samples"]
        beta = float(data["beta"])
    H = na.sherrington_kirkpatrick(100, seed=4)
    return H, samples, beta, np.asarray(H.energy(samples.astype(np.float64))) / 100


def test_drift_check_flags_the_published_fig6_samples():
    """The paper's Fig. 6 samples relax from e = -0.46 to -0.58: the drift check must see it."""
    H, samples, beta, e = published_energies()
    first, last, z = energy_drift(e)
    assert last < first and z < -4
    d = diagnose(e)
    assert not d.passed and any("drift" in f for f in d.failures)
    with pytest.warns(EquilibrationWarning, match="drift"):
        data = BoltzmannDataset.from_chains(samples, beta, hamiltonian=H)
    assert data.passed is False


def test_diagnostics_round_trip_as_dict():
    d = diagnose(ar1(0.2, 4, 400, seed=5))
    assert type(d).from_dict(d.as_dict()) == d
    assert d.as_dict()["passed"] is d.passed


def test_energy_error_bar_includes_the_autocorrelation_time():
    """AR(1) with a = 0.8: tau = 9 and Var = 1/(1 - a^2); the error of the mean is sqrt(tau Var / n)."""
    a, chains, length = 0.8, 32, 4000
    d = diagnose(ar1(a, chains, length, seed=6))
    tau, var = (1 + a) / (1 - a), 1 / (1 - a * a)
    assert d.tau == pytest.approx(tau, rel=0.1)
    assert d.energy_error == pytest.approx(np.sqrt(tau * var / (chains * length)), rel=0.1)
    assert d.effective_sample_size == pytest.approx(chains * length / tau, rel=0.1)


def test_drift_z_is_a_unit_normal_on_stationary_chains():
    """Over 300 independent sets of 4 stationary AR(1) chains (tau = 3) the drift z-score has unit
    spread: its error bar is that of a difference of two independent quarter means (the factor 2
    in the variance). Measured spread 0.97 .. 1.09 over five seeds; without the factor 2 it is
    sqrt(2) times larger (>= 1.37), with tau left out sqrt(3) times."""
    x = ar1(0.5, 300 * 4, 800, seed=7).reshape(300, 4, 800)
    z = np.array([energy_drift(chains)[2] for chains in x])
    assert 0.85 < np.std(z) < 1.2, np.std(z)
    assert abs(np.mean(z)) < 0.25
