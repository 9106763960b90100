r"""FrontierARNN: the exact conditional of a sparse pairwise model, its future free energy learned.

**Derivation** (THEORY §2, written for a sparse coupling graph). For a pairwise Boltzmann
distribution the exact conditional of site :math:`i` is

.. math::

    u_i = \log\frac{p(x_i{=}{+1} \mid x_{<i})}{p(x_i{=}{-1} \mid x_{<i})}
        = 2\beta(h_i + \xi_{ii}) + \Phi_i(\xi_{i\cdot} + J_{i\cdot}) - \Phi_i(\xi_{i\cdot} - J_{i\cdot}),

    \Phi_i(y) = \log \sum_{x_{>i}} \exp\Bigl(\beta \sum_{l>i} (h_l + y_l)\, x_l
                + \beta \sum_{i<l<l'} J_{ll'} x_l x_{l'}\Bigr),

with the first layer :math:`\xi_{il} = \sum_{s<i} J_{sl} x_s`: :math:`\Phi_i` is the log
partition function of the unsampled spins in the fields :math:`y_l` (the sampled spins' fields
:math:`\xi_{il}`, shifted by :math:`\pm J_{il}` for the two values of :math:`x_i`); H2ARNN writes
it as a log-sum-exp over all :math:`2^{N-1-i}` configurations of :math:`x_{>i}`. On a sparse
graph :math:`\Phi_i` depends on :math:`y` only through the sites where :math:`y_l \neq 0`:

.. math::  C(i) = F(i) \cup \{\, l > i : J_{il} \neq 0 \,\},

the frontier :math:`F(i)` (later sites coupled to the past, :mod:`netket_arnn.nn.sparse`) and the
later neighbours of :math:`i` (where the shift :math:`\pm J_{il}` enters). For an :math:`L \times
L` lattice in raster order :math:`|C(i)| \approx L + 1` (open) or :math:`2L + 1` (periodic).

**The net.** :math:`\Phi_i` is replaced by a learned function of the :math:`|C(i)|` inputs, a
per-site multilayer network with softplus units,

.. math::

    \Phi_i(y) = v_i \cdot a^{(D)},\quad a^{(d)} = \operatorname{softplus}(W^{(d)}_i a^{(d-1)} + b^{(d)}_i),
    \quad a^{(0)} = y_{C(i)},

    u_i = a_i\, \xi_{ii} + c_i + \lambda_i \cdot \xi_{i,C(i)}
          + \Phi_i(\xi_{i,C(i)} + J_{i,C(i)}) - \Phi_i(\xi_{i,C(i)} - J_{i,C(i)}).

The linear term is the quadratic (Gaussian) part of the future free energy: expanding
:math:`\log Z_{>i}` to second order in the boundary fields, :math:`\Phi_i(y) \approx \Phi_0 +
m\cdot y + \tfrac12 y^\top A y` with :math:`A = \beta^2 \chi` (the connected correlations of
the unsampled spins), gives :math:`\Phi(y+J) - \Phi(y-J) = 2 m\cdot J + 2 J^\top A y`, linear in
the frontier fields; :math:`\lambda_i` (:math:`= 2AJ`) carries it from the start and the
network learns the rest. It is held at zero on sites without later neighbours, where the exact
future term vanishes.

With one hidden layer of width :math:`K`, :math:`\Phi_i(y) = \sum_k v_k \log(1 + e^{b_k + w_k
\cdot y})` is the log partition function of :math:`K` binary hidden units coupled to the
inputs (an RBM marginal: the :math:`2^{N-1-i}` configurations of the exact layer replaced by
:math:`2^K` learned ones); it can represent any function of finitely many input values, so the
net is exact-capable, unlike the SK_kRSB mixture, which is a sum of one-input functions
:math:`\phi_{il}(\xi_{il})`. The same :math:`\Phi_i` serves both signs, as in the exact form:
where :math:`x_i` has no later neighbour the two shifts are equal and the logit is the exact
"no-future" conditional :math:`a_i \xi_{ii} + c_i`. The first linear map is shared by the two
shifts (:math:`W(\xi \pm J) = W\xi \pm WJ`, the second term parameter-like), so a site costs one
:math:`|C(i)| \times K` product per sample: :math:`O(B\,|C(i)|\,K)` while sampling.

**Parameters** (collection ``"params"``; ``Wc = max_i |C(i)|``, padded slots read zero inputs):

==============  =====================  ================================================================================
name            shape                  meaning, initial value
==============  =====================  ================================================================================
``skip``        ``(N,)``               :math:`a_i`, starts at :math:`2\beta`
``bias``        ``(N,)``               :math:`c_i`, starts at :math:`2\beta h_i`
``kernel_0``    ``(N, Wc, K_0)``       first layer of :math:`\Phi_i`, :math:`\mathcal N(0, 1/Wc)`
``kernel_d``    ``(N, K_{d-1}, K_d)``  deeper layers, :math:`\mathcal N(0, 1/K_{d-1})`
``hidden_b_d``  ``(N, K_d)``           biases, 0
``v``           ``(N, K_{D})``         output weights, :math:`\mathcal N(0, \sigma^2)`, :math:`\sigma` = ``init_scale``
``linear``      ``(N, Wc)``            :math:`\lambda_i`, 0
==============  =====================  ================================================================================

so the initial net is the no-future conditional :math:`2\beta(\xi_{ii} + h_i)` plus a small
random correction. ``learn_couplings=True`` makes the ``E`` edge weights of the first layer
trainable (``params["first_layer"]["kernel"]``); the shifts :math:`\pm J_{il}` then use the
learned couplings. Parameter count: :func:`frontier_n_params`.

**Passes.** Sampling (``conditional``) advances the :class:`~netket_arnn.nn.SparseFirstLayer`
state by the later neighbours of the previous site and evaluates :math:`\Phi_i` on the
:math:`|C(i)|` gathered fields: :math:`O(B (|C(i)| K + D_f))` per site. The batched pass
(:meth:`FrontierARNN.logits`) evaluates chunks of sites on their frontier fields
(:func:`netket_arnn.nn.sparse.frontier_fields`), a :func:`jax.lax.scan` over chunks, each
rematerialised in the backward pass: nothing of size :math:`N^2`.

**Precision** (:mod:`~netket_arnn.models.precision`): parameters and :math:`\log q` in
``param_dtype`` (float64 by default), the per-sample arithmetic in ``dtype`` (float32 by default).
"""

