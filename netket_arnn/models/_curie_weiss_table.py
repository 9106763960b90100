r"""Planned evaluation of CW_N: the batch-independent logit table and per-sample unit evaluation.

CW_N's logit depends on :math:`x_{<i}` only through :math:`M_i = 2m_i - i`, with :math:`m_i` the
number of up spins before site :math:`i`, so every logit the model can produce fits in the table
:math:`T[i, m]`, ``(N, N)``. Two ways to build it:

- :func:`exact_logit_table`, for CW_N at its exact parameters: the conditionals are ratios of
  partition functions of the unsampled spins, :math:`T[i, m] = 2\beta h + L_{i+1}(m+1) -
  L_{i+1}(m)`, with the backward recursion

  .. math::  L_N(m) = \frac{\beta J}{2N}(2m - N)^2, \qquad
             L_i(m) = \log\big(e^{\beta h + L_{i+1}(m+1)} + e^{-\beta h + L_{i+1}(m)}\big),

  (:math:`L_i(m)` is the log partition function of the spins :math:`i, \dots, N-1` given
  :math:`m` up spins among the first :math:`i`, up to a constant): :math:`O(N^2)` in all;
- :func:`logit_table`, for any parameters: the :math:`n_i + 1` hidden units of every site at every
  reachable :math:`M`, :math:`\approx N^3/6` unit evaluations, planned by :func:`layout` in
  bounded memory. :func:`logits_at` evaluates the same units at one magnetisation per sample
  instead (cheaper for small batches).

Both are checked against the plain per-site formula, :meth:`CurieWeissARNN.site_logits`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["exact_logit_table", "layout", "logit_table", "logits_at", "use_table"]


def exact_logit_table(n: int, beta_J, beta_h, dtype=jnp.float64) -> jax.Array:
    r"""``(N, N)`` :math:`T[i, m]` of the exact CW_N by the backward recursion (module doc), :math:`O(N^2)`.

    Entries with :math:`m > i` are 0 (no sample reaches them). The recursion runs in float64
    when x64 is enabled (its values grow like :math:`\beta J N`, and only differences are used),
    then the table is cast to ``dtype``.
    """
    acc = jnp.promote_types(jnp.asarray(beta_J).dtype, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    beta_J, beta_h = jnp.asarray(beta_J, acc), jnp.asarray(beta_h, acc)
    m = jnp.arange(n + 1)
    last = beta_J / (2.0 * n) * (2.0 * m - n) ** 2  # L_N(m), m = 0..N

    def step(L, i):  # L = L_{i+1} over m = 0..i+1 (entries past i+1 unused)
        up, down = L[1:], L[:-1]  # L_{i+1}(m + 1), L_{i+1}(m) for m = 0..N-1
        row = jnp.where(m[:-1] <= i, 2.0 * beta_h + up - down, 0.0)
        new = jnp.logaddexp(beta_h + up, -beta_h + down)
        return jnp.concatenate([new, new[-1:]]), row

    _, rows = jax.lax.scan(step, last, jnp.arange(n - 1, -1, -1))
    return rows[::-1].astype(dtype)


def site_starts(n: int) -> np.ndarray:
    """Start of site ``i``'s ``N - i`` units in the packed triangular layout (length N + 1)."""
    return np.concatenate([[0], np.cumsum(np.arange(n, 0, -1))]).astype(np.int64)


_GROUPS = 8
"""Most site groups of :func:`layout` (each one is padded to a rectangle)."""
_STEP_ELEMENTS = 1 << 21
"""Most hidden-unit evaluations per sign in one step of :func:`logits_at` (bounds its memory)."""
_SMALL_WORK = 1 << 16
"""Plans with at most this many evaluations unpadded use a single group (see :func:`layout`)."""


