"""Layouts of the planned passes: a site's hidden units read out of a packed, site-ragged axis
(H2ARNN, CW_N), and the batch tiles and pair slots of the SK_kRSB passes (dense and sparse)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["batch_tiles", "masked_logsumexp", "pairs_from_slots", "site_window"]


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


def batch_tiles(a: jax.Array, tile: int, fill=0) -> jax.Array:
    """``(B, ...) -> (⌈B/tile⌉, tile, ...)``: the batch cut into tiles, the last one padded with ``fill``."""
    n_tiles = -(-a.shape[0] // tile)
    padding = [(0, n_tiles * tile - a.shape[0])] + [(0, 0)] * (a.ndim - 1)
    return jnp.pad(a, padding, constant_values=fill).reshape(n_tiles, tile, *a.shape[1:])


def pairs_from_slots(t: jax.Array, slots, n_pairs: int) -> jax.Array:
    """``(M, ..., C, W) -> (..., P)``: block slots summed into their pairs.

    ``slots`` ``(M, C, W)`` holds each slot's pair index, ``n_pairs`` (= P) where the slot holds
    no pair: those padding slots collect what is dropped.
    """
    t = jnp.moveaxis(t, 0, -3)
    return jnp.zeros(t.shape[:-3] + (n_pairs + 1,), t.dtype).at[..., slots].add(t)[..., :n_pairs]
