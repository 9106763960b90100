r"""The local-balance term: a per-site training signal from a net that also estimates its future free energy.

The variational gradient multiplies every site's :math:`\nabla\log q(x_i \mid x_{<i})` by the
same sample-wide :math:`\log q(x) + \beta H(x)`, whose fluctuations come from all :math:`N`
sites. A net whose logits are written through a learned future free energy (as
:class:`~netket_arnn.models.FrontierARNN`'s :math:`\Phi_i`) also gives, site by site, its
estimate of :math:`\log Z` of the spins still to be sampled; the exact one makes each site's
free-energy increment the same for every sample, which can be asked of each site separately.

With the logits :math:`u_i`, the even part :math:`S_i(x_{<i})` of the net's future
:math:`\log Z` (its average over the two values of :math:`x_i`, known up to a constant per
site) and the true local field of the earlier spins :math:`g_i = h_i + \sum_{k<i} J_{ki} x_k`,
the net's :math:`\log Z` of the spins after :math:`i` given :math:`x_{\le i}` is

.. math::  A_i(x_{\le i}) = S_i + \tfrac{x_i}{2}\,(u_i - 2\beta g_i),

and the residuals of its recursion :math:`A_{i-1} = \log \sum_{x_i} e^{\beta x_i g_i + A_i}`,

.. math::

    e_0 = -S_0 - \log 2\cosh\tfrac{u_0}{2},\qquad
    e_i = A_{i-1} - S_i - \log 2\cosh\tfrac{u_i}{2}\ (0 < i < N),\qquad
    e_N = A_{N-1},

telescope: :math:`\sum_{i=0}^{N} e_i = \log q(x) + \beta H(x)` (exactly, for any parameters).
At :math:`q = p` with the exact :math:`S` every :math:`e_i` is a constant, so

.. math::  B[q] = \sum_{i=0}^{N} \mathrm{Var}_q(e_i) \;\ge\; 0

vanishes there and only there; :math:`\mathrm{Var}_q(\sum_i e_i) = \mathrm{Var}_q(\log q + \beta H)`
is the variational free energy's own spread. (In the language of generative flow networks
:math:`B` is detailed balance, with the per-site constants at their optimum, the batch means.)
:class:`~netket_arnn.VariationalFreeEnergy` with ``local_balance = λ`` steps along

.. math::  \nabla_\theta f[q] + \frac{\lambda}{2\beta N}\,\nabla_\theta B, \qquad\text{samples held fixed},

in which :math:`\lambda/(2\beta N)` puts :math:`B` on the scale of :math:`f`
(:math:`\nabla\mathrm{Var}(\log q + \beta H) = 2\beta N\,\nabla f`). :math:`f[q]` stays an
upper bound on :math:`f` whatever the training; the term is a way to get there in fewer steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["balance_residuals", "earlier_fields", "imbalance", "supports_local_balance"]

METHOD = "logits_and_future_log_z"


def supports_local_balance(model) -> bool:
    """Whether ``model`` gives its future free energy (a ``logits_and_future_log_z`` method)."""
    return callable(getattr(model, METHOD, None))


def earlier_fields(hamiltonian, x: jax.Array) -> jax.Array:
    r"""``(B, N)``: :math:`g_i = h_i + \sum_{k<i} J_{ki} x_k` of a :class:`~netket_arnn.PairwiseIsing`."""
    edges = jnp.asarray(hamiltonian.edges)  # (E, 2), first < second
    contributions = jnp.asarray(hamiltonian.edge_weights, x.dtype) * x[:, edges[:, 0]]  # (B, E)
    fields = jnp.broadcast_to(jnp.asarray(hamiltonian.fields, x.dtype), x.shape)
    return fields.at[:, edges[:, 1]].add(contributions)


def balance_residuals(logits: jax.Array, even: jax.Array, x: jax.Array, fields: jax.Array, beta) -> jax.Array:
    r"""``(B, N + 1)``: the residuals :math:`e_0 \dots e_N` (module doc) from ``(B, N)`` logits :math:`u`,
    even parts :math:`S`, spins :math:`x` and earlier fields :math:`g`; their sum is :math:`\log q + \beta H`."""
    log_norm = jnp.logaddexp(0.5 * logits, -0.5 * logits)  # log 2cosh(u/2)
    after = even + 0.5 * x * (logits - 2.0 * beta * fields)  # A_i(x_≤i)
    before = jnp.concatenate([jnp.zeros_like(after[:, :1]), after[:, :-1]], axis=1)  # A_{i-1}, A_{-1} = 0
    return jnp.concatenate([before - even - log_norm, after[:, -1:]], axis=1)


def imbalance(residuals: jax.Array) -> jax.Array:
    r""":math:`B = \sum_i \mathrm{Var}(e_i)` over the batch (axis 0) of ``(B, N + 1)`` residuals."""
    return jnp.sum(jnp.var(residuals, axis=0))
