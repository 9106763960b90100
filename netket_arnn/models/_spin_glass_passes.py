r"""Planned batched passes of SK_kRSB: the same logits as the reference, within a memory budget.

:meth:`SpinGlassARNN.reference_logits` evaluates every site's chains on the full
``(B, N, N)`` first-layer tensor: simple, but :math:`O(B N^2)` memory and twice the work (the
masked lower triangle). The passes here compute the same numbers in bounded memory:

- :func:`dense_logits`: the sites are cut into an even number ``M`` of chunks of ``C`` sites;
  chunk ``c`` and chunk ``M-1-c`` are *folded* into one static ``(B, C, N_p + C)`` block (the
  columns ``l >= i`` each row needs), so one :func:`jax.lax.scan` over ``M/2`` folded pairs covers
  the upper triangle with ~no waste;
- :func:`sparse_logits`: a scan over chunks of ``C`` sites of ``(B, C, 1 + W)`` frontier blocks.

When there is more than one scan step the body is rematerialised (:func:`jax.checkpoint`): the
backward pass stores only the chunk bases of the first layer and recomputes each block. ``C`` is
the largest chunk whose estimated live numbers fit ``chunk_elements`` (else the leanest).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..nn.chains import signed_chain_sum, signed_chain_terms
from ..nn.dense import packed_index
from ..nn.sparse import FrontierLayout, frontier_fields

__all__ = ["dense_chunk_size", "dense_logits", "pad_pairs", "sparse_logits"]


def pad_pairs(p: jax.Array) -> jax.Array:
    """A zero appended to the pair axis: index ``P`` is the padding pair (its units contribute nothing)."""
    return jnp.concatenate([p, jnp.zeros(p.shape[:-1] + (1,), p.dtype)], axis=-1)


def dense_slots(rows, cols, n: int, n_pairs: int) -> jax.Array:
    """Packed pair index of ``(rows, cols)`` elementwise; ``n_pairs`` (padding) where ``cols <= rows``."""
    rows, cols = jnp.asarray(rows), jnp.asarray(cols)
    return jnp.where(cols > rows, packed_index(rows, cols, n), n_pairs).astype(jnp.int32)


def dense_chunk_size(n: int, batch: int, k: int, chunk_elements: int) -> int:
    """Sites per chunk of :func:`dense_logits`: the largest within the budget, else the leanest.

    Live numbers, roughly: the per-chunk first-layer bases, their sums and cotangents
    (``3 B N_c N_p``) plus one pair of chunks' chain intermediates and cotangents
    (``2 (4K + 2) B C (N_p + C)``).
    """
    factor = 2 * (4 * (k + 1) + 2)

    def live(size):
        n_chunks = 2 * math.ceil(n / (2 * size))
        padded = n_chunks * size
        return 3 * n_chunks * batch * padded + factor * batch * size * (padded + size)

    sizes = range(1, max(math.ceil(n / 2), 1) + 1)
    fitting = [c for c in sizes if live(c) <= chunk_elements]
    return max(fitting) if fitting else min(sizes, key=live)


def dense_logits(x, J, skip, bias, w, b, v, *, k: int, chunk_elements: int) -> jax.Array:
    r"""Dense SK_kRSB logits over *folded* pairs of site chunks, ``(B, N) -> (B, N)``.

    Sites are cut into an even number ``M`` of chunks of ``C`` rows (``N_p = M C`` with padding).
    Row ``i`` needs the columns ``l >= i`` only, so chunk ``c`` (columns ``[cC, N_p)``) and chunk
    ``M-1-c`` (columns ``[(M-1-c)C, N_p)``, stored reversed) together fill exactly ``N_p + C``
    columns. The first-layer base of each chunk, :math:`\sum_{s < cC} J_{s\cdot} x_s`, is an
    exclusive cumulative sum of per-chunk matrix products (never a difference of sums, so
    :math:`u_i` depends on :math:`x_{<i}` only, to the last bit).

    Args:
        x: ``(B, N)`` spins.
        J: ``(N, N)`` symmetric couplings.
        skip, bias: ``(N,)``.
        w, b: ``(K, 2, P)`` chain weights and biases; v: ``(2, P)`` output weights (dense pair order).
        k: RSB steps (``K = k + 1``); chunk_elements: memory budget in numbers.
    """
    batch, n = x.shape
    n_pairs_total = n * (n - 1) // 2
    size = dense_chunk_size(n, batch, k, chunk_elements)
    n_chunks = 2 * math.ceil(n / (2 * size))
    n_pairs = n_chunks // 2
    padded = n_chunks * size
    width = padded + size
    pad = padded - n
    J = jnp.pad(J, ((0, pad), (0, pad)))  # zero couplings to padding sites
    w, b, v = pad_pairs(w), pad_pairs(b), pad_pairs(v)

    x_ch = jnp.pad(x, ((0, 0), (0, pad))).reshape(batch, n_chunks, size).transpose(1, 0, 2)  # (M, B, C)
    J_ch = J.reshape(n_chunks, size, padded)  # (M, C, Np)
    sums = jnp.einsum("mbs,msl->mbl", x_ch, J_ch)  # chunk m's J_sl x_s summed over its rows
    bases = jnp.concatenate([jnp.zeros_like(sums[:1]), jnp.cumsum(sums[:-1], axis=0)])  # (M, B, Np)

    # static fold geometry: pair p holds chunk p (part 1) and chunk M-1-p (part 2, reversed)
    pair = jnp.arange(n_pairs)[:, None, None]
    r = jnp.arange(size)[None, :, None]
    t = jnp.arange(width)[None, None, :]
    start = pair * size
    first = t < padded - start  # (P, 1, width): column of part 1
    row = jnp.where(first, start + r, (n_chunks - 1 - pair) * size + r)
    col = jnp.where(first, start + t, 2 * padded - 1 - start - t)
    row, col = jnp.broadcast_arrays(row, col)  # (P, C, width)
    slots = dense_slots(row.reshape(-1), col.reshape(-1), n, n_pairs_total).reshape(n_pairs, size, width)
    slots = jnp.where((row < n) & (col < n), slots, n_pairs_total)

    def by_pair(p):  # (..., P, C, width) -> (P, ..., C, width)
        return jnp.moveaxis(p, -3, 0)

    a_ch = jnp.pad(skip, (0, pad)).reshape(n_chunks, size)
    c_ch = jnp.pad(bias, (0, pad)).reshape(n_chunks, size)
    xs = (
        x_ch[:n_pairs],
        x_ch[::-1][:n_pairs],
        J_ch[:n_pairs],
        J_ch[::-1][:n_pairs],
        bases[:n_pairs],
        bases[::-1][:n_pairs],
        jnp.stack([a_ch[:n_pairs], a_ch[::-1][:n_pairs]], axis=1),
        jnp.stack([c_ch[:n_pairs], c_ch[::-1][:n_pairs]], axis=1),
        by_pair(w[..., slots]),
        by_pair(b[..., slots]),
        by_pair(v[..., slots]),
        jnp.arange(n_pairs) * size,
    )
    diag = np.arange(size)

    def body(carry, chunk):
        x1, x2, J1, J2, base1, base2, a_p, c_p, w_p, b_p, v_p, start = chunk
        J_pair = jax.lax.dynamic_slice_in_dim(jnp.concatenate([J1, J2[:, ::-1]], axis=1), start, width, 1)
        base = jax.lax.dynamic_slice_in_dim(jnp.concatenate([base1, base2[:, ::-1]], axis=1), start, width, 1)
        first = jnp.arange(width) < padded - start
        spins = jnp.where(first, x1[:, :, None], x2[:, :, None])  # (B, C, width): x_s of each part
        terms = spins * J_pair[None]
        # exclusive prefix sum over the chunk's rows: term s never reaches row s
        before = jnp.cumsum(terms[:, :-1], axis=1)
        xi = base[:, None, :] + jnp.concatenate([jnp.zeros_like(terms[:, :1]), before], axis=1)
        # the two parts split at a block boundary: sum within blocks of C columns (one fused
        # reduction), then over the M + 1 blocks of each part (two masked sums of a small
        # array; masked sums of the full array would evaluate the chains twice)
        contrib = signed_chain_terms(xi, w_p, b_p, v_p)  # (B, C, width)
        blocks = jnp.sum(contrib.reshape(batch, size, n_chunks + 1, size), axis=-1)
        first_block = jnp.arange(n_chunks + 1) < n_chunks - start // size
        u1 = jnp.sum(jnp.where(first_block, blocks, 0.0), axis=-1) + a_p[0] * xi[:, diag, diag] + c_p[0]
        u2 = jnp.sum(jnp.where(first_block, 0.0, blocks), axis=-1) + a_p[1] * xi[:, diag, width - 1 - diag]
        return carry, (u1, u2 + c_p[1])

    if n_pairs > 1:  # rematerialise each pair in the backward pass (one pair fits the budget)
        body = jax.checkpoint(body)
    _, (u1, u2) = jax.lax.scan(body, None, xs)  # (P, B, C) each
    u = jnp.concatenate([u1, u2[::-1]], axis=0)  # chunks 0..M-1
    return u.transpose(1, 0, 2).reshape(batch, padded)[:, :n]


def sparse_logits(x, weights, layout: FrontierLayout, skip, bias, w, b, v, *, k: int, chunk_elements: int):
    r"""Sparse SK_kRSB logits, ``(B, N) -> (B, N)``: a scan over chunks of sites and their frontiers.

    Args:
        x: ``(B, N)`` spins; weights: ``(E,)`` edge couplings; layout: their frontier tables.
        skip, bias: ``(N,)``; w, b: ``(K, 2, P)``; v: ``(2, P)`` (frontier pair order).
        k: RSB steps; chunk_elements: memory budget in numbers.
    """
    batch, n = x.shape
    depth = k + 1
    width = layout.width
    n_pairs = layout.n_pairs
    db = layout.back_src.shape[1]
    # live numbers per site: gathered spins (Db per slot), chain intermediates and cotangents
    per_site = max(batch * (width + 1) * (db + 2 * (4 * depth + 2)), 1)
    size = int(min(max(int(chunk_elements) // per_site, 1), n))
    n_chunks = math.ceil(n / size)
    pad = n_chunks * size - n
    w, b, v = pad_pairs(w), pad_pairs(b), pad_pairs(v)
    # slot 0: the site itself (skip input ξ_ii); slots 1..W: its frontier
    ext = np.concatenate([np.arange(n, dtype=np.int32)[:, None], layout.cols], axis=1)
    ext = np.pad(ext, ((0, pad), (0, 0)), constant_values=n)
    slots = np.pad(layout.slot_index, ((0, pad), (0, 0)), constant_values=n_pairs)

    def chunked(p):  # (..., Np, W) -> (n_chunks, ..., C, W)
        p = p.reshape(p.shape[:-2] + (n_chunks, size, p.shape[-1]))
        return jnp.moveaxis(p, -3, 0)

    xs = (
        jnp.asarray(ext).reshape(n_chunks, size, width + 1),
        chunked(w[..., slots]),
        chunked(b[..., slots]),
        chunked(v[..., slots]),
        jnp.pad(skip, (0, pad)).reshape(n_chunks, size),
        jnp.pad(bias, (0, pad)).reshape(n_chunks, size),
        jnp.arange(n_chunks * size).reshape(n_chunks, size),
    )

    def body(carry, chunk):
        ext_c, w_c, b_c, v_c, a_c, c_c, rows_c = chunk
        xi = frontier_fields(x, weights, layout, rows_c, ext_c)  # (B, C, 1 + W)
        u = a_c * xi[..., 0] + c_c + signed_chain_sum(xi[..., 1:], w_c, b_c, v_c)
        return carry, u

    if n_chunks > 1:
        body = jax.checkpoint(body)
    _, u = jax.lax.scan(body, None, xs)
    return u.transpose(1, 0, 2).reshape(batch, n_chunks * size)[:, :n]
