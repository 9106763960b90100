r"""The estimator of the variational free energy and its gradient on samples of :math:`q`.

With :math:`f_\text{loc}(x) = (H(x) + \beta^{-1}\log q(x))/N`,

.. math::

    \nabla_\theta f[q] = E_q\big[(f_\text{loc} - E_q f_\text{loc})\,\nabla_\theta\log q\big]
                       = \mathrm{Cov}_q\big(f_\text{loc},\,\nabla_\theta \log q\big),

estimated on :math:`M` independent samples by the unbiased sample covariance
:math:`\frac{1}{M-1}\sum_k (f_k - \bar f)\nabla\log q(x_k)`: one vector-Jacobian product of
:math:`\log q = 2\,\mathrm{Re}\log\psi` with cotangents
:math:`(f_k - \bar f)/(M-1)`. A model with a fused gradient (a ``log_prob_vjp`` method, e.g.
:class:`netket_arnn.models.SpinGlassARNN`) computes that product itself in one pass; any other
ARNN goes through :func:`netket.jax.vjp` (chunked with the state's ``chunk_size``).

With ``local_balance = λ > 0`` (models with a future free energy,
:mod:`netket_arnn.driver.local_balance`) the gradient gains :math:`\lambda/(2\beta N)\,\nabla B`;
one pass of the model's logits and future free energy then gives :math:`\log q`, :math:`B` and
both gradients (one vector-Jacobian product), over the whole batch at once.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ..models.base import log_q_from_logits
from ..models.hooks import fused_log_prob_vjp_of
from ..observables import iid_statistics, local_values
from .core import log_prob_and_vjp
from .local_balance import METHOD, balance_residuals, earlier_fields, imbalance

__all__ = ["free_energy_and_grad", "has_fused_gradient"]


def free_energy_and_grad(vstate, hamiltonian, beta, *, samples=None, log_q=None, local_balance: float = 0.0):
    r"""Statistics of the local values and the unbiased gradient of :math:`f[q]` on ``samples``.

    Args:
        vstate: ``MCState`` of a normalised ARNN.
        hamiltonian: classical Hamiltonian with ``energy(x)``, a jax pytree.
        beta: inverse temperature.
        samples: ``(..., N)`` independent samples of :math:`q` (default ``vstate.samples``).
        log_q: their log-probabilities, if already known (e.g. from the sampler); else the model
            is evaluated.
        local_balance: weight λ ≥ 0 of the local-balance term (module doc); > 0 needs a model
            with ``logits_and_future_log_z`` and a :class:`~netket_arnn.PairwiseIsing`, and
            evaluates the model again (``log_q`` is not used).

    Returns:
        ``(stats, grad)``: a dict of ``Stats`` (``free_energy, energy, entropy,
        abs_magnetization``) and the gradient of :math:`f[q]` w.r.t. ``vstate.parameters``
        (plus the local-balance term's).
    """
    if samples is None:
        samples = vstate.samples
    if local_balance:
        return _balanced_free_energy_and_grad(
            vstate.model, vstate.parameters, vstate.model_state, samples, hamiltonian, beta, local_balance
        )
    return _free_energy_and_grad(
        vstate.model, vstate.chunk_size, vstate.parameters, vstate.model_state, samples, log_q, hamiltonian, beta
    )


def has_fused_gradient(model) -> bool:
    r"""Whether ``model`` computes :math:`\sum_b g_b\nabla\log q(x_b)` itself (see :mod:`netket_arnn.models.hooks`)."""
    return fused_log_prob_vjp_of(model) is not None


@partial(jax.jit, static_argnums=(0, 1))
def _free_energy_and_grad(model, chunk_size, params, model_state, σ, log_q, hamiltonian, beta):
    σ = σ.reshape((-1, σ.shape[-1]))
    n_samples = σ.shape[0]
    log_q, vjp_fun = log_prob_and_vjp(model, params, model_state, σ, chunk_size=chunk_size, log_q=log_q)
    values = local_values(hamiltonian.energy(σ), log_q, σ, beta)
    stats = {name: iid_statistics(v) for name, v in values.items()}
    # Unbiased sample covariance of f_loc with ∇log q (1/(M-1), not 1/M: the baseline is
    # estimated on the same samples).
    centred = (values["free_energy"] - stats["free_energy"].mean) / (n_samples - 1)
    (grad,) = vjp_fun(centred.astype(log_q.dtype))
    return stats, grad


@partial(jax.jit, static_argnums=(0,))
def _balanced_free_energy_and_grad(model, params, model_state, σ, hamiltonian, beta, weight):
    σ = σ.reshape((-1, σ.shape[-1]))
    n_samples, n_sites = σ.shape
    x = model.spins(σ) if hasattr(model, "spins") else σ.astype(jnp.result_type(float))
    fields = earlier_fields(hamiltonian, x)

    def log_q_and_balance(p):
        u, even = model.apply({**model_state, "params": p}, x, method=getattr(model, METHOD))
        dtype = model.param_dtype
        log_q = log_q_from_logits(x, u, dtype)  # as the model's own log q
        residuals = balance_residuals(u.astype(dtype), even.astype(dtype), x.astype(dtype), fields.astype(dtype), beta)
        return log_q, imbalance(residuals)

    (log_q, balance), vjp_fun = jax.vjp(log_q_and_balance, params)
    values = local_values(hamiltonian.energy(σ), log_q, σ, beta)
    stats = {name: iid_statistics(v) for name, v in values.items()}
    centred = (values["free_energy"] - stats["free_energy"].mean) / (n_samples - 1)
    (grad,) = vjp_fun((centred.astype(log_q.dtype), jnp.asarray(weight / (2.0 * beta * n_sites), balance.dtype)))
    return stats, grad
