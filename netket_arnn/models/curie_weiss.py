r"""Curie–Weiss ARNNs (THEORY §3 and §5): CW_N, CW_∞ and the one-parameter baseline 1P.

For :math:`H = -(J/N)\sum_{i<j} x_i x_j - h\sum_i x_i` every conditional depends on the past
only through the running magnetisation :math:`M_i = \sum_{s<i} x_s`, so the sampling cache of
all three models is the single number :math:`M_i` per sample (updated in :math:`O(1)`).
With :math:`n_i = N - 1 - i` unsampled spins after site :math:`i`:

- CW_N (:class:`CurieWeissARNN`), exact at every :math:`N`:

  .. math::  u_i = a_i M_i + c_i + \mathrm{LSE}_{k=0}^{n_i}(b^+_{ik} + w^+_{ik} M_i)
                                  - \mathrm{LSE}_{k=0}^{n_i}(b^-_{ik} + w^-_{ik} M_i)

  with :math:`a_i = 2\beta J/N`, :math:`c_i = 2\beta h`, :math:`w^\pm_{ik} = (\beta J/N)(n_i-2k)`,
  :math:`b^\pm_{ik} = \log\binom{n_i}{k} + (\beta J/2N)(n_i-2k)^2 + (n_i-2k)(\beta h \pm \beta J/N)`.
  Each conditional has :math:`n_i + 1` hidden units per sign, but :math:`M_i` takes only
  :math:`i + 1` values: a batch-independent table of all :math:`\approx N^2/2` possible logits
  (:func:`logit_table`, :math:`O(N^3)` work once per pass) turns a forward pass into
  :math:`O(N)` per sample and sampling into :math:`O(1)` per site and sample.
- CW_∞ (:class:`CurieWeissInfARNN`), the :math:`N\to\infty` limit:
  :math:`u_i = b_0 + w_0 M_i + w^1_i\,\mathrm{sgn}(M_i)`, :math:`O(1)` per site.
- 1P (:class:`OneParameterARNN`): :math:`u_i = w_i M_i`, :math:`O(1)` per site.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.nn.initializers import normal
from netket.utils.types import DType
from scipy.special import gammaln

from .. import exact
from .._validation import check_beta, check_positive_int
from .base import (
    PhysicsARNN,
    check_curie_weiss,
    check_options,
    exclusive_cumsum,
    masked_logsumexp,
    site_window,
)

_CW_N_KEYS = ("skip", "bias", "w_plus", "w_minus", "b_plus", "b_minus")


def _site_starts(n: int) -> np.ndarray:
    """Start of site ``i``'s ``N - i`` units in the packed triangular layout (length N + 1)."""
    return np.concatenate([[0], np.cumsum(np.arange(n, 0, -1))]).astype(np.int64)


def curie_weiss_exact_parameters(N: int, beta: float, J: float = 1.0, h: float = 0.0, *, dtype=jnp.float64):
    r"""The exact CW_N parameters at inverse temperature ``beta`` (THEORY §3).

    Returns a dict with the layout of :class:`CurieWeissARNN`'s variables: ``"skip"`` and
    ``"bias"`` of shape ``(N,)`` (:math:`a_i`, :math:`c_i`) and ``"w_plus"``, ``"w_minus"``,
    ``"b_plus"``, ``"b_minus"`` of shape ``(N(N+1)/2,)``, the units :math:`(i, k)`,
    :math:`0 \le k \le n_i`, packed site after site. Log-binomials come from ``gammaln``, so
    the values are accurate for any :math:`N`.

    Annealing with exact parameters: for a trainable model assign
    ``vstate.parameters = curie_weiss_exact_parameters(N, beta, J, h)``; for a fixed one
    ``vstate.model_state = {"fixed": curie_weiss_exact_parameters(N, beta, J, h)}``.
    """
    values = _exact_values(check_positive_int(N, "N"), check_beta(beta), float(J), float(h))
    return {key: jnp.asarray(values[key], dtype=dtype) for key in _CW_N_KEYS}