from __future__ import annotations

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray
from netket.utils.types import DType

from .._validation import check_beta, check_positive_int, check_scale
from ..nn.sparse import FrontierLayout, SparseFirstLayer, columns_at, edge_weights_at, frontier_layout
from ..operators._checks import check_model_hamiltonian
from .base import PhysicsARNN, hashable
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision

__all__ = ["FrontierARNN", "InputLayout", "frontier_n_params", "input_layout"]


@dataclasses.dataclass(frozen=True, eq=False)
class InputLayout:
    """Static tables of the inputs :math:`C(i) = F(i) \\cup \\{l > i: J_{il} \\neq 0\\}` of each site.

    ``N`` sites, ``E`` edges, ``Wc = max(1, max_i |C(i)|)`` slots per site.
    """

    frontier: FrontierLayout
    sizes: np.ndarray
    """``(N,)`` :math:`|C(i)|`."""
    cols: np.ndarray
    """``(N, Wc)`` the sites of :math:`C(i)` in increasing order, padded with the dummy site ``N``."""
    shift_edge: np.ndarray
    """``(N, Wc)`` edge id of :math:`(i, l)` for each slot, ``E`` (weight 0) where ``l`` is not a neighbour of ``i``."""

    @property
    def width(self) -> int:
        """Padded number of input slots ``Wc``."""
        return int(self.cols.shape[1])


def input_layout(n_sites: int, edges) -> InputLayout:
    """The :class:`InputLayout` of ``n_sites`` spins coupled along the ``(E, 2)`` pairs ``edges`` (``i < j``)."""
    return _input_layout(frontier_layout(n_sites, edges))


