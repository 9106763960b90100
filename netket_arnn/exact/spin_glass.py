r"""Thermodynamic-limit replica solutions of the Sherrington–Kirkpatrick model (h = 0).

With :math:`J_{ij} \sim \mathcal N(0, J^2/N)` and :math:`\beta' = \beta J`, and
Gaussian averages :math:`\int Dz`:

RS:   :math:`-\beta f = \log 2 + \frac{\beta'^2}{4}(1-q)^2 + \int Dz \log\cosh(\beta'\sqrt q z)`,
      with :math:`q = \int Dz \tanh^2(\beta'\sqrt q z)` (:math:`q = 0` for :math:`\beta' \le 1`).

1RSB (:math:`q_0 = 0` at zero field):

.. math::  -\beta f = \log 2 + \frac{\beta'^2}{4}\big(1 - 2q_1 + (1-m) q_1^2\big)
                     + \frac1m \log \int Dy \cosh^m(\beta' \sqrt{q_1} y),

at its stationary point in :math:`(q_1, m)`, which is a maximum of :math:`f`
(the replica limit :math:`n \to 0` turns the saddle into a maximum). Energies come
from :math:`e = \partial(\beta f)/\partial\beta` (envelope theorem, central
differences), entropies from :math:`s = \beta(e - f)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import logsumexp

from .._validation import check_beta

# Uniform grid for Gaussian averages: trapezoid sums are spectrally accurate for these
# smooth, Gaussian-damped integrands as long as the grid resolves the width 1/(β√q).
_Z = np.linspace(-12.0, 12.0, 12001)
_W = np.exp(-0.5 * _Z**2)
_W /= _W.sum()
_LOG_W = np.log(_W)


@dataclass(frozen=True)
class ReplicaSolution:
    """Per-spin thermodynamics of a replica ansatz at one β, with its order parameters."""

    beta: float
    free_energy: float
    energy: float
    entropy: float
    q0: float
    q1: float
    m: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _log_cosh(u):
    return np.logaddexp(u, -u) - np.log(2.0)


def _rs_minus_beta_f(b: float, q: float) -> float:
    return np.log(2.0) + b**2 / 4.0 * (1.0 - q) ** 2 + _W @ _log_cosh(b * np.sqrt(q) * _Z)


def _rs_overlap(b: float) -> float:
    if b <= 1.0:
        return 0.0

    def gap(q):
        return q - _W @ np.tanh(b * np.sqrt(q) * _Z) ** 2

    return brentq(gap, 1e-12, 1.0, xtol=1e-15)


def _one_rsb_minus_beta_f(b: float, q1: float, m: float) -> float:
    tilted = logsumexp(_LOG_W + m * _log_cosh(b * np.sqrt(q1) * _Z))
    return np.log(2.0) + b**2 / 4.0 * (1.0 - 2.0 * q1 + (1.0 - m) * q1**2) + tilted / m


def _one_rsb_saddle(b: float) -> tuple[float, float, float]:
    """``(-βf, q1, m)`` at the 1RSB stationary point (the maximum of f)."""
    q_rs = _rs_overlap(b)
    if q_rs == 0.0:
        return _rs_minus_beta_f(b, 0.0), 0.0, 1.0
    best = None
    for m0 in (0.2, 0.5, 0.9 / b):
        res = minimize(
            lambda p: _one_rsb_minus_beta_f(b, p[0], p[1]),  # min of -βf = max of f
            x0=[min(q_rs * 1.05, 1 - 1e-9), min(m0, 0.99)],
            bounds=[(1e-10, 1.0 - 1e-12), (1e-6, 1.0)],
            method="L-BFGS-B",
            options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    return float(best.fun), float(best.x[0]), float(best.x[1])


def _solution(minus_beta_f, beta: float, J: float, q1, m) -> ReplicaSolution:
    b = beta * J
    step = 1e-5 * max(b, 1.0)
    # e = d(βf)/dβ; in reduced units βf depends on β' = βJ only, so e = J·d(βf)/dβ'.
    energy = -J * (minus_beta_f(b + step) - minus_beta_f(b - step)) / (2 * step)
    free_energy = -minus_beta_f(b) / beta
    return ReplicaSolution(
        beta=beta,
        free_energy=float(free_energy),
        energy=float(energy),
        entropy=float(beta * (energy - free_energy)),
        q0=0.0,
        q1=float(q1),
        m=float(m),
    )


def sk_replica_symmetric(beta: float, J: float = 1.0) -> ReplicaSolution:
    r"""Replica-symmetric SK solution (per spin, :math:`N\to\infty`, zero field).

    ``q1`` holds the RS overlap :math:`q` and ``m = 1``.
    """
    beta = check_beta(beta)
    J = check_beta(J, "J")
    q = _rs_overlap(beta * J)
    return _solution(lambda b: _rs_minus_beta_f(b, _rs_overlap(b)), beta, J, q, 1.0)


def sk_one_step_rsb(beta: float, J: float = 1.0) -> ReplicaSolution:
    """One-step RSB SK solution (per spin, :math:`N\\to\\infty`, zero field, :math:`q_0 = 0`)."""
    beta = check_beta(beta)
    J = check_beta(J, "J")
    _, q1, m = _one_rsb_saddle(beta * J)
    return _solution(lambda b: _one_rsb_saddle(b)[0], beta, J, q1, m)
