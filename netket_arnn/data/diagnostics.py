r"""Equilibration diagnostics of Markov-chain samples, from the energy time series of each chain.

Input: the energies per spin :math:`e_{c,t}` of ``C`` chains of ``L`` stored samples, shape
``(C, L)`` (a single sequence is ``C = 1``).

- **Integrated autocorrelation time** :math:`\tau = 1 + 2\sum_{t=1}^{W}\rho(t)`, in units of
  stored samples (:math:`\tau = 1` for independent samples; the effective sample size is
  :math:`CL/\tau`). :math:`\rho` is the autocorrelation function averaged over chains (each
  chain centred on its own mean, computed by FFT), and the window :math:`W` is the smallest
  with :math:`W \ge 5\tau(W)` (Sokal's self-consistent window, as in ``emcee``).
- **Split-R̂** (Gelman et al., *Bayesian Data Analysis*, 3rd ed., §11.4): every chain is cut in
  two halves, giving :math:`m = 2C` sequences of length :math:`n`; with :math:`W` the mean
  within-sequence variance and :math:`B/n` the variance of the sequence means,
  :math:`\hat R = \sqrt{((n-1)W/n + B/n)/W}`. It is 1 at equilibrium and larger when the halves
  or the chains disagree.
- **Energy drift**: the mean energy of the last quarter of every chain minus that of the first
  quarter, in units of its standard error,
  :math:`z = (\bar e_\text{last} - \bar e_\text{first}) / \sqrt{\sigma_\text{first}^2 + \sigma_\text{last}^2}`,
  each :math:`\sigma^2 = \tau_h\,\mathrm{Var}_h(e)/(C L/4)` with the variance and
  autocorrelation time of the second half of the chains (so an early drift does not inflate
  the error bar meant to reveal it).

A dataset *fails* when :math:`\hat R` exceeds ``max_r_hat``, :math:`|z|` exceeds
``max_drift_z``, or the chains are shorter than ``min_tau_ratio`` autocorrelation times
(then :math:`\tau` itself is unreliable).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "Diagnostics",
    "diagnose",
    "energy_drift",
    "integrated_autocorrelation_time",
    "split_r_hat",
]

DEFAULT_MAX_R_HAT = 1.05
DEFAULT_MAX_DRIFT_Z = 4.0
DEFAULT_MIN_TAU_RATIO = 50.0
MIN_CHAIN_LENGTH = 8


def _as_chains(series, name: str = "series") -> np.ndarray:
    x = np.asarray(series, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n_chains, chain_length) or (chain_length,), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def _autocorrelation(x: np.ndarray) -> np.ndarray:
    """Chain-averaged normalised autocorrelation function of ``(C, L)`` data, ``(L,)``."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(centred, n=size, axis=1)
    acov = np.fft.irfft(f * np.conjugate(f), n=size, axis=1)[:, :n].mean(axis=0)
    if acov[0] <= 0:
        return np.full(n, np.nan)
    return acov / acov[0]


def integrated_autocorrelation_time(series, window_factor: float = 5.0) -> float:
    r"""Integrated autocorrelation time :math:`\tau = 1 + 2\sum_{t=1}^{W}\rho(t)` of ``(C, L)`` data.

    In units of the spacing of the series; ``nan`` if the series is constant.
    """
    x = _as_chains(series)
    rho = _autocorrelation(x)
    if np.isnan(rho[0]):
        return math.nan
    taus = 2.0 * np.cumsum(rho) - 1.0
    ok = np.arange(len(taus)) >= window_factor * taus
    window = int(np.argmax(ok)) if np.any(ok) else len(taus) - 1
    return float(max(taus[window], 1.0 / len(taus)))


def split_r_hat(series) -> float:
    r"""Split-:math:`\hat R` of ``(C, L)`` data (``L >= 4``); ``nan`` if the series is constant."""
    x = _as_chains(series)
    n = x.shape[1] // 2
    if n < 2:
        raise ValueError(f"split-R-hat needs chains of at least 4 samples, got {x.shape[1]}")
    halves = np.concatenate([x[:, :n], x[:, -n:]], axis=0)  # the middle sample of odd chains is dropped
    within = halves.var(axis=1, ddof=1).mean()
    between = n * halves.mean(axis=1).var(ddof=1)
    if within == 0:
        return math.nan
    return float(math.sqrt(((n - 1) * within / n + between / n) / within))