@functools.lru_cache(maxsize=32)
def _input_layout(layout: FrontierLayout) -> InputLayout:
    n, n_edges = layout.n_sites, layout.n_edges
    rows = []
    for i in range(n):
        cols = {int(c): n_edges for c in layout.cols[i, : layout.sizes[i]]}
        for dst, edge in zip(layout.fwd_dst[i], layout.fwd_edge[i], strict=True):
            if dst < n:
                cols[int(dst)] = int(edge)
        rows.append(sorted(cols.items()))
    sizes = np.array([len(r) for r in rows], dtype=np.int64)
    width = max(int(sizes.max(initial=0)), 1)
    cols = np.full((n, width), n, dtype=np.int32)
    shift_edge = np.full((n, width), n_edges, dtype=np.int32)
    for i, r in enumerate(rows):
        if r:
            cols[i, : len(r)], shift_edge[i, : len(r)] = zip(*r, strict=True)
    return InputLayout(layout, sizes, cols, shift_edge)


def _check_features(features) -> tuple[int, ...]:
    if isinstance(features, int | np.integer):
        features = (features,)
    try:
        features = tuple(features)
    except TypeError:
        raise TypeError(f"features must be a positive int or a tuple of them, got {features!r}") from None
    if not features:
        raise ValueError("features must name at least one hidden layer width, got ()")
    return tuple(check_positive_int(k, "features (hidden widths)") for k in features)


def frontier_n_params(H, features=(16,), *, learn_couplings: bool = False) -> int:
    r"""Number of trainable parameters of ``FrontierARNN.from_hamiltonian(H, β, features, ...)``.

    .. math::  2N + N\bigl(W_c K_0 + \textstyle\sum_{d \ge 1} K_{d-1} K_d + \sum_d K_d + K_D + W_c\bigr)
               \;[+\; E \text{ with learned couplings}]

    counting the padded input slots (``Wc`` per site; they read zeros and get no gradient) and the
    linear weights of sites without later neighbours (held at zero).
    """
    check_model_hamiltonian(H, "frontier_n_params")
    features = _check_features(features)
    n = H.n_sites
    width = input_layout(n, np.asarray(H.edges)).width
    dims = (width, *features)
    per_site = sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=True)) + sum(features) + features[-1] + width
    return 2 * n + n * per_site + (H.n_edges if learn_couplings else 0)


