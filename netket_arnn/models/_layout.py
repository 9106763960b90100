"""Reading a site's hidden units out of a packed, site-ragged axis (H2ARNN, CW_N)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["masked_logsumexp", "site_window"]


def site_window(start, width, window: int, total: int):
    r"""A static-size window over a packed, site-ragged array of hidden units.

    Several models pack the hidden units of all sites one after the other: site ``i`` owns
    the ``width`` units ``[start, start + width)`` of a ``total``-long axis, with widths that
    vary by site. During sampling the site is a traced index, so its units are read through a
    window of the static size ``window >= width`` (the largest width). The window start is
    clamped so it never runs past ``total``; the returned mask tells which window positions are
    the site's own units, and ``k`` is each position's index *within* the site.

    Returns:
        ``(offset, valid, k)``: the window start for :func:`jax.lax.dynamic_slice`, a
        ``(window,)`` boolean mask and the ``(window,)`` int32 local unit indices (meaningful
        where ``valid``).
    """
    start = jnp.asarray(start).astype(jnp.int32)
    offset = jnp.minimum(start, total - window).astype(jnp.int32)
    k = offset + jnp.arange(window, dtype=jnp.int32) - start
    valid = (k >= 0) & (k < width)
    return offset, valid, k


def masked_logsumexp(values: jax.Array, valid: jax.Array, axis: int = -1) -> jax.Array:
    """Log-sum-exp over ``axis`` of the entries where ``valid`` (at least one must be)."""
    return jax.nn.logsumexp(jnp.where(valid, values, -jnp.inf), axis=axis)
