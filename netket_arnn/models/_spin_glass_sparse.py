r"""Planned passes of sparse SK_kRSB: site chunks of frontier blocks, batch tiles, a written-out backward.

With sparse couplings a row's units are its frontier (:mod:`netket_arnn.nn.sparse`): every row has
at most ``W`` of them, so the sites are cut into chunks of ``C`` rows and each chunk is one static
``C × (1 + W)`` block (slot 0: the skip input :math:`\xi_{ii}`; slots ``1..W``: the frontier). A
:func:`jax.lax.scan` runs over the chunks inside a scan over batch tiles of ``T`` samples, so the
arrays of a step stay in cache and nothing of size :math:`N^2` is ever built.

:func:`sparse_logits` is differentiable by JAX (chunks rematerialised). :func:`sparse_log_prob_vjp`
is the gradient of :math:`\sum_b g_b \log q(x_b)` in one pass, the chains differentiated by hand
(:func:`netket_arnn.nn.chains.chain_vjp`) and the edge couplings (when learned) through
:func:`jax.vjp` of the frontier fields of the block.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..nn.chains import chain_units, chain_vjp, log_sigmoid_and_slope, signed_outputs
from ..nn.sparse import FrontierLayout, frontier_fields
from ._layout import batch_tiles, pairs_from_slots

__all__ = ["ChunkPlan", "chunk_plan", "sparse_log_prob_vjp", "sparse_logits"]

_STEP_ELEMENTS = 1 << 18
"""Block entries ``T × C × (1 + W)`` per step aimed at: a few MiB of live arrays (the CPU caches)."""


@dataclasses.dataclass(frozen=True, eq=False)
class ChunkPlan:
    chunk: int
    n_chunks: int
    tile: int
    ext: np.ndarray
    """``(M, C, 1 + W)`` sites of each slot: the row itself, then its frontier (padding ``N``)."""
    slots: np.ndarray
    """``(M, C, W)`` frontier pair index of each slot (padding ``P``)."""
    rows: np.ndarray
    """``(M, C)`` site of each row (padding rows ``>= N``)."""


def chunk_plan(layout: FrontierLayout, batch: int, depth: int, chunk_elements: int) -> ChunkPlan:
    return _chunk_plan(layout, int(batch), int(depth), int(chunk_elements))


@functools.lru_cache(maxsize=64)
def _chunk_plan(layout: FrontierLayout, batch: int, depth: int, chunk_elements: int) -> ChunkPlan:
    n, width = layout.n_sites, layout.width
    chunk = int(np.clip(_STEP_ELEMENTS // (64 * (1 + width)), 1, n))
    per_sample = chunk * (1 + width) * (layout.back_src.shape[1] + 4 * depth + 6)
    tile = max(1, min(batch, _STEP_ELEMENTS // (chunk * (1 + width)), max(1, chunk_elements // per_sample)))
    m = math.ceil(n / chunk)
    pad = m * chunk - n
    ext = np.concatenate([np.arange(n, dtype=np.int32)[:, None], layout.cols], axis=1)
    ext = np.pad(ext, ((0, pad), (0, 0)), constant_values=n).reshape(m, chunk, 1 + width)
    slots = np.pad(layout.slot_index, ((0, pad), (0, 0)), constant_values=layout.n_pairs).reshape(m, chunk, width)
    rows = np.arange(m * chunk, dtype=np.int32).reshape(m, chunk)
    return ChunkPlan(chunk, m, tile, ext, slots, rows)


def _blocks(plan: ChunkPlan, w, b, v):
    pad_pair = lambda p: jnp.concatenate([p, jnp.zeros(p.shape[:-1] + (1,), p.dtype)], axis=-1)  # noqa: E731
    slots = jnp.asarray(plan.slots)
    return tuple(jnp.moveaxis(pad_pair(p)[..., slots], -3, 0) for p in (w, b, v))  # (M, ..., C, W)


def _per_row(plan: ChunkPlan, p):
    return jnp.pad(p, (0, plan.n_chunks * plan.chunk - p.shape[0])).reshape(plan.n_chunks, plan.chunk)


def sparse_logits(x, weights, layout: FrontierLayout, skip, bias, w, b, v, *, k: int, chunk_elements: int):
    r"""Sparse SK_kRSB logits ``(B, N)``, differentiable by JAX (chunks rematerialised).

    Args:
        x: ``(B, N)`` spins; weights: ``(E,)`` edge couplings; layout: their frontier tables;
        skip, bias: ``(N,)``; w, b: ``(K, 2, P)``; v: ``(2, P)`` (frontier pair order);
        k: RSB steps; chunk_elements: most live numbers of one step.
    """
    batch, n = x.shape
    plan = chunk_plan(layout, batch, k + 1, chunk_elements)
    xs = (
        jnp.asarray(plan.ext),
        jnp.asarray(plan.rows),
        *_blocks(plan, w, b, v),
        _per_row(plan, skip),
        _per_row(plan, bias),
    )

    def tile_step(_, xt):
        @jax.checkpoint
        def chunk_step(_, chunk):
            ext, rows, w_c, b_c, v_c, skip_c, bias_c = chunk
            xi = frontier_fields(xt, weights, layout, rows, ext)  # (T, C, 1 + W)
            outputs = chain_units(xi[..., 1:], w_c, b_c)[1]
            return None, skip_c * xi[..., 0] + bias_c + jnp.sum(signed_outputs(outputs, v_c), -1)

        _, u = jax.lax.scan(chunk_step, None, xs)  # (M, T, C)
        return None, u.transpose(1, 0, 2).reshape(xt.shape[0], -1)

    _, u = jax.lax.scan(tile_step, None, batch_tiles(x, plan.tile, fill=1))
    return u.reshape(-1, plan.n_chunks * plan.chunk)[:batch, :n]


def sparse_log_prob_vjp(
    x, weights, layout: FrontierLayout, skip, bias, w, b, v, g, *, k: int, chunk_elements: int, learn_couplings: bool
):
    r"""Gradients of :math:`\sum_b g_b \log q(x_b)` with respect to ``(weights, skip, bias, w, b, v)``.

    ``g``: ``(B,)``; the edge-weight gradient is computed only with ``learn_couplings`` (else zero).
    """
    batch, n = x.shape
    plan = chunk_plan(layout, batch, k + 1, chunk_elements)
    tiles = batch_tiles(x, plan.tile, fill=1)
    g_tiles = batch_tiles(g.astype(x.dtype), plan.tile)
    xs = (
        jnp.asarray(plan.ext),
        jnp.asarray(plan.rows),
        *_blocks(plan, w, b, v),
        _per_row(plan, skip),
        _per_row(plan, bias),
    )

    def tile_step(acc, inputs):
        xt, gt = inputs

        def chunk_step(_, chunk):
            ext, rows, w_c, b_c, v_c, skip_c, bias_c = chunk
            xi, fields_vjp = jax.vjp(lambda wts: frontier_fields(xt, wts, layout, rows, ext), weights)
            units, outputs = chain_units(xi[..., 1:], w_c, b_c)
            u = skip_c * xi[..., 0] + bias_c + jnp.sum(signed_outputs(outputs, v_c), -1)
            x_rows = jnp.concatenate([xt, jnp.ones((xt.shape[0], 1), xt.dtype)], axis=1)[:, jnp.minimum(rows, n)]
            gu = jnp.where(rows < n, gt[:, None] * x_rows * log_sigmoid_and_slope(x_rows * u)[1], 0.0)  # (T, C)
            dw, db, dv, dxi = chain_vjp(units, outputs, w_c, v_c, gu[:, :, None], wrt_input=learn_couplings)
            out = (dw, db, dv, jnp.sum(gu * xi[..., 0], axis=0), jnp.sum(gu, axis=0))
            if learn_couplings:
                d_fields = jnp.concatenate([(gu * skip_c)[..., None], dxi], axis=-1)
                out = out + fields_vjp(d_fields)
            return None, out

        _, outs = jax.lax.scan(chunk_step, None, xs)
        if learn_couplings:
            outs = (*outs[:5], jnp.sum(outs[5], axis=0))
        return jax.tree.map(jnp.add, acc, outs), None

    depth, C, m, width = k + 1, plan.chunk, plan.n_chunks, layout.width
    zeros = [
        jnp.zeros((m, depth, 2, C, width), x.dtype),
        jnp.zeros((m, depth, 2, C, width), x.dtype),
        jnp.zeros((m, 2, C, width), x.dtype),
        jnp.zeros((m, C), x.dtype),
        jnp.zeros((m, C), x.dtype),
    ]
    if learn_couplings:
        zeros.append(jnp.zeros_like(weights))
    grads, _ = jax.lax.scan(tile_step, tuple(zeros), (tiles, g_tiles))
    dw, db, dv, d_skip, d_bias = grads[:5]
    to_pairs = functools.partial(pairs_from_slots, slots=jnp.asarray(plan.slots), n_pairs=layout.n_pairs)
    d_weights = grads[5] if learn_couplings else jnp.zeros_like(weights)
    return d_weights, d_skip.reshape(-1)[:n], d_bias.reshape(-1)[:n], to_pairs(dw), to_pairs(db), to_pairs(dv)
