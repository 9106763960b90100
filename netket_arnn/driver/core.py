r"""What every training driver of the package shares.

- :func:`log_prob`: the normalised :math:`\log q(x) = p\,\mathrm{Re}\log\psi(x)` (:math:`p` =
  ``machine_pow``) of an autoregressive model, the one definition used by the drivers, the observables and the
  samplers;
- :func:`log_prob_and_vjp`: :math:`\log q` of a batch and the vector-Jacobian product
  :math:`g \mapsto \sum_b g_b \nabla_\theta \log q(x_b)`, through the model's fused backward
  when it has one (:func:`netket_arnn.models.fused_log_prob_vjp_of`), else NetKet's (chunked) VJP;
- :func:`non_finite`: which of a loss and its gradient is not finite;
- :class:`SerializableDriver`: ``state_dict`` / ``to_bytes`` / ``save`` / ``restore`` for
  a NetKet driver, with the check that a saved state fits this driver.
"""

from __future__ import annotations

import flax.serialization
import jax
import jax.numpy as jnp
from netket import jax as nkjax

from ..models.hooks import fused_log_prob_vjp_of
from ..models.log_prob import log_prob, machine_pow_of
from .checkpoint import check_fits

__all__ = ["SerializableDriver", "log_prob", "log_prob_and_vjp", "machine_pow_of", "non_finite"]


def log_prob_and_vjp(model, params, model_state, x, *, chunk_size=None, log_q=None):
    r""":math:`\log q` of ``x`` (shape ``(B, N)``) and its VJP ``g -> (∑_b g_b ∇_θ log q(x_b),)``.

    Traceable (call it inside :func:`jax.jit`). A model with a fused backward computes the
    product in one pass of its own, in cache-sized tiles; any other model goes through
    :func:`netket.jax.vjp`, chunked by ``chunk_size`` when given. ``log_q``, when already known
    (e.g. from the sampling pass), is returned instead of being evaluated again (except on the
    plain-VJP path, where the forward pass is needed anyway). The gradient leaves have the
    parameters' dtypes.
    """
    fused = fused_log_prob_vjp_of(model)

    def log_q_of(w, ms, batch):
        return log_prob(model, {"params": w, **ms}, batch)

    if fused is not None:
        if log_q is None:
            log_q = log_q_of(params, model_state, x)

        def vjp_fun(cotangent):
            grad = fused({"params": params, **model_state}, x, cotangent)
            return (jax.tree.map(lambda p, g: g.astype(p.dtype), params, grad),)

    elif chunk_size is None:
        primal, vjp_fun = nkjax.vjp(lambda w: log_q_of(w, model_state, x), params)
        log_q = primal if log_q is None else log_q
    else:
        if log_q is None:
            log_q = nkjax.apply_chunked(log_q_of, in_axes=(None, None, 0), chunk_size=chunk_size)(
                params, model_state, x
            )
        vjp_fun = nkjax.vjp_chunked(
            log_q_of, params, model_state, x, chunk_size=chunk_size, chunk_argnums=2, nondiff_argnums=(1, 2)
        )
    return jnp.reshape(log_q, (-1,)), vjp_fun


@jax.jit
def _all_finite(value, tree) -> tuple[jax.Array, jax.Array]:
    leaves = jax.tree.leaves(tree)
    tree_ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in leaves])) if leaves else jnp.bool_(True)
    return jnp.all(jnp.isfinite(value)), tree_ok


def non_finite(value, grad, *, loss: str = "free energy") -> str | None:
    """``None`` when the loss ``value`` and every entry of ``grad`` are finite, else what is not."""
    value_ok, grad_ok = _all_finite(value, grad)
    if not bool(value_ok):
        return loss
    if not bool(grad_ok):
        return f"gradient of the {loss}"
    return None


class SerializableDriver:
    """Checkpoint methods for a NetKet driver whose serialisable fields are flax struct fields.

    A subclass implements :meth:`_load_extra` to take back its own fields from the restored
    copy; the variational state, step count and optimizer state are restored here.
    """

    def state_dict(self) -> dict:
        """Step count, optimizer state, variational state and the driver's own serialised fields."""
        return flax.serialization.to_state_dict(self)

    def load_state_dict(self, state: dict):
        """Restore :meth:`state_dict` in place (the variational state object is kept and updated).

        Raises a ``ValueError`` naming every array whose shape or dtype differs from this
        driver's (another N, another model or another optimizer).
        """
        check_fits(self.state_dict(), state)
        restored = flax.serialization.from_state_dict(self, state)
        vs = self.state
        vs.variables = restored.state.variables
        if hasattr(vs, "sampler_state"):
            vs.sampler_state = restored.state.sampler_state
            vs.reset()
        self._step_count = int(restored._step_count)
        self._optimizer_state = restored._optimizer_state
        self._load_extra(restored)
        return self

    def _load_extra(self, restored) -> None:
        """Take this driver's own fields from ``restored`` (a copy built by :meth:`load_state_dict`)."""

    def to_bytes(self) -> bytes:
        """:meth:`state_dict` serialised with ``flax.serialization.msgpack_serialize``."""
        return flax.serialization.msgpack_serialize(self.state_dict())

    def from_bytes(self, data: bytes):
        """Restore, in place, a driver saved with :meth:`to_bytes` (same model and optimizer)."""
        return self.load_state_dict(flax.serialization.msgpack_restore(data))

    def save(self, path) -> None:
        """Write :meth:`to_bytes` to ``path``."""
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    def restore(self, path):
        """Read a file written by :meth:`save` into this driver (in place)."""
        with open(path, "rb") as f:
            return self.from_bytes(f.read())