class FrontierARNN(PhysicsARNN):
    r"""The exact sparse conditional with a learned future free energy :math:`\Phi_i` (see the module doc).

    Build it with :meth:`from_hamiltonian`. Fields (all static):

    - ``features``: hidden widths of :math:`\Phi_i` (one per layer; ``(16,)``: one layer of 16).
    - ``beta``, ``fields``: used only to initialise ``skip = 2β`` and ``bias = 2βh``.
    - ``couplings``, ``edges``: the ``(E,)`` edge weights and ``(E, 2)`` pairs ``(i, j)``, ``i < j``.
    - ``learn_couplings``, ``couplings_init_scale``: a trainable first layer (as in
      :class:`~netket_arnn.models.SpinGlassARNN`).
    - ``init_scale``: standard deviation of the random start of the output weights ``v``.
    - ``chunk_elements``: memory budget (numbers held at once) of the batched pass.
    """

    features: tuple[int, ...] = (16,)
    beta: float = 1.0
    couplings: HashableArray | None = None
    edges: HashableArray | None = None
    fields: HashableArray | None = None
    learn_couplings: bool = False
    couplings_init_scale: float | None = None
    init_scale: float = 0.01
    chunk_elements: int = 2**24

    @classmethod
    def from_hamiltonian(
        cls,
        H,
        beta: float,
        features=(16,),
        *,
        learn_couplings: bool = False,
        couplings_init_scale: float | None = None,
        init_scale: float = 0.01,
        chunk_elements: int = 2**24,
        param_dtype: DType = DEFAULT_PARAM_DTYPE,
        dtype: DType = DEFAULT_DTYPE,
    ) -> FrontierARNN:
        r"""FrontierARNN for ``H`` (its nonzero couplings are the graph) at ``beta`` (the start only).

        Args:
            H: a :class:`~netket_arnn.PairwiseIsing` Hamiltonian, sparse or dense (a dense one
                uses its nonzero couplings as edges).
            beta: inverse temperature, > 0: ``skip = 2β``, ``bias = 2βh`` initially.
            features: hidden widths of :math:`\Phi_i`, an int (one layer) or a tuple.
            learn_couplings: make the edge weights of the first layer trainable.
            couplings_init_scale: std of the random start of learned couplings (None: ``H``'s).
            init_scale: std of the random start of the output weights ``v``.
            chunk_elements: memory budget of the batched pass (numbers held at once).
            param_dtype: dtype of the parameters and of log q (default float64).
            dtype: dtype of the per-sample arithmetic (default float32).
        """
        check_model_hamiltonian(H, "FrontierARNN")
        param_dtype, dtype = check_precision(param_dtype, dtype)
        return cls(
            hilbert=H.hilbert,
            features=_check_features(features),
            beta=check_beta(beta),
            couplings=hashable(H.edge_weights),
            edges=hashable(H.edges, np.int64),
            fields=hashable(H.fields),
            learn_couplings=bool(learn_couplings),
            couplings_init_scale=check_scale(couplings_init_scale, "couplings_init_scale", allow_none=True),
            init_scale=check_scale(init_scale, "init_scale"),
            chunk_elements=check_positive_int(chunk_elements, "chunk_elements"),
            param_dtype=param_dtype,
            dtype=dtype,
        )

    # -- static structure ----------------------------------------------------------------------
    @property
    def inputs(self) -> InputLayout:
        """The input tables :math:`C(i)` of the coupling graph."""
        return input_layout(self.hilbert.size, np.asarray(self.edges).reshape(-1, 2))

    def _validate(self):
        n = self.hilbert.size
        check_beta(self.beta)
        _check_features(self.features)
        if self.couplings is None or self.edges is None:
            raise ValueError("FrontierARNN needs `couplings` and `edges`; build it with FrontierARNN.from_hamiltonian")
        n_edges = np.asarray(self.edges).reshape(-1, 2).shape[0]
        if np.asarray(self.couplings).shape != (n_edges,):
            raise ValueError(
                f"couplings must be one weight per edge, shape ({n_edges},), got {np.asarray(self.couplings).shape}"
            )
        if self.fields is not None and np.asarray(self.fields).shape != (n,):
            raise ValueError(f"fields must have shape ({n},), got {np.asarray(self.fields).shape}")
        check_scale(self.init_scale, "init_scale")
        check_positive_int(self.chunk_elements, "chunk_elements")

    def setup(self):
        self._validate()
        n, dtype = self.hilbert.size, self.param_dtype
        self.first_layer = SparseFirstLayer(
            n_sites=n,
            values=self.couplings,
            learn_couplings=self.learn_couplings,
            couplings_init_scale=self.couplings_init_scale,
            param_dtype=dtype,
            dtype=self.compute_dtype,
            edges=HashableArray(np.asarray(self.edges).reshape(-1, 2)),
        )
        start = self.start_params(self.beta)

        def given(name):
            # a constant built by a traced op: inside a sharded init a concrete array would keep its
            # single-device placement (as SpinGlassARNN's start)
            return lambda key, shape, dt: jnp.zeros(shape, dt) + jnp.asarray(start[name], dt)

        self.skip = self.param("skip", given("skip"), (n,), dtype)
        self.bias = self.param("bias", given("bias"), (n,), dtype)
        dims = (self.inputs.width, *self.features)
        self.kernels = [
            self.param(f"kernel_{d}", nn.initializers.normal(1.0 / np.sqrt(a)), (n, a, b), dtype)
            for d, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True))
        ]
        self.hidden_biases = [
            self.param(f"hidden_b_{d}", nn.initializers.zeros, (n, k), dtype) for d, k in enumerate(self.features)
        ]
        self.v = self.param("v", nn.initializers.normal(self.init_scale), (n, self.features[-1]), dtype)
        # a site without later neighbours has equal shifts, hence no future term: its linear part is held at 0
        has_future = np.any(self.inputs.shift_edge < np.asarray(self.edges).reshape(-1, 2).shape[0], axis=1)
        linear = self.param("linear", nn.initializers.zeros, (n, self.inputs.width), dtype)
        self.linear = linear * jnp.asarray(has_future, dtype)[:, None]

    # -- the physics -------------------------------------------------------------------------
    def start_params(self, beta: float) -> dict:
        r"""The physics start at ``beta``: ``skip`` :math:`= 2\beta`, ``bias`` :math:`= 2\beta h` (float64 NumPy).

        The no-future conditional :math:`2\beta(\xi_{ii} + h_i)`, the part of the exact logit that is
        proportional to β; the learned future free energy starts near zero and is not part of it.
        A training protocol with ``shift_start`` moves these two by their change from β to β
        (:func:`~netket_arnn.models.hooks.shift_to_beta`), keeping what training added.
        """
        beta = check_beta(beta)
        n = self.hilbert.size
        h = np.zeros(n) if self.fields is None else np.asarray(self.fields, dtype=np.float64)
        return {"skip": np.full(n, 2.0 * beta), "bias": 2.0 * beta * h}

    def _shifts(self) -> jax.Array:
        r"""``(N, Wc)`` :math:`J_{i,C(i)}` in the compute dtype (0 on slots that are not neighbours of ``i``)."""
        return edge_weights_at(
            self.first_layer.stored().astype(self.compute_dtype), jnp.asarray(self.inputs.shift_edge)
        )

    def _shift_row(self, index) -> jax.Array:
        """``(Wc,)``: row ``index`` of :meth:`_shifts`, without building the others (the sampling pass)."""
        edge = jnp.asarray(self.inputs.shift_edge)[index]  # (Wc,), padding = E
        return edge_weights_at(self.first_layer.stored().astype(self.compute_dtype), edge)

    def _future(self, y, shift, linear, kernels, biases, v):
        r""":math:`\Phi(y + J) - \Phi(y - J)` for inputs ``y`` ``(..., R, Wc)`` of rows with parameters ``(R, ...)``."""
        return self._future_parts(y, shift, linear, kernels, biases, v)[0]

    def _future_parts(self, y, shift, linear, kernels, biases, v):
        r"""The odd and even parts in the shift, :math:`\Phi(y + J) - \Phi(y - J) + \lambda \cdot y` and
        :math:`\tfrac12[\Phi(y + J) + \Phi(y - J)]`, each ``(..., R)``."""
        z = jnp.einsum("...rw,rwk->...rk", y, kernels[0]) + biases[0]
        dz = jnp.einsum("rw,rwk->rk", shift, kernels[0])
        outs = []
        for sign in (1.0, -1.0):
            a = jax.nn.softplus(z + sign * dz)
            for kernel, bias in zip(kernels[1:], biases[1:], strict=True):
                a = jax.nn.softplus(jnp.einsum("...rk,rkm->...rm", a, kernel) + bias)
            outs.append(jnp.einsum("...rk,rk->...r", a, v))
        # the quadratic part of Φ, ½ yᵀAy, contributes the linear term 2 Jᵀ A y = linear · y
        return outs[0] - outs[1] + jnp.einsum("...rw,rw->...r", y, linear), 0.5 * (outs[0] + outs[1])

    def _compute(self, params):
        return [p.astype(self.compute_dtype) for p in params]

    def site_logits(self, xi: jax.Array, index) -> jax.Array:
        r""":math:`u_i` of one site from ``(B, N)`` :math:`\xi_{i\cdot}` (see the module doc).

        .. math:: u_i = a_i \xi_{ii} + c_i + \Phi_i(\xi_{iC} + J_{iC}) - \Phi_i(\xi_{iC} - J_{iC})
                  + \lambda_i \cdot \xi_{iC}
        """
        y = columns_at(xi, jnp.asarray(self.inputs.cols)[index])  # (B, Wc), padding = N reads 0
        take = lambda p: jax.lax.dynamic_index_in_dim(p, index, axis=0, keepdims=True)  # noqa: E731
        kernels = self._compute([take(k) for k in self.kernels])
        biases = self._compute([take(b) for b in self.hidden_biases])
        v, linear = self._compute([take(self.v), take(self.linear)])
        shift = self._shift_row(index)[None, :]
        diag = jax.lax.dynamic_index_in_dim(xi, index, axis=1, keepdims=False)
        skip, bias = self._compute([self.skip[index], self.bias[index]])
        future = self._future(y[:, None, :], shift, linear, kernels, biases, v)[:, 0]
        return skip * diag + bias + future

    # -- planned batched pass ----------------------------------------------------------------------
    def logits(self, x: jax.Array) -> jax.Array:
        r"""All logits :math:`u_i(x_{<i})` ``(B, N)``, in chunks of sites (differentiable, chunks rematerialised).

        Batch-last inside: the fields of a chunk are gathered as contiguous rows of :math:`x^T`
        (one ``B``-vector per earlier neighbour), several times faster on CPUs than gathering
        single entries of every sample.
        """
        return self.logits_and_future_log_z(x)[0]

    def logits_and_future_log_z(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        r"""All logits :math:`u_i` and the even part of the learned future free energy, both ``(B, N)``:

        .. math::  S_i(x_{<i}) = \tfrac12\bigl[\Phi_i(\xi_{iC} + J_{iC}) + \Phi_i(\xi_{iC} - J_{iC})\bigr],

        the net's :math:`\log Z` of the spins after :math:`i`, averaged over the two values of
        :math:`x_i` and known up to a constant per site (the logits fix only the odd part). The
        local-balance term of :func:`netket_arnn.driver.free_energy_and_grad` trains it.
        """
        batch, n = x.shape
        plan = _chunk_plan(self.inputs, batch, max(self.features), int(self.chunk_elements))
        m, chunk = plan.src.shape[:2]
        pad = m * chunk - n

        def blocks(p):
            p = jnp.pad(p, ((0, pad),) + ((0, 0),) * (p.ndim - 1))
            return p.reshape(m, chunk, *p.shape[1:])

        params = self._compute(
            [self.skip, self.bias, self._shifts(), self.linear, self.v, *self.kernels, *self.hidden_biases]
        )
        coeffs = edge_weights_at(self.first_layer.stored().astype(x.dtype), jnp.asarray(plan.edge))
        xs = (jnp.asarray(plan.src), coeffs, *[blocks(p) for p in params])
        x_t = jnp.concatenate([x.T, jnp.zeros((1, batch), x.dtype)], axis=0)  # (N + 1, B), row N = padding
        depth = len(self.features)

        @jax.checkpoint
        def chunk_step(_, block):
            src, coeff, skip, bias, shift, linear, v, *rest = block
            xi = jnp.einsum("ctdb,ctd->cbt", x_t[src], coeff)  # (C, B, 1 + Wc)
            y = jnp.moveaxis(xi[..., 1:], 1, 0)  # (B, C, Wc)
            odd, even = self._future_parts(y, shift, linear, rest[:depth], rest[depth:], v)  # (B, C) each
            return None, (skip * xi[..., 0].T + bias + odd, even)

        _, (u, even) = jax.lax.scan(chunk_step, None, xs)  # (M, B, C) each

        def unchunk(a):
            return a.transpose(1, 0, 2).reshape(batch, m * chunk)[:, :n]

        return unchunk(u), unchunk(even)


@dataclasses.dataclass(frozen=True, eq=False)
class _ChunkPlan:
    src: np.ndarray
    """``(M, C, 1 + Wc, Db)`` earlier neighbours ``s < i`` of each slot's site (padding ``N``)."""
    edge: np.ndarray
    """``(M, C, 1 + Wc, Db)`` their edge ids (padding ``E``, weight 0)."""


@functools.lru_cache(maxsize=64)
def _chunk_plan(table: InputLayout, batch: int, hidden: int, chunk_elements: int) -> _ChunkPlan:
    r"""Sites cut into chunks of ``C`` rows; slot 0 of a row is the row itself (:math:`\xi_{ii}`), then ``C(i)``."""
    layout = table.frontier
    n, width = layout.n_sites, table.width
    per_row = batch * (2 + width * (1 + layout.back_src.shape[1]) + 4 * hidden)
    chunk = int(np.clip(chunk_elements // per_row, 1, n))
    m = -(-n // chunk)
    ext = np.concatenate([np.arange(n, dtype=np.int32)[:, None], table.cols], axis=1)
    ext = np.pad(ext, ((0, m * chunk - n), (0, 0)), constant_values=n)  # (M*C, 1 + Wc)
    rows = np.arange(m * chunk)[:, None, None]
    src, edge = layout.back_src[ext], layout.back_edge[ext]  # (M*C, 1 + Wc, Db)
    # only neighbours sampled before the row count (padding sites have none)
    early = src < rows
    src = np.where(early, src, n).astype(np.int32)
    edge = np.where(early, edge, layout.n_edges).astype(np.int32)
    shape = (m, chunk, 1 + width, src.shape[-1])
    return _ChunkPlan(src.reshape(shape), edge.reshape(shape))