def energy_drift(series) -> tuple[float, float, float]:
    """``(mean of the first quarter, mean of the last quarter, z-score of their difference)``.

    Both error bars use the variance and autocorrelation time of the second half of the chains:
    under the hypothesis tested (a stationary chain) they hold everywhere, and a drift early in
    the chains cannot inflate the error bar that is meant to reveal it.
    """
    x = _as_chains(series)
    length = x.shape[1]
    q = length // 4
    if q < 2:
        raise ValueError(f"the drift check needs chains of at least 8 samples, got {length}")
    first, last = x[:, :q], x[:, -q:]
    second_half = x[:, length - length // 2 :]
    tau = integrated_autocorrelation_time(second_half)
    tau = 1.0 if math.isnan(tau) else max(tau, 1.0)
    err = math.sqrt(2.0 * tau * second_half.var() / first.size)
    diff = float(last.mean() - first.mean())
    z = diff / err if err > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    return float(first.mean()), float(last.mean()), z


@dataclass(frozen=True)
class Diagnostics:
    """Equilibration diagnostics of the energy per spin of a set of chains (see the module doc).

    ``passed`` is False when any check fails; ``failures`` says which and why.
    """

    n_chains: int
    chain_length: int
    energy: float
    energy_error: float
    tau: float
    effective_sample_size: float
    r_hat: float
    drift_first: float
    drift_last: float
    drift_z: float
    max_r_hat: float = DEFAULT_MAX_R_HAT
    max_drift_z: float = DEFAULT_MAX_DRIFT_Z
    min_tau_ratio: float = DEFAULT_MIN_TAU_RATIO
    failures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        out = asdict(self)
        out["failures"] = list(self.failures)
        out["passed"] = self.passed
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Diagnostics:
        values = {k: v for k, v in data.items() if k != "passed"}
        values["failures"] = tuple(values.get("failures", ()))
        return cls(**values)

    def summary(self) -> str:
        state = "PASSED" if self.passed else "FAILED: " + "; ".join(self.failures)
        return (
            f"{self.n_chains} chains x {self.chain_length}: e = {self.energy:.5f} ± {self.energy_error:.5f}, "
            f"tau = {self.tau:.2f} samples, ESS = {self.effective_sample_size:.0f}, split-R = {self.r_hat:.4f}, "
            f"drift {self.drift_first:.5f} -> {self.drift_last:.5f} (z = {self.drift_z:+.2f}); {state}"
        )


def diagnose(
    energies,
    *,
    max_r_hat: float = DEFAULT_MAX_R_HAT,
    max_drift_z: float = DEFAULT_MAX_DRIFT_Z,
    min_tau_ratio: float = DEFAULT_MIN_TAU_RATIO,
) -> Diagnostics:
    """Diagnostics of ``(C, L)`` energies per spin; see the module doc for the checks.

    Chains shorter than 8 samples cannot be diagnosed: they fail, with every statistic ``nan``.
    """
    x = _as_chains(energies, "energies")
    n_chains, length = x.shape
    if length < MIN_CHAIN_LENGTH:
        nan = math.nan
        return Diagnostics(
            n_chains=int(n_chains),
            chain_length=int(length),
            energy=float(x.mean()),
            energy_error=nan,
            tau=nan,
            effective_sample_size=nan,
            r_hat=nan,
            drift_first=nan,
            drift_last=nan,
            drift_z=nan,
            max_r_hat=float(max_r_hat),
            max_drift_z=float(max_drift_z),
            min_tau_ratio=float(min_tau_ratio),
            failures=(f"chains of {length} samples are too short to diagnose (need >= {MIN_CHAIN_LENGTH})",),
        )
    tau = integrated_autocorrelation_time(x)
    r_hat = split_r_hat(x)
    first, last, z = energy_drift(x)
    failures = []
    if math.isnan(tau) or math.isnan(r_hat):
        failures.append("the energy is constant along every chain: chains stuck or a single state")
        tau_eff = 1.0
    else:
        tau_eff = tau
        if r_hat > max_r_hat:
            failures.append(f"split-R-hat = {r_hat:.4f} > {max_r_hat}: chains (or their halves) disagree")
        if length < min_tau_ratio * tau:
            failures.append(
                f"chains of {length} samples are shorter than {min_tau_ratio:g} autocorrelation times "
                f"(tau = {tau:.1f}): not enough independent samples per chain"
            )
    if abs(z) > max_drift_z:
        failures.append(
            f"energy drift {first:.5f} -> {last:.5f} between first and last quarters (z = {z:+.1f}, "
            f"|z| > {max_drift_z:g}): not equilibrated"
        )
    return Diagnostics(
        n_chains=int(n_chains),
        chain_length=int(length),
        energy=float(x.mean()),
        energy_error=float(math.sqrt(tau_eff * x.var() / x.size)),
        tau=float(tau),
        effective_sample_size=float(x.size / tau_eff),
        r_hat=float(r_hat),
        drift_first=first,
        drift_last=last,
        drift_z=float(z),
        max_r_hat=float(max_r_hat),
        max_drift_z=float(max_drift_z),
        min_tau_ratio=float(min_tau_ratio),
        failures=tuple(failures),
    )