@functools.lru_cache(maxsize=64)
def layout(n: int, batch: int | None = None) -> tuple[tuple[int, int, int, int, int], ...]:
    """Static plan of :func:`logits_at`: ``(lo, hi, width, steps, per_step)`` per site group.

    The sites ``[lo, hi)`` of a group are evaluated at ``width`` magnetisations each (``hi``,
    enough for every reachable :math:`M_i`, for the table: ``batch is None``; else ``batch``, one
    per sample) against ``n - lo`` units, their largest number: the group does
    ``(hi - lo) * width * (n - lo)`` unit evaluations. For the table, 8 equal groups do about
    :math:`0.23 n^3` against :math:`n^3/6` without padding and :math:`n^3` for a single group;
    per sample they do about :math:`0.56 n^2` against :math:`n^2/2` and :math:`n^2`. Small plans
    (``width * n * n <= _SMALL_WORK``, e.g. the table up to :math:`n = 40`) use a single group,
    and small ``n`` fewer groups: less to compile for a negligible amount of work. A group
    takes ``steps`` steps of ``per_step`` sites, at most ``_STEP_ELEMENTS`` evaluations each
    (the last step may repeat the group's last site).
    """
    widest = n if batch is None else int(batch)
    # every group is one more loop to compile: a single one while the padding costs little
    groups = 1 if widest * n * n <= _SMALL_WORK else int(np.clip(n // 16, 1, _GROUPS))
    bounds = np.linspace(0, n, groups + 1).round().astype(int).tolist()
    layout = []
    for lo, hi in zip(bounds, bounds[1:]):
        width = hi if batch is None else widest
        steps = -(-(hi - lo) // max(1, _STEP_ELEMENTS // (width * (n - lo))))
        layout.append((lo, hi, width, steps, -(-(hi - lo) // steps)))
    return tuple(layout)


def _work(n: int, layout) -> int:
    """Hidden-unit evaluations (per sign) of a :func:`layout` plan."""
    return sum((hi - lo) * width * (n - lo) for lo, hi, width, _, _ in layout)


def use_table(n: int, batch: int, sampling: bool = False) -> bool:
    """Whether the table is cheaper than evaluating the hidden units of ``batch`` samples.

    ``sampling``: the per-sample alternative is the windowed single-site evaluation of
    ``conditional`` (``batch * n`` per site); otherwise :func:`logits_at` per sample.
    """
    direct = batch * n * n if sampling else _work(n, layout(n, batch))
    return _work(n, layout(n)) <= direct


def logit_table(skip, bias, w_plus, w_minus, b_plus, b_minus) -> jax.Array:
    r"""All the logits CW_N can produce: ``(N, N)`` :math:`T[i, m] = u_i(M_i = 2m - i)`.

    .. math::  T[i, m] = a_i M + c_i + \mathrm{LSE}_{k=0}^{n_i}(b^+_{ik} + w^+_{ik} M)
                                     - \mathrm{LSE}_{k=0}^{n_i}(b^-_{ik} + w^-_{ik} M),
               \qquad M = 2m - i,\ 0 \le m \le i,

    with the variables laid out as in :func:`curie_weiss_exact_parameters` (``skip``, ``bias``
    ``(N,)``; the four unit arrays packed site after site, ``(N(N+1)/2,)``). Entries with
    :math:`m > i` are 0 (no sample reaches them). Cost :math:`\sum_i (i+1)(n_i + 1) \approx
    N^3/6` unit evaluations (about :math:`0.23 N^3` with padding, :func:`layout`), independent
    of any batch.
    """
    n = skip.shape[0]
    i, m = jnp.arange(n)[:, None], jnp.arange(n)[None, :]
    M = (2 * m - i).astype(skip.dtype)
    return jnp.where(m <= i, logits_at(skip, bias, w_plus, w_minus, b_plus, b_minus, M, layout(n)), 0.0)


@functools.partial(jax.jit, static_argnames="layout")
def logits_at(skip, bias, w_plus, w_minus, b_plus, b_minus, M, layout) -> jax.Array:
    r"""``(N, P)``: the logit :math:`u_i` of every site ``i`` at the magnetisations ``M[i, :width]``.

    ``layout`` (:func:`layout`) groups the sites; a group's sites are padded to its largest
    number of units (:math:`b = -\infty` past a site's own :math:`n_i + 1`) and evaluated a few
    at a time in a ``lax.map``, so memory stays at about ``2 * _STEP_ELEMENTS`` numbers per step.
    Each step is rematerialised in the backward pass, so the gradient keeps no per-step
    residuals either. Columns past a group's ``width`` are 0.

    Jitted, so that eager calls (``MCState`` runs ``model.init`` outside jit) compile once.
    """
    n, P = M.shape
    units = jnp.stack([w_plus, w_minus, b_plus, b_minus])  # (4, N(N+1)/2)

    @jax.checkpoint
    def step(args):
        params, M = args  # (S, 4, K): w+, w-, b+, b- of S sites; (S, width)
        lse = jax.nn.logsumexp(params[:, 2:, None, :] + params[:, :2, None, :] * M[:, None, :, None], axis=-1)
        return lse[:, 0] - lse[:, 1]

    # index arithmetic on iotas: the program holds no O(N^2) index constants
    rows = []
    for lo, hi, width, steps, per_step in layout:
        sites = jnp.minimum(lo + jnp.arange(steps * per_step), hi - 1)  # (S',)
        k = jnp.arange(n - lo)[None, :]
        valid = k < n - sites[:, None]  # (S', K): unit k exists at site i iff k <= n_i
        start = sites * n - (sites * (sites - 1)) // 2  # first unit of site i in the packed layout
        params = units[:, jnp.where(valid, start[:, None] + k, 0)]  # (4, S', K)
        params = params.at[2:].set(jnp.where(valid, params[2:], -jnp.inf)).transpose(1, 0, 2)
        site_M = M[sites, :width]  # (S', width)
        if steps == 1:  # no loop to compile
            lse = step((params, site_M))
        else:
            args = (params.reshape(steps, per_step, 4, n - lo), site_M.reshape(steps, per_step, width))
            lse = jax.lax.map(step, args).reshape(steps * per_step, width)[: hi - lo]
        rows.append(jnp.pad(lse, ((0, 0), (0, P - width))))
    return skip[:, None] * M + bias[:, None] + jnp.concatenate(rows)
