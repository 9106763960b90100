r"""Curie–Weiss ARNNs (THEORY §3 and §5): CW_N, CW_∞ and the one-parameter baseline 1P.

For :math:`H = -(J/N)\sum_{i<j} x_i x_j - h\sum_i x_i` every conditional depends on the past
only through the running magnetisation :math:`M_i = \sum_{s<i} x_s`: the first layer of all three
models is :class:`netket_arnn.nn.UniformFirstLayer` (state: :math:`M_i`, one number per sample).
With :math:`n_i = N - 1 - i` unsampled spins after site :math:`i`:

- CW_N (:class:`CurieWeissARNN`), exact at every :math:`N`:

  .. math::  u_i = a_i M_i + c_i + \mathrm{LSE}_{k=0}^{n_i}(b^+_{ik} + w^+_{ik} M_i)
                                  - \mathrm{LSE}_{k=0}^{n_i}(b^-_{ik} + w^-_{ik} M_i)

  with :math:`a_i = 2\beta J/N`, :math:`c_i = 2\beta h`, :math:`w^\pm_{ik} = (\beta J/N)(n_i-2k)`,
  :math:`b^\pm_{ik} = \log\binom{n_i}{k} + (\beta J/2N)(n_i-2k)^2 + (n_i-2k)(\beta h \pm \beta J/N)`.
  Since :math:`M_i` takes only :math:`i + 1` values, every logit fits in a batch-independent
  table (:mod:`netket_arnn.models._curie_weiss_table`): sampling costs :math:`O(1)` per site and
  sample after the table.
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
from jax.scipy.special import gammaln as jax_gammaln
from netket.utils.types import DType
from scipy.special import gammaln

from .._validation import check_beta, check_choice, check_positive_int, check_real, check_scale
from ..exact.curie_weiss import curie_weiss_thermo_limit
from ..nn.first_layer import UniformFirstLayer, exclusive_cumsum
from ..operators._checks import check_curie_weiss
from . import _curie_weiss_table as plan
from ._layout import masked_logsumexp, site_window
from .base import FIXED_COLLECTION, PhysicsARNN
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision

__all__ = [
    "CurieWeissARNN",
    "CurieWeissInfARNN",
    "OneParameterARNN",
    "curie_weiss_exact_parameters",
    "saddle_point_magnetisation",
]

_CW_N_KEYS = ("skip", "bias", "w_plus", "w_minus", "b_plus", "b_minus")


def curie_weiss_exact_parameters(N: int, beta: float, J: float = 1.0, h: float = 0.0, *, dtype=jnp.float64):
    r"""The exact CW_N network parameters at inverse temperature ``beta`` (THEORY §3).

    Returns a dict with the layout of a trainable :class:`CurieWeissARNN`'s parameters: ``"skip"``
    and ``"bias"`` of shape ``(N,)`` (:math:`a_i`, :math:`c_i`) and ``"w_plus"``, ``"w_minus"``,
    ``"b_plus"``, ``"b_minus"`` of shape ``(N(N+1)/2,)``, the units :math:`(i, k)`,
    :math:`0 \le k \le n_i`, packed site after site. Log-binomials come from ``gammaln``, so
    the values are accurate for any :math:`N`.

    Setting them: ``vstate.parameters = curie_weiss_exact_parameters(N, beta, J, h)`` (trainable
    model); a fixed model holds :math:`\beta J` and :math:`\beta h` instead
    (:meth:`CurieWeissARNN.fixed_variables`).
    """
    values = _exact_values(check_positive_int(N, "N"), check_beta(beta), check_real(J, "J"), check_real(h, "h"))
    return {key: jnp.asarray(values[key]).astype(dtype) for key in _CW_N_KEYS}


@functools.lru_cache(maxsize=8)
def _exact_values(N: int, beta: float, J: float, h: float) -> dict:
    n_i = np.repeat(N - 1 - np.arange(N), N - np.arange(N)).astype(np.float64)
    k = np.arange(N * (N + 1) // 2) - np.repeat(plan.site_starts(N)[:-1], N - np.arange(N))
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


def _up_counts(x: jax.Array) -> jax.Array:
    r"""``(B, N)`` int32 :math:`m_i`: the number of up spins among :math:`x_{<i}` (so :math:`M_i = 2m_i - i`)."""
    return exclusive_cumsum((x > 0).astype(jnp.int32), axis=-1)


class CurieWeissARNN(PhysicsARNN):
    r"""CW_N: the exact autoregressive form of the N-spin Curie–Weiss Boltzmann distribution.

    .. math::  u_i = a_i M_i + c_i + \mathrm{LSE}_{k}(b^+_{ik} + w^+_{ik} M_i)
                                    - \mathrm{LSE}_{k}(b^-_{ik} + w^-_{ik} M_i),
               \quad k = 0\ldots n_i,

    with which :math:`\log q(x) = \log p(x)` for every :math:`x` at the exact values.

    Two parametrisations (``trainable``):

    - fixed (default): the exact network at :math:`(\beta J, \beta h)`, held in the ``"fixed"``
      collection as ``beta_J`` and ``beta_h`` (:meth:`fixed_variables`); its weights are
      functions of these two numbers, so the whole logit table comes from the :math:`O(N^2)`
      recursion of :func:`~netket_arnn.models._curie_weiss_table.exact_logit_table`;
    - trainable: ``skip`` :math:`a` and ``bias`` :math:`c` ``(N,)``, and ``w_plus``,
      ``w_minus``, ``b_plus``, ``b_minus`` ``(N(N+1)/2,)`` as parameters, started at
      :func:`curie_weiss_exact_parameters`: :math:`4 \cdot N(N+1)/2 + 2N = 2N(N-1) + 6N` numbers.
      Their table costs :math:`\approx N^3/6` unit evaluations.

    Inputs must be spins :math:`\pm 1`. Cost for a batch of :math:`B` samples: the table, then
    one gather per sample and site (sampling caches the table at ``index == 0`` and the running
    up-spin count, :math:`O(1)` per site and sample); a trainable model with a small batch
    (:math:`B \lesssim 0.4 N`) evaluates the units of each sample instead, :math:`O(BN^2)`.
    """

    beta: float
    """inverse temperature of the initial parameters."""
    J: float = 1.0
    """Curie–Weiss coupling (pairs couple with J/N)."""
    h: float = 0.0
    """uniform field."""
    trainable: bool = False
    """if True the network weights are parameters, else the model is exact at ``(βJ, βh)``."""

    @classmethod
    def from_hamiltonian(
        cls,
        H,
        beta: float,
        *,
        trainable: bool = False,
        param_dtype: DType = DEFAULT_PARAM_DTYPE,
        dtype: DType = DEFAULT_DTYPE,
    ):
        """CW_N at its exact parameters for the Curie–Weiss Hamiltonian ``H`` at ``beta``.

        ``param_dtype``, ``dtype``: the precision policy (:mod:`~netket_arnn.models.precision`).
        """
        J, h = check_curie_weiss(H, "CurieWeissARNN")
        param_dtype, dtype = check_precision(param_dtype, dtype)
        return cls(
            hilbert=H.hilbert,
            beta=check_beta(beta),
            J=J,
            h=h,
            trainable=bool(trainable),
            param_dtype=param_dtype,
            dtype=dtype,
        )

    exact_parameters = staticmethod(curie_weiss_exact_parameters)

    @staticmethod
    def fixed_variables(beta: float, J: float = 1.0, h: float = 0.0, *, dtype=jnp.float64) -> dict:
        r"""The ``"fixed"`` collection of the exact CW_N at ``beta``: ``{"beta_J": βJ, "beta_h": βh}``.

        Annealing a fixed model: ``vstate.model_state = {"fixed": CurieWeissARNN.fixed_variables(beta, J, h)}``.
        """
        beta = check_beta(beta)
        return {
            "beta_J": jnp.asarray(beta * check_real(J, "J")).astype(dtype),
            "beta_h": jnp.asarray(beta * check_real(h, "h")).astype(dtype),
        }

    def variables_at(self, beta: float) -> dict:
        r"""The exact CW_N at ``beta`` as variable collections (:class:`~netket_arnn.models.hooks.ExactVariables`).

        Fixed: ``{"fixed": {"beta_J", "beta_h"}}`` (:meth:`fixed_variables`); trainable:
        ``{"params": curie_weiss_exact_parameters(N, beta, J, h)}``; in ``param_dtype``. The
        model's output depends on β only through them, so swapping them moves the model to β.
        """
        if self.trainable:
            params = curie_weiss_exact_parameters(self.hilbert.size, beta, self.J, self.h, dtype=self.param_dtype)
            return {"params": params}
        return {FIXED_COLLECTION: self.fixed_variables(beta, self.J, self.h, dtype=self.param_dtype)}

    def setup(self):
        n, dtype = self.hilbert.size, self.param_dtype
        self.first_layer = UniformFirstLayer(n_sites=n, param_dtype=dtype, dtype=self.compute_dtype)
        if self.trainable:

            def exact(key):  # evaluated only when the parameters are initialised
                return lambda _: curie_weiss_exact_parameters(n, self.beta, self.J, self.h, dtype=dtype)[key]

            for key in _CW_N_KEYS:
                setattr(self, key, self.param(key, exact(key)))
        else:
            fixed = self.fixed_variables(self.beta, self.J, self.h, dtype=dtype)
            self.beta_J = self.physics_variable("beta_J", lambda _: fixed["beta_J"], False)
            self.beta_h = self.physics_variable("beta_h", lambda _: fixed["beta_h"], False)

    # -- the physics ----------------------------------------------------------------------------
    def _site_units(self, index):
        """``(a_i, c_i, w+, w-, b+, b-, valid)`` of site ``index``: its units in a static window of N."""
        n = self.hilbert.size
        if self.trainable:
            start = index * n - (index * (index - 1)) // 2
            offset, valid, _ = site_window(start, n - index, n, n * (n + 1) // 2)
            units = [jax.lax.dynamic_slice(getattr(self, key), (offset,), (n,)) for key in _CW_N_KEYS[2:]]
            return (self.skip[index], self.bias[index], *units, valid)
        # the exact units, generated from (βJ, βh)
        k = jnp.arange(n, dtype=self.param_dtype)
        n_i = jnp.asarray(n - 1 - index).astype(self.param_dtype)
        valid = k <= n_i
        r = n_i - 2.0 * k
        coupling = self.beta_J / n
        log_binom = jax_gammaln(n_i + 1.0) - jax_gammaln(k + 1.0) - jax_gammaln(jnp.maximum(n_i - k, 0.0) + 1.0)
        common = log_binom + coupling / 2.0 * r**2 + self.beta_h * r
        w = coupling * r
        return 2.0 * coupling, 2.0 * self.beta_h, w, w, common + w, common - w, valid

    def site_logits(self, xi, index):
        r""":math:`u_i` at :math:`M_i` = ``xi[:, 0]``: the :math:`n_i + 1` units of each sign, O(N) per sample.

        The units of the site are parameter-like (``param_dtype``); they meet the samples in ``dtype``.
        """
        M = xi[:, 0]
        *units, valid = self._site_units(index)
        skip, bias, w_plus, w_minus, b_plus, b_minus = (self.compute(unit) for unit in units)
        lse_p = masked_logsumexp(b_plus + w_plus * M[:, None], valid)
        lse_m = masked_logsumexp(b_minus + w_minus * M[:, None], valid)
        return skip * M + bias + lse_p - lse_m

    # -- planned evaluation (netket_arnn.models._curie_weiss_table) -------------------------------
    def table(self) -> jax.Array:
        """``(N, N)`` :math:`T[i, m]`: the logit of site ``i`` after ``m`` up spins (0 where :math:`m > i`).

        Computed once per parameter set, before any sample is seen, so it is parameter-like: in
        ``param_dtype`` (the precision policy, :mod:`~netket_arnn.models.precision`); the passes
        cast it to ``dtype`` where the samples read it.
        """
        n = self.hilbert.size
        if self.trainable:
            return plan.logit_table(*(getattr(self, key) for key in _CW_N_KEYS))
        return plan.exact_logit_table(n, self.beta_J, self.beta_h, self.param_dtype)

    def _uses_table(self, batch: int, sampling: bool = False) -> bool:
        return not self.trainable or plan.use_table(self.hilbert.size, batch, sampling)

    def logits(self, x):
        batch, n = x.shape
        up = _up_counts(x)
        if self._uses_table(batch):
            return self.compute(self.table())[jnp.arange(n), up]
        M = (2 * up - jnp.arange(n)).astype(self.compute_dtype)  # (B, N): each site at its own B magnetisations
        params = (self.compute(getattr(self, key)) for key in _CW_N_KEYS)
        return plan.logits_at(*params, M.T, plan.layout(n, batch)).T

    def conditional_logit(self, x, index):
        n, batch = self.hilbert.size, x.shape[0]
        if not self._uses_table(batch, sampling=True):
            return super().conditional_logit(x, index)  # the units of this site, per sample
        up = self.variable("cache", "up_count", jnp.zeros, (batch,), jnp.int32)
        table = self.variable("cache", "table", jnp.zeros, (n, n), self.compute_dtype)
        if self.is_initializing():
            return jnp.zeros((batch,), self.compute_dtype)
        # m_i = m_{i-1} + [x_{i-1} = +1], restarted at each pass; the table is rebuilt from the
        # current variables once per pass, at index 0 (index is a scalar, as in ARDirectSampler)
        prev = jax.lax.dynamic_index_in_dim(x, jnp.maximum(index - 1, 0), axis=1, keepdims=False)
        m = jnp.where(index == 0, 0, up.value + (prev > 0)).astype(jnp.int32)
        up.value = m
        table.value = jax.lax.cond(index == 0, lambda: self.compute(self.table()), lambda: table.value)
        return jax.lax.dynamic_index_in_dim(table.value, index, axis=0, keepdims=False)[m]

    def direct_sample(self, uniforms: jax.Array):
        r"""A whole sampling pass, planned: ``(N, B)`` uniforms -> ``(B, N)`` spins and ``(B,)`` log q.

        What :class:`netket_arnn.sampling.ARDirectSampler` does site by site through ``conditional``,
        without the per-site call: the table once, then per site one lookup :math:`T[i, m_i]`, the
        sampler's inverse-CDF choice and the running up-spin count (:math:`O(B)` per site). Given
        the same uniforms it returns the same samples as the site-by-site pass. The conditionals
        are in ``dtype``, :math:`\log q` is accumulated in ``param_dtype`` (the hook
        :class:`~netket_arnn.models.hooks.DirectSampling`).
        """
        n, batch = uniforms.shape
        table = self.compute(self.table())
        signs = self.local_signs

        def step(carry, inputs):
            up, log_q = carry
            row, u = inputs
            p = jax.nn.sigmoid(row[up][:, None] * signs)  # as conditional computes it
            choice = jnp.sum(jnp.cumsum(p[:, :-1], axis=-1) < u.astype(p.dtype)[:, None], axis=-1)
            spin = signs[choice]
            log_q = log_q + jnp.log(jnp.take_along_axis(p, choice[:, None], axis=-1)[:, 0]).astype(log_q.dtype)
            return (up + (spin > 0), log_q), spin

        init = (jnp.zeros((batch,), jnp.int32), jnp.zeros((batch,), self.param_dtype))
        (_, log_q), spins = jax.lax.scan(step, init, (table, uniforms))
        return spins.T, log_q


def saddle_point_magnetisation(beta: float, J: float = 1.0) -> float:
    r"""The spontaneous magnetisation :math:`m_\beta \ge 0`, root of :math:`m = \tanh(\beta J m)`."""
    return curie_weiss_thermo_limit(beta, J, 0.0).abs_magnetization


class CurieWeissInfARNN(PhysicsARNN):
    r"""CW_∞: the :math:`N \to \infty` Curie–Weiss ARNN, :math:`N + 2` parameters.

    .. math::  u_i = b_0 + w_0 M_i + w^1_i\,\mathrm{sgn}(M_i), \qquad \mathrm{sgn}(0) = 0 .

    Parameters: shared ``b0`` and ``w0`` (scalars) and per-site ``w1`` ``(N,)``:
    :math:`N + 2` in total. ``start="saddle"`` starts from :math:`b_0 = 2\beta h`,
    :math:`w_0 = 2\beta J/N`, :math:`w^1_i = 2\beta J (n_i/N) m_\beta` with :math:`m_\beta` the
    root of :math:`m = \tanh(\beta J m)` (the :math:`h = 0` saddle point of THEORY §3;
    :math:`m_\beta = 0` for :math:`\beta J \le 1`); ``start="random"`` draws all of them from
    :math:`\mathcal N(0, \sigma^2)` with :math:`\sigma` = ``init_scale``. Always trainable. :math:`O(1)` per site.
    """

    beta: float
    J: float = 1.0
    h: float = 0.0
    start: str = "saddle"
    """``"saddle"`` (THEORY §3 saddle point) or ``"random"`` (small normal values)."""
    init_scale: float = 1e-2
    """standard deviation of the "random" start."""

    @classmethod
    def from_hamiltonian(
        cls,
        H,
        beta: float,
        *,
        start: str = "saddle",
        init_scale: float = 1e-2,
        param_dtype: DType = DEFAULT_PARAM_DTYPE,
        dtype: DType = DEFAULT_DTYPE,
    ):
        """CW_∞ for the Curie–Weiss Hamiltonian ``H``, started at the saddle point of ``beta``.

        ``param_dtype``, ``dtype``: the precision policy (:mod:`~netket_arnn.models.precision`).
        """
        J, h = check_curie_weiss(H, "CurieWeissInfARNN")
        param_dtype, dtype = check_precision(param_dtype, dtype)
        return cls(
            hilbert=H.hilbert,
            beta=check_beta(beta),
            J=J,
            h=h,
            start=check_choice(start, "start", {"saddle", "random"}),
            init_scale=check_scale(init_scale, "init_scale"),
            param_dtype=param_dtype,
            dtype=dtype,
        )

    def setup(self):
        check_choice(self.start, "start", {"saddle", "random"})
        n, dtype = self.hilbert.size, self.param_dtype
        self.first_layer = UniformFirstLayer(n_sites=n, param_dtype=dtype, dtype=self.compute_dtype)
        if self.start == "saddle":

            def init(name):  # evaluated only when the variables are initialised
                # a constant built by a traced op: inside a sharded init a concrete array would keep
                # its single-device placement
                return lambda _: jnp.zeros((), dtype) + jnp.asarray(self.start_params(self.beta)[name], dtype)

        else:
            shapes = {"b0": (), "w0": (), "w1": (n,)}
            init = lambda name: lambda key: normal(self.init_scale)(key, shapes[name], dtype)  # noqa: E731
        self.b0 = self.param("b0", init("b0"))
        self.w0 = self.param("w0", init("w0"))
        self.w1 = self.param("w1", init("w1"))

    def start_params(self, beta: float) -> dict:
        """The saddle-point start at ``beta`` (the class doc): ``b0, w0, w1`` as float64 NumPy arrays."""
        beta, n = check_beta(beta), self.hilbert.size
        m = saddle_point_magnetisation(beta, self.J)
        n_i = n - 1 - np.arange(n)
        return {
            "b0": np.asarray(2.0 * beta * self.h),
            "w0": np.asarray(2.0 * beta * self.J / n),
            "w1": 2.0 * beta * self.J * m * n_i / n,
        }

    def site_logits(self, xi, index):
        M = xi[:, 0]
        b0, w0, w1 = (self.compute(p) for p in (self.b0, self.w0, self.w1[index]))
        return b0 + w0 * M + w1 * jnp.sign(M)


class OneParameterARNN(PhysicsARNN):
    r"""1P baseline (THEORY §5): :math:`u_i = w_i M_i`, one parameter per site (:math:`N`).

    No bias, so a field :math:`h` cannot be represented (it is a baseline). Starts:
    ``"mean_field"`` :math:`w_i = 2\beta J/N` (the direct-coupling term of CW_N),
    ``"zeros"`` (uniform q) or ``"random"`` (:math:`\mathcal N(0, \sigma^2)`, :math:`\sigma` = ``init_scale``).
    Always trainable. :math:`O(1)` per site.
    """

    beta: float
    J: float = 1.0
    h: float = 0.0
    start: str = "mean_field"
    """``"mean_field"``, ``"zeros"`` or ``"random"``."""
    init_scale: float = 1e-2

    @classmethod
    def from_hamiltonian(
        cls,
        H,
        beta: float,
        *,
        start: str = "mean_field",
        init_scale: float = 1e-2,
        param_dtype: DType = DEFAULT_PARAM_DTYPE,
        dtype: DType = DEFAULT_DTYPE,
    ):
        """1P for the Curie–Weiss Hamiltonian ``H`` at ``beta``.

        ``param_dtype``, ``dtype``: the precision policy (:mod:`~netket_arnn.models.precision`).
        """
        J, h = check_curie_weiss(H, "OneParameterARNN")
        param_dtype, dtype = check_precision(param_dtype, dtype)
        return cls(
            hilbert=H.hilbert,
            beta=check_beta(beta),
            J=J,
            h=h,
            start=check_choice(start, "start", {"mean_field", "zeros", "random"}),
            init_scale=check_scale(init_scale, "init_scale"),
            param_dtype=param_dtype,
            dtype=dtype,
        )

    def setup(self):
        check_choice(self.start, "start", {"mean_field", "zeros", "random"})
        n, dtype = self.hilbert.size, self.param_dtype
        self.first_layer = UniformFirstLayer(n_sites=n, param_dtype=dtype, dtype=self.compute_dtype)
        if self.start == "random":
            init = lambda key: normal(self.init_scale)(key, (n,), dtype)  # noqa: E731
        else:
            value = float(self.start_params(self.beta)["w"][0]) if self.start == "mean_field" else 0.0
            init = lambda _: jnp.full((n,), value, dtype=dtype)  # noqa: E731
        self.w = self.param("w", init)

    def start_params(self, beta: float) -> dict:
        """The mean-field start at ``beta``, :math:`w_i = 2\\beta J/N` (float64 NumPy), whatever ``start`` is."""
        return {"w": np.full(self.hilbert.size, 2.0 * check_beta(beta) * self.J / self.hilbert.size)}

    def site_logits(self, xi, index):
        return self.compute(self.w[index]) * xi[:, 0]
