r"""Planned passes of dense SK_kRSB: folded site chunks, batch tiles, and a written-out backward.

:meth:`SpinGlassARNN.reference_logits` evaluates every site's chains on the full ``(B, N, N)``
first-layer tensor: simple, but :math:`O(B N^2)` memory and twice the work. The passes here
compute the same numbers in cache-sized pieces:

- the sites are cut into an even number ``M`` of chunks of ``C`` rows, and chunk ``p`` is *folded*
  with chunk ``M-1-p`` into one static ``C × (N_p + C)`` block that holds exactly the columns
  ``l >= i`` of their rows, so one :func:`jax.lax.scan` over the ``M/2`` folds covers the upper
  triangle with ~no waste, and every row's whole logit lies in its own fold;
- the batch is cut into tiles of ``T`` samples (an outer scan), so a step's arrays stay in cache;
- the first-layer inputs of a fold, :math:`\xi_{il} = \text{base}_c(l) + \sum_{cC \le s < i}
  J_{sl} x_s`, come from the chunk bases (an exclusive cumulative sum of per-chunk products,
  never a difference of sums: :math:`u_i` depends on :math:`x_{<i}` only, to the last bit) and a
  prefix over the chunk's rows.

:func:`dense_logits` is differentiable by JAX (each fold is rematerialised in the backward pass,
so nothing of size :math:`B N^2` is stored). :func:`dense_log_prob_vjp` is the gradient of
:math:`\sum_b g_b \log q(x_b)` in one pass: per fold, the units are evaluated once, the rows'
logits and :math:`\partial \log q/\partial u_i = x_i \sigma(-x_i u_i)` follow, and the chains are
differentiated by hand (:func:`netket_arnn.nn.chains.chain_vjp`), the parameter gradients summed
over the tile; the linear first layer (when learned) goes through :func:`jax.vjp` of its small
per-fold construction.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..nn.chains import chain_units, chain_vjp, log_sigmoid_and_slope, signed_outputs
from ..nn.dense import packed_index
from ._layout import batch_tiles, pairs_from_slots

__all__ = ["FoldPlan", "dense_log_prob_vjp", "dense_logits", "fold_plan"]

_STEP_ELEMENTS = 1 << 18
"""Block entries ``T × C × (N_p + C)`` per step aimed at: a few MiB of live arrays (the CPU caches)."""


@dataclasses.dataclass(frozen=True, eq=False)
class FoldPlan:
    """Static geometry of the folded blocks and batch tiles (see the module doc)."""

    n_sites: int
    chunk: int
    n_chunks: int
    tile: int
    slots: np.ndarray
    """``(M/2, C, N_p + C)`` packed pair index of each block entry, ``P`` where it has no units."""

    @property
    def padded(self) -> int:
        return self.n_chunks * self.chunk

    @property
    def width(self) -> int:
        return self.padded + self.chunk

    @property
    def n_folds(self) -> int:
        return self.n_chunks // 2


@functools.lru_cache(maxsize=64)
def fold_plan(n: int, batch: int, depth: int, chunk_elements: int) -> FoldPlan:
    """The folds of ``n`` sites and the batch tile: about :data:`_STEP_ELEMENTS` block entries per
    step, and at most ``chunk_elements`` live numbers (block entries times the chains' arrays)."""
    chunk = int(np.clip(math.ceil(n / 20), 1, 16))
    m = 2 * math.ceil(n / (2 * chunk))
    npad = m * chunk
    width = npad + chunk
    per_sample = chunk * width
    live = per_sample * (4 * depth + 6)  # units, slopes, cotangents of both signs and the inputs
    tile = max(1, min(batch, _STEP_ELEMENTS // per_sample, max(1, chunk_elements // live)))
    p = np.arange(m // 2)[:, None, None]
    r = np.arange(chunk)[None, :, None]
    t = np.arange(width)[None, None, :]
    start = p * chunk
    first = t < npad - start
    rows = np.where(first, start + r, (m - 1 - p) * chunk + r)
    cols = np.where(first, start + t, 2 * npad - 1 - start - t)
    rows, cols = np.broadcast_arrays(rows, cols)
    valid = (cols > rows) & (cols < n) & (rows < n)
    slots = np.where(valid, packed_index(rows, cols, n), n * (n - 1) // 2).astype(np.int32)
    return FoldPlan(n, chunk, m, tile, slots)


class _Folded:
    """The folded layout of one call: couplings by chunk, parameters by fold."""

    def __init__(self, plan: FoldPlan, J, w, b, v):
        n, C, m, npad = plan.n_sites, plan.chunk, plan.n_chunks, plan.padded
        self.plan = plan
        self.J_rows = jnp.pad(J, ((0, npad - n), (0, npad - n))).reshape(m, C, npad)  # padding couples to nothing
        slots = jnp.asarray(plan.slots)
        pad_pair = lambda p: jnp.concatenate([p, jnp.zeros(p.shape[:-1] + (1,), p.dtype)], axis=-1)  # noqa: E731
        self.blocks = tuple(jnp.moveaxis(pad_pair(p)[..., slots], -3, 0) for p in (w, b, v))  # (M/2, ..., C, W)
        self.starts = jnp.arange(plan.n_folds) * C

    def chunks(self, a):
        """``(T, N_p) -> (M, T, C)``."""
        return a.reshape(a.shape[0], self.plan.n_chunks, self.plan.chunk).transpose(1, 0, 2)

    def pair(self, a):
        """``(M, ...) -> (M/2, 2, ...)``: chunk ``p`` and chunk ``M-1-p`` of each fold."""
        h = self.plan.n_folds
        return jnp.stack([a[:h], a[::-1][:h]], axis=1)

    def unpair(self, a):
        """``(M/2, 2, ...) -> (M, ...)`` in chunk order."""
        return jnp.concatenate([a[:, 0], a[::-1][:, 1]], axis=0)

    @staticmethod
    def bases(J_rows, xc):
        r"""``(M, T, N_p)``: :math:`\sum_{s < cC} J_{s\cdot} x_s` of each chunk (exclusive sum of chunk products)."""
        sums = jnp.einsum("mtc,mcl->mtl", xc, J_rows)
        return jnp.concatenate([jnp.zeros_like(sums[:1]), jnp.cumsum(sums[:-1], axis=0)], axis=0)

    def first_part(self, start):
        """``(W,)``: the block's columns that belong to chunk ``p`` (the rest to chunk ``M-1-p``)."""
        return jnp.arange(self.plan.width) < self.plan.padded - start

    def fields(self, J_f, base_f, x_f, start):
        r"""``(T, C, W)`` :math:`\xi` of one fold from its parts' couplings, bases and spins."""
        width = self.plan.width
        J_pair = jax.lax.dynamic_slice_in_dim(jnp.concatenate([J_f[0], J_f[1][:, ::-1]], axis=1), start, width, 1)
        base = jax.lax.dynamic_slice_in_dim(jnp.concatenate([base_f[0], base_f[1][:, ::-1]], axis=1), start, width, 1)
        spins = jnp.where(self.first_part(start), x_f[0][:, :, None], x_f[1][:, :, None])  # (T, C, W)
        terms = spins * J_pair[None]
        prefix = jnp.concatenate([jnp.zeros_like(terms[:, :1]), jnp.cumsum(terms[:, :-1], axis=1)], axis=1)
        return base[:, None, :] + prefix

    def row_sums(self, entries, start):
        """``(T, C, W) -> (2, T, C)``: the sum of each row's entries, for part 1 and part 2."""
        C, m = self.plan.chunk, self.plan.n_chunks
        # the parts split at a block boundary: sum within blocks of C columns (one fused reduction),
        # then over the blocks of each part (masked sums of a small array)
        blocks = jnp.sum(entries.reshape(entries.shape[0], C, m + 1, C), axis=-1)
        first = jnp.arange(m + 1) < m - start // C
        return jnp.stack([jnp.sum(jnp.where(first, blocks, 0.0), -1), jnp.sum(jnp.where(first, 0.0, blocks), -1)])

    def diagonals(self, xi):
        r"""``(2, T, C)``: the skip inputs :math:`\xi_{ii}` of the rows of part 1 and part 2."""
        r = np.arange(self.plan.chunk)
        return jnp.stack([xi[:, r, r], xi[:, r, self.plan.width - 1 - r]])

    def scatter_diagonals(self, dxi, d_diag):
        """``dxi`` plus ``d_diag`` ``(2, T, C)`` at the skip inputs' positions."""
        r = np.arange(self.plan.chunk)
        return dxi.at[:, r, r].add(d_diag[0]).at[:, r, self.plan.width - 1 - r].add(d_diag[1])

    def tile_inputs(self, xt, skip, bias):
        xc = self.chunks(xt)
        per_chunk = lambda a: self.pair(a.reshape(self.plan.n_chunks, 1, self.plan.chunk))  # noqa: E731
        bases = self.bases(self.J_rows, xc)
        return xc, bases, (self.pair(self.J_rows), self.pair(bases), self.pair(xc), per_chunk(skip), per_chunk(bias))


def _batch_tiles(x, plan: FoldPlan):
    x = jnp.pad(x, ((0, 0), (0, plan.padded - x.shape[1])), constant_values=1)
    return batch_tiles(x, plan.tile, fill=1)


def _padded_sites(p, plan):
    return jnp.pad(p, (0, plan.padded - plan.n_sites))


def dense_logits(x, J, skip, bias, w, b, v, *, k: int, chunk_elements: int) -> jax.Array:
    r"""Dense SK_kRSB logits ``(B, N)``, differentiable by JAX (folds rematerialised).

    Args:
        x: ``(B, N)`` spins; J: ``(N, N)`` symmetric couplings; skip, bias: ``(N,)``;
        w, b: ``(K, 2, P)`` chain parameters; v: ``(2, P)`` (packed upper-triangle pair order);
        k: RSB steps; chunk_elements: most live numbers of one step.
    """
    batch, n = x.shape
    plan = fold_plan(n, batch, k + 1, chunk_elements)
    folded = _Folded(plan, J, w, b, v)
    skip, bias = _padded_sites(skip, plan), _padded_sites(bias, plan)

    @jax.checkpoint
    def fold_step(_, fold):
        J_f, base_f, x_f, skip_f, bias_f, w_t, b_t, v_t, start = fold
        xi = folded.fields(J_f, base_f, x_f, start)
        entries = signed_outputs(chain_units(xi, w_t, b_t)[1], v_t)
        return None, folded.row_sums(entries, start) + skip_f * folded.diagonals(xi) + bias_f

    def tile_step(_, xt):
        _, _, fold_inputs = folded.tile_inputs(xt, skip, bias)
        _, u = jax.lax.scan(fold_step, None, (*fold_inputs, *folded.blocks, folded.starts))
        return None, folded.unpair(u).transpose(1, 0, 2).reshape(xt.shape[0], -1)

    _, u = jax.lax.scan(tile_step, None, _batch_tiles(x, plan))
    return u.reshape(-1, plan.padded)[:batch, :n]


def dense_log_prob_vjp(x, J, skip, bias, w, b, v, g, *, k: int, chunk_elements: int, learn_couplings: bool):
    r"""Gradients of :math:`\sum_b g_b \log q(x_b)` with respect to ``(J, skip, bias, w, b, v)``.

    ``g``: ``(B,)``. The gradient with respect to ``J`` (the ``(N, N)`` array as it is read:
    entries :math:`s < l`) is computed only with ``learn_couplings``, else it is zero. The units
    are evaluated once, nothing of size :math:`B N^2` is stored.
    """
    batch, n = x.shape
    plan = fold_plan(n, batch, k + 1, chunk_elements)
    C, m, npad, h = plan.chunk, plan.n_chunks, plan.padded, plan.n_folds
    folded = _Folded(plan, J, w, b, v)
    skip_p, bias_p = _padded_sites(skip, plan), _padded_sites(bias, plan)
    tiles = _batch_tiles(x, plan)
    weights = batch_tiles(g.astype(x.dtype), plan.tile)
    site_mask = (jnp.arange(npad) < n).astype(x.dtype)

    def tile_step(acc, inputs):
        xt, gt = inputs
        xc, bases, fold_inputs = folded.tile_inputs(xt, skip_p, bias_p)
        g_f = folded.pair(folded.chunks(gt[:, None] * site_mask))  # (M/2, 2, T, C): g_b on real sites

        def fold_step(_, fold):
            # every row's columns l >= i lie in its own fold: its logit, its cotangent and the
            # backward of its chains all come from one evaluation of the units
            J_f, base_f, x_f, skip_f, bias_f, gb_f, w_t, b_t, v_t, start = fold
            xi, fields_vjp = jax.vjp(lambda J_f, base_f: folded.fields(J_f, base_f, x_f, start), J_f, base_f)
            units, outputs = chain_units(xi, w_t, b_t)
            diag = folded.diagonals(xi)
            u = folded.row_sums(signed_outputs(outputs, v_t), start) + skip_f * diag + bias_f
            gu = gb_f * x_f * log_sigmoid_and_slope(x_f * u)[1]  # d(g log q)/du_i, (2, T, C)
            g_entries = jnp.where(folded.first_part(start), gu[0][:, :, None], gu[1][:, :, None])
            dw, db, dv, dxi = chain_vjp(units, outputs, w_t, v_t, g_entries, wrt_input=learn_couplings)
            out = (dw, db, dv, jnp.sum(gu * diag, axis=1), jnp.sum(gu, axis=1))
            if learn_couplings:
                out = out + fields_vjp(folded.scatter_diagonals(dxi, gu * skip_f))
            return None, out

        _, outs = jax.lax.scan(fold_step, None, (*fold_inputs, g_f, *folded.blocks, folded.starts))
        grads = [*outs[:3], folded.unpair(outs[3]).reshape(-1), folded.unpair(outs[4]).reshape(-1)]
        if learn_couplings:
            d_J_rows, d_bases = folded.unpair(outs[5]), folded.unpair(outs[6])
            (d_J_bases,) = jax.vjp(lambda J_rows: folded.bases(J_rows, xc), folded.J_rows)[1](d_bases)
            grads.append(d_J_rows + d_J_bases)
        return jax.tree.map(jnp.add, acc, tuple(grads)), None

    depth, width = k + 1, plan.width
    zeros = [
        jnp.zeros((h, depth, 2, C, width), x.dtype),
        jnp.zeros((h, depth, 2, C, width), x.dtype),
        jnp.zeros((h, 2, C, width), x.dtype),
        jnp.zeros((npad,), x.dtype),
        jnp.zeros((npad,), x.dtype),
    ]
    if learn_couplings:
        zeros.append(jnp.zeros((m, C, npad), x.dtype))
    grads, _ = jax.lax.scan(tile_step, tuple(zeros), (tiles, weights))
    dw, db, dv, d_skip, d_bias = grads[:5]

    to_pairs = functools.partial(pairs_from_slots, slots=jnp.asarray(plan.slots), n_pairs=n * (n - 1) // 2)
    dJ = grads[5].reshape(npad, npad)[:n, :n] if learn_couplings else jnp.zeros_like(J)
    return dJ, d_skip[:n], d_bias[:n], to_pairs(dw), to_pairs(db), to_pairs(dv)
