r"""The specific heat per spin from the energy fluctuations, :math:`c = \beta^2\,\mathrm{Var}(E)/N`.

From :math:`M` independent samples of :math:`E`, :math:`\hat c = \beta^2 \hat\sigma^2/N` with the
unbiased sample variance :math:`\hat\sigma^2`. Its standard error is the delta-method one of a
sample variance,

.. math:: \delta\hat\sigma^2 = \sqrt{\big(\hat\mu_4 - \tfrac{M-3}{M-1}\hat\sigma^4\big)/M},

with the fourth central moment :math:`\hat\mu_4` (exact for independent samples to leading order
in :math:`1/M`; it does not assume Gaussian energies, which matters near a transition where
:math:`E` is bimodal). Under samples of :math:`q` this is the specific heat of :math:`q`, which
equals that of :math:`p` when :math:`q = p`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._validation import check_beta

__all__ = ["specific_heat"]


@jax.jit
def _moments(energies):
    e = jnp.real(jnp.reshape(energies, (-1,)))
    m = e.shape[0]
    centred = e - jnp.mean(e)
    variance = jnp.sum(centred**2) / (m - 1)
    mu4 = jnp.mean(centred**4)
    var_of_variance = (mu4 - (m - 3) / (m - 1) * variance**2) / m
    return variance, jnp.sqrt(jnp.maximum(var_of_variance, 0.0))


def specific_heat(energies, beta: float, n_sites: int) -> tuple[float, float]:
    r"""``(c, error)``: :math:`\beta^2\,\widehat{\mathrm{Var}}(E)/N` of ``(M,)`` total energies and its standard error.

    ``M >= 2``; the error is ``nan`` for ``M < 4``. ``energies`` may be sharded over devices or
    processes: the reductions are global.
    """
    beta = check_beta(beta)
    m = int(jnp.size(energies))
    if m < 2:
        raise ValueError(f"the specific heat needs at least 2 energies (a variance), got {m}")
    variance, variance_error = _moments(energies)
    scale = beta**2 / n_sites
    # below 4 samples the fourth moment says nothing: no error bar rather than a wrong one
    return float(scale * variance), float(scale * variance_error) if m >= 4 else float("nan")