@functools.lru_cache(maxsize=8)
def _exact_values(N: int, beta: float, J: float, h: float) -> dict:
    n_i = np.repeat(N - 1 - np.arange(N), N - np.arange(N)).astype(np.float64)
    k = np.arange(N * (N + 1) // 2) - np.repeat(_site_starts(N)[:-1], N - np.arange(N))
    r = n_i - 2.0 * k  # the magnetisation of the future spins with k of them down
    log_binom = gammaln(n_i + 1.0) - gammaln(k + 1.0) - gammaln(n_i - k + 1.0)
    common = log_binom + beta * J / (2.0 * N) * r**2 + beta * h * r
    return {
        "skip": np.full(N, 2.0 * beta * J / N),
        "bias": np.full(N, 2.0 * beta * h),
        "w_plus": beta * J / N * r,
        "w_minus": beta * J / N * r,
        "b_plus": common + beta * J / N * r,
        "b_minus": common - beta * J / N * r,
    }


class CurieWeissARNN(PhysicsARNN):
    r"""CW_N: the exact autoregressive form of the N-spin Curie–Weiss Boltzmann distribution.

    .. math::  u_i = a_i M_i + c_i + \mathrm{LSE}_{k}(b^+_{ik} + w^+_{ik} M_i)
                                    - \mathrm{LSE}_{k}(b^-_{ik} + w^-_{ik} M_i),
               \quad k = 0\ldots n_i,

    initialised to the closed form of :func:`curie_weiss_exact_parameters`, with which
    :math:`\log q(x) = \log p(x)` for every :math:`x`.

    Parameters (trainable) or fixed values (``"fixed"`` collection): ``skip`` :math:`a` and
    ``bias`` :math:`c` of shape ``(N,)``, and ``w_plus``, ``w_minus``, ``b_plus``, ``b_minus``
    of shape ``(N(N+1)/2,)``, i.e. :math:`4 \cdot N(N+1)/2 + 2N = 2N(N-1) + 6N` numbers
    (THEORY: :math:`2N(N-1) + O(N)`).

    Inputs must be spins :math:`\pm 1`. :math:`u_i` depends on :math:`x_{<i}` only through
    :math:`M_i = 2 m_i - i`, where :math:`m_i \in \{0, \ldots, i\}` counts the up spins before
    site :math:`i`, so all the logits the model can produce fit in the batch-independent table
    :math:`T[i, m]` (:func:`logit_table`), built from the current parameters in
    :math:`\sum_i (i+1)(n_i+1) \approx N^3/6` hidden-unit evaluations (about :math:`0.23 N^3`
    with its padding; the gradient costs about 4 times the forward pass) and :math:`O(N^2)` memory.

    Cost for a batch of :math:`B` samples (the cheaper of two static plans, chosen from
    :math:`B` and :math:`N` at trace time; both evaluate the same formula):

    - ``__call__`` / ``conditionals``: for :math:`B \gtrsim 0.4 N` the table, then one gather
      per sample and site, :math:`O(N^3 + BN)` (the gradient scatters back into the
      :math:`N \times N` table); for smaller batches the hidden units of every sample,
      :math:`O(BN^2)` (about :math:`0.56 BN^2`);
    - sampling (``conditional``): the running up-spin count :math:`m_i` of each sample is kept in
      the ``"cache"`` collection. For :math:`B \gtrsim N/4` the table is built once, at
      ``index == 0``, and cached too, so every site costs :math:`O(1)` per sample (one update and
      one gather). This relies on ``index`` being a scalar (``lax.cond`` skips the table at
      ``index > 0``), as in ``ARDirectSampler``. Smaller batches evaluate the :math:`n_i + 1`
      units of site :math:`i` for each sample instead, :math:`O(N)` per site and sample.

    Memory stays :math:`O(N^2 + BN)` in both plans (the hidden units are evaluated a few sites at
    a time, see :func:`_layout`).
    """

    beta: float
    """inverse temperature of the initial parameters."""
    J: float = 1.0
    """Curie–Weiss coupling (pairs couple with J/N)."""
    h: float = 0.0
    """uniform field."""
    trainable: bool = False
    """if True the parameters are in ``"params"``, else fixed in the ``"fixed"`` collection."""
    machine_pow: int = 2
    """log ψ = ½ log q (the only value ARDirectSampler supports)."""
    param_dtype: DType = jnp.float64
    """dtype of the parameters and of the computation."""

    @classmethod
    def from_hamiltonian(cls, H, beta: float, *, trainable: bool = False, param_dtype: DType = jnp.float64):
        """CW_N at its exact parameters for the Curie–Weiss Hamiltonian ``H`` at ``beta``."""
        J, h = check_curie_weiss(H, "CurieWeissARNN")
        return cls(
            hilbert=H.hilbert,
            beta=check_beta(beta),
            J=J,
            h=h,
            trainable=bool(trainable),
            param_dtype=param_dtype,
        )

    exact_parameters = staticmethod(curie_weiss_exact_parameters)

    def setup(self):
        def exact(key):  # evaluated only when the variables are initialised
            return lambda _: curie_weiss_exact_parameters(
                self.hilbert.size, self.beta, self.J, self.h, dtype=self.param_dtype
            )[key]

        for key in _CW_N_KEYS:
            setattr(self, key, self.physics_variable(key, exact(key), self.trainable))

    def _variables(self) -> list:
        return [getattr(self, key) for key in _CW_N_KEYS]

    def table(self) -> jax.Array:
        """``(N, N)`` :math:`T[i, m]`: the logit of site ``i`` after ``m`` up spins (:func:`logit_table`)."""
        return logit_table(*self._variables())

    def logits(self, x):
        n, batch = x.shape[-1], x.shape[0]
        up = _up_counts(x)
        if _use_table(n, batch):
            return self.table()[jnp.arange(n), up]
        M = 2 * up - jnp.arange(n)  # (B, N): each site at its own B magnetisations
        return _logits_at(*self._variables(), M.T.astype(self.param_dtype), _layout(n, batch)).T

    def conditional_logit(self, x, index):
        n, batch = self.hilbert.size, x.shape[0]
        use_table = _use_table(n, batch, sampling=True)
        up = self.variable("cache", "up_count", jnp.zeros, (batch,), jnp.int32)
        if use_table:
            table = self.cache_variable("table", (n, n), self.param_dtype)
        if self.is_initializing():
            return jnp.zeros((batch,), self.param_dtype)
        # m_i = m_{i-1} + [x_{i-1} = +1], reset at the start of each pass
        m = jnp.where(index == 0, 0, up.value + (x[:, jnp.maximum(index - 1, 0)] > 0)).astype(jnp.int32)
        up.value = m
        skip, bias, w_plus, w_minus, b_plus, b_minus = variables = self._variables()
        if use_table:  # rebuilt from the current parameters once per pass, at index 0
            table.value = jax.lax.cond(index == 0, logit_table, lambda *_: table.value, *variables)
            return table.value[index, m]
        # small batch: the n_i + 1 units of this site, read through a static window of N units
        M = (2 * m - index).astype(self.param_dtype)
        start = index * n - (index * (index - 1)) // 2
        offset, valid, _ = site_window(start, n - index, n, n * (n + 1) // 2)
        window = lambda a: jax.lax.dynamic_slice(a, (offset,), (n,))  # noqa: E731
        lse_p = masked_logsumexp(window(b_plus) + window(w_plus) * M[:, None], valid)
        lse_m = masked_logsumexp(window(b_minus) + window(w_minus) * M[:, None], valid)
        return skip[index] * M + bias[index] + lse_p - lse_m


def _up_counts(x: jax.Array) -> jax.Array:
    r"""``(B, N)`` int32 :math:`m_i`: the number of up spins among :math:`x_{<i}` (so :math:`M_i = 2m_i - i`)."""
    return exclusive_cumsum((x > 0).astype(jnp.int32))


_GROUPS = 8
"""Most site groups of :func:`_layout` (each one is padded to a rectangle)."""
_STEP_ELEMENTS = 1 << 21
"""Most hidden-unit evaluations per sign in one step of :func:`_logits_at` (bounds its memory)."""
_SMALL_WORK = 1 << 16
"""Plans with at most this many evaluations unpadded use a single group (see :func:`_layout`)."""


@functools.lru_cache(maxsize=64)
def _layout(n: int, batch: int | None = None) -> tuple[tuple[int, int, int, int, int], ...]:
    """Static plan of :func:`_logits_at`: ``(lo, hi, width, steps, per_step)`` per site group.

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
    """Hidden-unit evaluations (per sign) of a :func:`_layout` plan."""
    return sum((hi - lo) * width * (n - lo) for lo, hi, width, _, _ in layout)


def _use_table(n: int, batch: int, sampling: bool = False) -> bool:
    """Whether the table is cheaper than evaluating the hidden units of ``batch`` samples.

    ``sampling``: the per-sample alternative is the windowed single-site evaluation of
    ``conditional`` (``batch * n`` per site); otherwise :func:`_logits_at` per sample.
    """
    direct = batch * n * n if sampling else _work(n, _layout(n, batch))
    return _work(n, _layout(n)) <= direct


def logit_table(skip, bias, w_plus, w_minus, b_plus, b_minus) -> jax.Array:
    r"""All the logits CW_N can produce: ``(N, N)`` :math:`T[i, m] = u_i(M_i = 2m - i)`.

    .. math::  T[i, m] = a_i M + c_i + \mathrm{LSE}_{k=0}^{n_i}(b^+_{ik} + w^+_{ik} M)
                                     - \mathrm{LSE}_{k=0}^{n_i}(b^-_{ik} + w^-_{ik} M),
               \qquad M = 2m - i,\ 0 \le m \le i,

    with the variables laid out as in :func:`curie_weiss_exact_parameters` (``skip``, ``bias``
    ``(N,)``; the four unit arrays packed site after site, ``(N(N+1)/2,)``). Entries with
    :math:`m > i` are 0 (no sample reaches them). Cost :math:`\sum_i (i+1)(n_i + 1) \approx
    N^3/6` unit evaluations (about :math:`0.23 N^3` with padding, :func:`_layout`), independent
    of any batch.
    """
    n = skip.shape[0]
    i, m = jnp.arange(n)[:, None], jnp.arange(n)[None, :]
    M = (2 * m - i).astype(skip.dtype)
    return jnp.where(m <= i, _logits_at(skip, bias, w_plus, w_minus, b_plus, b_minus, M, _layout(n)), 0.0)


@functools.partial(jax.jit, static_argnames="layout")
def _logits_at(skip, bias, w_plus, w_minus, b_plus, b_minus, M, layout) -> jax.Array:
    r"""``(N, P)``: the logit :math:`u_i` of every site ``i`` at the magnetisations ``M[i, :width]``.

    ``layout`` (:func:`_layout`) groups the sites; a group's sites are padded to its largest
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


def _running_magnetisation(module: PhysicsARNN, x, index):
    r"""Cached :math:`M_i = M_{i-1} + x_{i-1}` (``(B,)``), reset to 0 at ``index == 0``."""
    cache = module.cache_variable("magnetisation", (x.shape[0],), x.dtype)
    if module.is_initializing():
        return cache.value
    prev = jnp.maximum(index - 1, 0)
    M = jnp.where(index == 0, 0.0, cache.value + x[:, prev]).astype(x.dtype)
    cache.value = M
    return M


def saddle_point_magnetisation(beta: float, J: float = 1.0) -> float:
    r"""The spontaneous magnetisation :math:`m_\beta \ge 0`, root of :math:`m = \tanh(\beta J m)`."""
    return exact.curie_weiss_infinite(beta, J, 0.0).abs_magnetization


class CurieWeissInfARNN(PhysicsARNN):
    r"""CW_∞: the :math:`N \to \infty` Curie–Weiss ARNN, :math:`N + 2` parameters.

    .. math::  u_i = b_0 + w_0 M_i + w^1_i\,\mathrm{sgn}(M_i), \qquad \mathrm{sgn}(0) = 0 .

    Parameters: shared ``b0`` and ``w0`` (scalars) and per-site ``w1`` ``(N,)``:
    :math:`N + 2` in total. ``start="saddle"`` starts from :math:`b_0 = 2\beta h`,
    :math:`w_0 = 2\beta J/N`, :math:`w^1_i = 2\beta J (n_i/N) m_\beta` with :math:`m_\beta` the
    root of :math:`m = \tanh(\beta J m)` (the :math:`h = 0` saddle point of THEORY §3;
    :math:`m_\beta = 0` for :math:`\beta J \le 1`); ``start="random"`` draws all of them from
    :math:`\mathcal N(0, \text{init\_scale}^2)`. Always trainable. :math:`O(1)` per site.
    """

    beta: float
    J: float = 1.0
    h: float = 0.0
    start: str = "saddle"
    """``"saddle"`` (THEORY §3 saddle point) or ``"random"`` (small normal values)."""
    init_scale: float = 1e-2
    """standard deviation of the "random" start."""
    machine_pow: int = 2
    param_dtype: DType = jnp.float64

    @classmethod
    def from_hamiltonian(
        cls, H, beta: float, *, start: str = "saddle", init_scale: float = 1e-2, param_dtype=jnp.float64
    ):
        """CW_∞ for the Curie–Weiss Hamiltonian ``H``, started at the saddle point of ``beta``."""
        J, h = check_curie_weiss(H, "CurieWeissInfARNN")
        check_options("start", start, {"saddle", "random"})
        return cls(
            hilbert=H.hilbert,
            beta=check_beta(beta),
            J=J,
            h=h,
            start=start,
            init_scale=float(init_scale),
            param_dtype=param_dtype,
        )

    def setup(self):
        check_options("start", self.start, {"saddle", "random"})
        n, dtype = self.hilbert.size, self.param_dtype
        if self.start == "saddle":

            def init(name):  # evaluated only when the variables are initialised
                def start(_):
                    m = saddle_point_magnetisation(self.beta, self.J)
                    n_i = n - 1 - np.arange(n)
                    values = {
                        "b0": 2.0 * self.beta * self.h,
                        "w0": 2.0 * self.beta * self.J / n,
                        "w1": 2.0 * self.beta * self.J * m * n_i / n,
                    }
                    return jnp.asarray(values[name], dtype=dtype)

                return start

        else:
            shapes = {"b0": (), "w0": (), "w1": (n,)}
            init = lambda name: lambda key: normal(self.init_scale)(key, shapes[name], dtype)  # noqa: E731
        self.b0 = self.param("b0", init("b0"))
        self.w0 = self.param("w0", init("w0"))
        self.w1 = self.param("w1", init("w1"))

    def logits(self, x):
        M = exclusive_cumsum(x)
        return self.b0 + self.w0 * M + self.w1 * jnp.sign(M)

    def conditional_logit(self, x, index):
        M = _running_magnetisation(self, x, index)
        return self.b0 + self.w0 * M + self.w1[index] * jnp.sign(M)


class OneParameterARNN(PhysicsARNN):
    r"""1P baseline (THEORY §5): :math:`u_i = w_i M_i`, one parameter per site (:math:`N`).

    No bias, so a field :math:`h` cannot be represented (it is a baseline). Starts:
    ``"mean_field"`` :math:`w_i = 2\beta J/N` (the direct-coupling term of CW_N),
    ``"zeros"`` (uniform q) or ``"random"`` (:math:`\mathcal N(0, \text{init\_scale}^2)`).
    Always trainable. :math:`O(1)` per site.
    """

    beta: float
    J: float = 1.0
    h: float = 0.0
    start: str = "mean_field"
    """``"mean_field"``, ``"zeros"`` or ``"random"``."""
    init_scale: float = 1e-2
    machine_pow: int = 2
    param_dtype: DType = jnp.float64

    @classmethod
    def from_hamiltonian(
        cls, H, beta: float, *, start: str = "mean_field", init_scale: float = 1e-2, param_dtype=jnp.float64
    ):
        """1P for the Curie–Weiss Hamiltonian ``H`` at ``beta``."""
        J, h = check_curie_weiss(H, "OneParameterARNN")
        check_options("start", start, {"mean_field", "zeros", "random"})
        return cls(
            hilbert=H.hilbert,
            beta=check_beta(beta),
            J=J,
            h=h,
            start=start,
            init_scale=float(init_scale),
            param_dtype=param_dtype,
        )

    def setup(self):
        check_options("start", self.start, {"mean_field", "zeros", "random"})
        n, dtype = self.hilbert.size, self.param_dtype
        if self.start == "random":
            init = lambda key: normal(self.init_scale)(key, (n,), dtype)  # noqa: E731
        else:
            value = 2.0 * self.beta * self.J / n if self.start == "mean_field" else 0.0
            init = lambda _: jnp.full((n,), value, dtype=dtype)  # noqa: E731
        self.w = self.param("w", init)

    def logits(self, x):
        return self.w * exclusive_cumsum(x)

    def conditional_logit(self, x, index):
        return self.w[index] * _running_magnetisation(self, x, index)
