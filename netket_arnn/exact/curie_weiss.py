r"""Closed forms for the Curie–Weiss model :math:`H = -(J/N)\sum_{i<j} x_i x_j - h\sum_i x_i`.

Finite :math:`N` (exact): with :math:`k` down spins, :math:`M = N - 2k` and

.. math::  Z = \sum_{k=0}^{N} \binom{N}{k}
           \exp\Big(\frac{\beta J}{2N}\big(M^2 - N\big) + \beta h M\Big),

summed with log-binomials from ``gammaln`` and a log-sum-exp, so it is accurate for
:math:`N` up to :math:`10^6` and beyond. :math:`N \to \infty`: mean-field free energy
:math:`f(m) = -Jm^2/2 - hm - s_2(m)/\beta` minimised over :math:`m = \tanh(\beta(Jm+h))`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp

from .._validation import check_beta, check_positive_int, check_real
from .thermo import Thermodynamics


def _log_weights(N: int, beta: float, J: float, h: float):
    k = np.arange(N + 1, dtype=np.float64)
    M = N - 2.0 * k
    log_binom = gammaln(N + 1.0) - gammaln(k + 1.0) - gammaln(N - k + 1.0)
    energy = -J * (M**2 - N) / (2.0 * N) - h * M
    return log_binom - beta * energy, energy, M


def curie_weiss_log_z(N: int, beta: float, J: float = 1.0, h: float = 0.0) -> float:
    """Exact :math:`\\log Z` of the N-spin Curie–Weiss model."""
    beta, J, h = check_beta(beta), check_real(J, "J"), check_real(h, "h")
    N = check_positive_int(N, "N")
    log_w, _, _ = _log_weights(N, beta, J, h)
    return float(logsumexp(log_w))


def curie_weiss_closed_form(N: int, beta: float, J: float = 1.0, h: float = 0.0) -> Thermodynamics:
    """Exact finite-N Curie–Weiss :math:`\\log Z`, f, e, s and :math:`\\langle|m|\\rangle`."""
    beta, J, h = check_beta(beta), check_real(J, "J"), check_real(h, "h")
    N = check_positive_int(N, "N")
    log_w, energy, M = _log_weights(N, beta, J, h)
    log_z = float(logsumexp(log_w))
    p = np.exp(log_w - log_z)
    e = float(p @ energy) / N
    f = -log_z / (beta * N)
    return Thermodynamics(
        n_sites=N,
        beta=beta,
        log_z=log_z,
        free_energy=f,
        energy=e,
        entropy=beta * (e - f),
        abs_magnetization=float(p @ np.abs(M)) / N,
    )


def _binary_entropy(m):
    a, b = (1.0 + m) / 2.0, (1.0 - m) / 2.0
    return -(
        np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)
        + np.where(b > 0, b * np.log(np.where(b > 0, b, 1.0)), 0.0)
    )


def curie_weiss_thermo_limit(beta: float, J: float = 1.0, h: float = 0.0) -> Thermodynamics:
    r"""Mean-field (:math:`N \to \infty`) Curie–Weiss thermodynamics.

    ``abs_magnetization`` is the spontaneous :math:`|m|` of the stable solution of
    :math:`m = \tanh(\beta(Jm + h))`; ``log_z`` is ``nan`` (only per-spin values exist).
    """
    beta, J, h = check_beta(beta), check_real(J, "J"), check_real(h, "h")

    def free(m):
        return -J * m**2 / 2.0 - h * m - _binary_entropy(m) / beta

    def gap(m):
        return m - np.tanh(beta * (J * m + h))

    # Stationary points lie in (-1, 1); bracket every sign change of the gap on a grid.
    grid = np.linspace(-1.0, 1.0, 4001)
    values = gap(grid)
    roots = [0.0] if abs(gap(0.0)) < 1e-300 else []
    for a, b, fa, fb in zip(grid[:-1], grid[1:], values[:-1], values[1:]):
        if fa == 0.0:
            roots.append(a)
        elif fa * fb < 0:
            roots.append(brentq(gap, a, b, xtol=1e-15))
    m = min(roots, key=free)
    f = float(free(m))
    e = -J * m**2 / 2.0 - h * m
    return Thermodynamics(
        n_sites=float("inf"),
        beta=beta,
        log_z=float("nan"),
        free_energy=f,
        energy=float(e),
        entropy=float(_binary_entropy(m)),
        abs_magnetization=float(abs(m)),
    )
