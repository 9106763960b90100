"""Non-finite steps: detecting them, and the scaled update used after a rollback.

The policy itself (``on_nan="raise"`` or ``"rollback"``) is applied by
:class:`~netket_arnn.VariationalFreeEnergy`; this module holds its pieces.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import optax

__all__ = ["ON_NAN", "DivergenceError", "RollbackWarning", "apply_scaled_gradient", "non_finite"]

ON_NAN = ("raise", "rollback")


class DivergenceError(FloatingPointError):
    """The free energy or its gradient stopped being finite (see ``on_nan`` of the driver)."""


class RollbackWarning(UserWarning):
    """A non-finite step was undone and the learning rate halved (``on_nan="rollback"``)."""


@jax.jit
def _all_finite(value, tree) -> tuple[jax.Array, jax.Array]:
    leaves = jax.tree.leaves(tree)
    grad_ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in leaves])) if leaves else jnp.bool_(True)
    return jnp.isfinite(value), grad_ok


def non_finite(value, grad) -> str | None:
    """``None`` when the loss ``value`` and every entry of ``grad`` are finite, else what is not."""
    value_ok, grad_ok = _all_finite(value, grad)
    if not bool(value_ok):
        return "free energy"
    if not bool(grad_ok):
        return "gradient of the free energy"
    return None


@partial(jax.jit, static_argnums=0)
def apply_scaled_gradient(optimizer_update, optimizer_state, dp, params, scale):
    """One optax step whose updates are multiplied by ``scale`` (a smaller learning rate).

    For every optax optimizer whose update is proportional to its learning rate (SGD, Adam,
    ...), scaling the updates is scaling the learning rate, without changing the optimizer or
    the layout of its state.
    """
    updates, new_state = optimizer_update(dp, optimizer_state, params)
    updates = jax.tree.map(lambda u: u * jnp.asarray(scale, u.dtype), updates)
    return new_state, optax.apply_updates(params, updates)
