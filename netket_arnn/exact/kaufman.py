r"""Kaufman's closed form for the periodic :math:`L \times W` nearest-neighbour ferromagnet.

For :math:`H = -J\sum_{\langle ij\rangle} x_i x_j` on the torus with :math:`L` rows and
:math:`W` columns (no field, :math:`K = \beta J > 0`), Kaufman (1949) gives

.. math::  Z = \tfrac12\,(2\sinh 2K)^{LW/2}\,(Z_1 + Z_2 + Z_3 + Z_4),

.. math::  Z_{1,2} = \prod_{r=0}^{W-1} 2\,\{\cosh,\sinh\}\big(\tfrac L2 \gamma_{2r+1}\big), \qquad
           Z_{3,4} = \prod_{r=0}^{W-1} 2\,\{\cosh,\sinh\}\big(\tfrac L2 \gamma_{2r}\big),

with :math:`\cosh\gamma_l = \cosh 2K \coth 2K - \cos(\pi l / W)` (:math:`\gamma_l > 0`) for
:math:`l \ge 1` and the signed :math:`\gamma_0 = 2K + \log\tanh K`, negative below
:math:`K_c = \tfrac12\log(1+\sqrt2)`: there :math:`Z_4 < 0`, and :math:`Z_4 = 0` at
:math:`K_c`. The four products are summed in log space (log-magnitudes and signs, a signed
log-sum-exp), with :math:`\gamma_l = \operatorname{arccosh}(1 + \epsilon_l)` computed from
:math:`\epsilon_l = (\sinh 2K - 1)^2/\sinh 2K + 2\sin^2(\pi l / 2W)` so that no precision is
lost near :math:`K_c`.

The energy is the analytic derivative :math:`\langle H\rangle = -J\,\partial_K \log Z`, with
:math:`\gamma_l' = \partial_K\cosh\gamma_l / \sinh\gamma_l` for :math:`l \ge 1` and
:math:`\gamma_0' = 2 + 2/\sinh 2K`; the :math:`l = 0` factor of :math:`Z_4` is differentiated
as :math:`L\gamma_0'\cosh(L\gamma_0/2)`, so the derivative stays finite where :math:`Z_4`
vanishes. Accuracy: a few units of :math:`10^{-14}` relative in :math:`\log Z` and :math:`e`.
The distribution of the magnetisation is not part of the closed form: ``abs_magnetization``
is ``nan``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import check_beta, check_positive_int, check_real
from ..operators import PairwiseIsing
from .lattice import lattices_of, nonzero_pairs
from .thermo import Thermodynamics

__all__ = ["KAUFMAN_MAX_COUPLING", "kaufman_closed_form", "kaufman_log_z", "kaufman_parameters"]

KAUFMAN_MAX_COUPLING = 300.0
r"""Largest :math:`K = \beta J` the closed form accepts (beyond, :math:`\sinh 2K` overflows)."""


def _check(L, W, beta, J) -> tuple[int, int, float, float]:
    L, W = check_positive_int(L, "L"), check_positive_int(W, "W")
    beta, J = check_beta(beta), check_real(J, "J")
    if L < 3 or W < 3:
        raise ValueError(
            f"Kaufman's closed form is for a torus with L, W >= 3 (an extent-2 ring would repeat its bond); "
            f"got {L} x {W}"
        )
    if J <= 0:
        raise ValueError(f"Kaufman's closed form needs a ferromagnetic coupling J > 0, got J = {J}")
    if beta * J > KAUFMAN_MAX_COUPLING:
        raise ValueError(f"beta * J must be <= KAUFMAN_MAX_COUPLING = {KAUFMAN_MAX_COUPLING}, got {beta * J}")
    return L, W, beta, J


def _log_cosh(x):
    x = np.abs(x)
    return x + np.log1p(np.exp(-2.0 * x)) - np.log(2.0)


def _log_abs_sinh(x):
    x = np.abs(x)
    with np.errstate(divide="ignore"):
        return x + np.log(-np.expm1(-2.0 * x)) - np.log(2.0)


def _terms(L: int, W: int, K: float):
    """Log-magnitudes, signs and K-derivatives of the log-magnitudes of the four products,
    and :math:`\\partial_K \\log` of the prefactor."""
    s2 = np.sinh(2.0 * K)
    c2 = np.cosh(2.0 * K)
    l = np.arange(2 * W)
    eps = (s2 - 1.0) * ((s2 - 1.0) / s2) + 2.0 * np.sin(np.pi * l / (2.0 * W)) ** 2
    gamma = np.log1p(eps + np.sqrt(eps) * np.sqrt(eps + 2.0))
    gamma[0] *= np.sign(s2 - 1.0)
    # d cosh(gamma)/dK = 2 cosh 2K (1 - 1/sinh^2 2K); divided by sinh(gamma) for l >= 1.
    dgamma = np.empty_like(gamma)
    dgamma[1:] = 2.0 * c2 * (1.0 - 1.0 / s2**2) / (np.sqrt(eps[1:]) * np.sqrt(eps[1:] + 2.0))
    dgamma[0] = 2.0 + 2.0 / s2
    x = 0.5 * L * gamma
    dx = 0.5 * L * dgamma
    odd, even = slice(1, None, 2), slice(0, None, 2)
    log_cosh, log_sinh = _log_cosh(x), _log_abs_sinh(x)
    tanh, coth_rest = np.tanh(x), 1.0 / np.tanh(x[1:])
    log_mag = np.array(
        [
            W * np.log(2.0) + log_cosh[odd].sum(),
            W * np.log(2.0) + log_sinh[odd].sum(),
            W * np.log(2.0) + log_cosh[even].sum(),
            W * np.log(2.0) + log_sinh[even].sum(),
        ]
    )
    sign = np.array([1.0, 1.0, 1.0, np.sign(x[0])])
    # d log|Z_i|/dK; for Z_4 the l = 0 factor is kept apart (its log-derivative diverges at K_c).
    dlog = np.array(
        [
            (dx[odd] * tanh[odd]).sum(),
            (dx[odd] / np.tanh(x[odd])).sum(),
            (dx[even] * tanh[even]).sum(),
            (dx[2::2] * coth_rest[1::2]).sum(),
        ]
    )
    # Z_4' = Z_4 * dlog[3] + [prod_{r >= 1} 2 sinh(x_2r)] * 2 * dx_0 * cosh(x_0), in log space.
    log_z4_rest = (W - 1) * np.log(2.0) + log_sinh[2::2].sum()
    log_extra = log_z4_rest + np.log(2.0 * dx[0]) + log_cosh[0]
    prefactor_log = 0.5 * L * W * (np.log(2.0) + np.log(s2))
    prefactor_dlog = L * W * c2 / s2
    return log_mag, sign, dlog, log_extra, prefactor_log, prefactor_dlog


def kaufman_log_z(L: int, W: int, beta: float, J: float = 1.0) -> float:
    r""":math:`\log Z` of the periodic :math:`L \times W` ferromagnet (Kaufman's closed form), any size."""
    L, W, beta, J = _check(L, W, beta, J)
    log_mag, sign, _, _, prefactor_log, _ = _terms(L, W, beta * J)
    log_sum, sum_sign = logsumexp(log_mag, b=sign, return_sign=True)
    if sum_sign <= 0:  # Z_1 > |Z_4| always; a failure here is a bug, not an input problem
        raise ArithmeticError(f"Kaufman's four-term sum is not positive at L={L}, W={W}, beta*J={beta * J}")
    return float(np.log(0.5) + prefactor_log + log_sum)


def kaufman_closed_form(L: int, W: int, beta: float, J: float = 1.0) -> Thermodynamics:
    r"""Exact :math:`\log Z`, :math:`f`, :math:`e`, :math:`s` of the periodic :math:`L \times W`
    ferromagnet :math:`H = -J\sum_{\langle ij\rangle} x_i x_j` (no field, :math:`J > 0`).

    Kaufman's closed form (see the module documentation), any :math:`L, W \ge 3`, cost
    :math:`O(W)`; :math:`e` is the analytic :math:`\beta`-derivative of :math:`\log Z`.
    ``abs_magnetization`` is ``nan``: the closed form has no magnetisation distribution.
    """
    L, W, beta, J = _check(L, W, beta, J)
    log_mag, sign, dlog, log_extra, prefactor_log, prefactor_dlog = _terms(L, W, beta * J)
    log_sum, sum_sign = logsumexp(log_mag, b=sign, return_sign=True)
    if sum_sign <= 0:
        raise ArithmeticError(f"Kaufman's four-term sum is not positive at L={L}, W={W}, beta*J={beta * J}")
    weights = sign * np.exp(log_mag - log_sum)  # Z_i / sum
    dlog_sum = weights @ dlog + np.exp(log_extra - log_sum)
    n = L * W
    log_z = float(np.log(0.5) + prefactor_log + log_sum)
    energy = float(-J * (prefactor_dlog + dlog_sum) / n)
    return Thermodynamics.from_log_z(n, beta, log_z, energy)


def kaufman_parameters(H: PairwiseIsing) -> tuple[int, int, float] | None:
    r"""``(L, W, J)`` if ``H`` is the periodic :math:`L \times W` ferromagnet of Kaufman's closed form, else ``None``.

    That is: no field, and exactly the :math:`2LW` bonds of the torus (raster order, site
    ``i * W + j``, :math:`L, W \ge 3`), all with the same coupling :math:`J > 0`. Exact
    comparisons, no tolerance.
    """
    fields = np.asarray(H.fields)
    if np.any(fields != 0):
        return None
    _, _, weights = nonzero_pairs(H)
    n = H.n_sites
    if len(weights) != 2 * n or not np.all(weights == weights[0]) or weights[0] <= 0:
        return None
    for lattice in lattices_of(H):
        # 2N distinct bonds on a torus with L, W >= 3 are all of its bonds.
        if lattice.periodic_W and lattice.periodic_L and lattice.L >= 3 and lattice.W >= 3:
            return lattice.L, lattice.W, float(weights[0])
    return None
