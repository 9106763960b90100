r"""The normalised :math:`\log q(x)` of an autoregressive model: the one definition the package uses.

NetKet's ARNNs return :math:`\log\psi(x)` with :math:`q(x) = |\psi(x)|^{p}`, :math:`p` = ``machine_pow``, so
:math:`\log q(x) = p\,\mathrm{Re}\log\psi(x)`. The drivers, the observables and
the samplers all evaluate :math:`\log q` through :func:`log_prob`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from netket import jax as nkjax

__all__ = ["chunked_log_prob", "log_prob", "machine_pow_of"]


def machine_pow_of(model) -> float:
    """The exponent relating the model's output to its probability, log q = machine_pow · Re log ψ."""
    pow_ = getattr(model, "machine_pow", None)
    if pow_ is None:
        raise TypeError(
            f"{type(model).__name__} has no `machine_pow`: a normalised autoregressive model "
            "(nk.models.AbstractARNN subclass) must define it"
        )
    return float(pow_)


def log_prob(model, variables, x) -> jax.Array:
    r""":math:`\log q(x)` of the batch ``x`` (shape ``(B, N)``) under ``model``: shape ``(B,)``.

    Traceable; the dtype is that of the model's output (its ``param_dtype`` for the package's models).
    """
    return machine_pow_of(model) * jnp.real(model.apply(variables, x))


@partial(jax.jit, static_argnums=(0, 1))
def chunked_log_prob(model, chunk_size, variables, x) -> jax.Array:
    """:func:`log_prob` of ``x`` (shape ``(B, N)``), ``chunk_size`` samples at a time (all at once if None)."""
    if chunk_size is None:
        return log_prob(model, variables, x)
    return nkjax.apply_chunked(lambda v, b: log_prob(model, v, b), in_axes=(None, 0), chunk_size=chunk_size)(
        variables, x
    )
