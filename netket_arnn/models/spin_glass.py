r"""SK_kRSB: the replica-derived spin-glass ARNNs, dense or with sparse couplings (THEORY §4).

For site :math:`i` the network outputs the logit
:math:`u_i = \log q(x_i{=}{+1} \mid x_{<i}) - \log q(x_i{=}{-1} \mid x_{<i})`,

.. math::

    u_i = a_i\, \xi_{ii} + c_i
          + \sum_{l>i} v^+_{il}\, \phi^+_{il}(\xi_{il}) - \sum_{l>i} v^-_{il}\, \phi^-_{il}(\xi_{il}),
    \qquad q(x_i \mid x_{<i}) = \sigma(x_i u_i),

with the exact couplings first layer :math:`\xi_{il} = \sum_{s<i} J_{sl} x_s` (THEORY §2)
and, for every pair :math:`(i, l)` and sign, a chain of :math:`k+1` log-sigmoid units
(:mod:`netket_arnn.nn.chains`)

.. math::  \phi(u) = \log\sigma\bigl(b_{k} + w_{k} \log\sigma(\dots \log\sigma(b_0 + w_0 u)\dots)\bigr).

``k = 0`` is SK_RS, ``k = 1`` SK_1RSB, ``k = 2`` SK_2RSB; any ``k >= 0`` works.

**The ±J shift.** In the exact form :math:`\rho^\pm_i` is the partition function of the
unsampled spins in the fields :math:`\pm J_{il} + h_l + \xi_{il}`. The chains here act on
:math:`\xi_{il}` itself, as in the paper's code: each :math:`(i, l, \pm)` has its own
innermost bias :math:`b_0`, and :math:`b_0 + w_0 (\xi \pm J_{il} + h_l)` is
:math:`b_0' + w_0 \xi` with :math:`b_0' = b_0 + w_0(\pm J_{il} + h_l)`. With fixed couplings
the two parametrisations describe exactly the same family; keeping the shift out of the
network keeps the chains independent of :math:`J` (cheaper, and well defined when the first
layer is learned).

**Parameters** (collection ``"params"``; ``P`` = number of pairs with units, ``K = k + 1``):

=========  ==============  ================================================================
name       shape           meaning, initial value
=========  ==============  ================================================================
``skip``   ``(N,)``        skip weight :math:`a_i`, starts at :math:`2\beta`
``bias``   ``(N,)``        bias :math:`c_i`, starts at :math:`2\beta h_i`
``w``      ``(K, 2, P)``   chain weights, ``w[j, 0]``: unit ``j`` (innermost first) of the ``+`` chain
``b``      ``(K, 2, P)``   chain biases, same layout
``v``      ``(2, P)``      output weights :math:`v^+, v^-`
=========  ==============  ================================================================

**Start** (``start``). ``"random"`` (default): ``w``, ``b``, ``v`` i.i.d. :math:`\mathcal N(0, \sigma^2)`
with :math:`\sigma` = ``init_scale`` (default 0.01), ``a_i = 2β``, ``c_i = 2βh_i``: the "no-future"
conditional :math:`u_i \approx 2\beta(\xi_{ii} + h_i)` plus a small random correction.
``"decoupled"``: the network starts at the exact conditional
of the distribution in which the unsampled spins do not interact among themselves. Then
:math:`\rho^\pm_i = \prod_{l>i} 2\cosh\beta(h_l + \xi_{il} \pm J_{il})`, and with
:math:`\log 2\cosh y = y - \log\sigma(2y)`

.. math::

    u_i = 2\beta\xi_{ii} + 2\beta h_i + \sum_{l>i} \Bigl[2\beta J_{il}
          - \log\sigma\bigl(2\beta(\xi_{il} + h_l + J_{il})\bigr)
          + \log\sigma\bigl(2\beta(\xi_{il} + h_l - J_{il})\bigr)\Bigr],

which is the network with :math:`a_i = 2\beta`, :math:`c_i = 2\beta(h_i + \sum_{l>i} J_{il})`,
innermost units :math:`w_0 = 2\beta`, :math:`b_0^\pm = 2\beta(h_l \pm J_{il})`, :math:`v^\pm = -1`, and
the outer units of :math:`k \ge 1` chains in their linear regime (:math:`w = 1`,
:math:`b = -14`: :math:`\log\sigma(y) = y - O(e^{y})`, the constants cancel between the two
chains). It is exact for couplings where no two unsampled spins interact (a star), exact to
leading order at high temperature, and on SK instances (N = 12, 18) it is 20–200 times closer to
:math:`p` than the small random start at β = 0.2–0.5 and 6–8 times at β = 1–1.5. (Sparse: the
pairs without units, whose :math:`\xi_{il} \equiv 0`, add their constant term to :math:`c_i`.)
A first layer learned from a random start (``couplings_init_scale``) has no decoupled start (its
couplings are not known; asking for both is an error). :meth:`SpinGlassARNN.start_params` gives the
decoupled parameters at any β; the training protocols start from them
(``AnnealProtocol(physics_start=True)``, the default protocol) and move them from β to β.

**Centred outputs** (``centred``, default ``True``). Each chain's output is taken relative to its
value at :math:`\xi = 0`, so that

.. math::

    u_i = a_i\, \xi_{ii} + c_i + \sum_{l>i} v^+_{il} \bigl[\phi^+_{il}(\xi_{il}) - \phi^+_{il}(0)\bigr]
          - v^-_{il} \bigl[\phi^-_{il}(\xi_{il}) - \phi^-_{il}(0)\bigr].

The subtracted terms do not depend on :math:`x`, so the family of conditionals is exactly the
paper's (``centred=False``): the centred network with bias :math:`c_i` is the plain one with bias
:math:`c_i - C_i`, :math:`C_i = \sum_l v^+_{il}\phi^+_{il}(0) - v^-_{il}\phi^-_{il}(0)`
(:meth:`SpinGlassARNN.output_offsets`). What changes is the training: the gradient with respect
to :math:`v^\pm_{il}` is the chain's :math:`x`-dependent part only. Plain, it carries
:math:`\phi(0)`, the same for every sample, which for the decoupled start's outer units is about
-14: an optimizer whose steps do not shrink with the gradient (Adam) then moves every logit by
about 14 times its learning rate per pair, ~N·14·lr in all. Measured: ten Adam steps at 1e-3 from
the decoupled start of an SK instance (N = 12, β = 0.2) raise KL(q‖p) 1,700-fold plain and leave
it unchanged centred; on a published N = 100 instance (seed 1) the default protocol, plain, ends
1.5–7 times the tolerance above the paper's f[q] at β = 0.45–0.65 (two standard errors), centred
at or below it at every β up to 0.65 (the training guide's time to solution). The cost is one
chain evaluation per pair (not per sample) per pass.

Parameter count: :math:`(4k+6)P + 2N`, with :math:`P = N(N-1)/2` for dense couplings (the
paper's count) and :math:`P` = number of frontier pairs (:mod:`netket_arnn.nn.sparse`) for
sparse couplings; a trainable first layer adds :math:`N(N-1)/2` (dense) or :math:`E` (sparse,
one weight per edge). See :func:`spin_glass_n_params`.

**Pair order** (how a packed ``(…, P)`` array maps to pairs): dense, the upper triangle
``(i, l), l > i`` row by row (``np.triu_indices(N, 1)``); sparse, the frontier pairs in
``(i, l)`` order (:attr:`FrontierLayout.pair_rows`, :attr:`~FrontierLayout.pair_cols`).

**Passes.** The first layer is :class:`netket_arnn.nn.PackedFirstLayer` (dense) or
:class:`netket_arnn.nn.SparseFirstLayer` (sparse). Sampling advances its state by one row per
site and evaluates the chains of one row (:meth:`SpinGlassARNN.site_logits`): :math:`O(B N (k+1))`
per site dense, :math:`O(B (W (k+1) + D))` sparse. The batched pass (``__call__``, ``logits``)
is planned in :mod:`~netket_arnn.models._spin_glass_dense` (folded site chunks) and
:mod:`~netket_arnn.models._spin_glass_sparse` (frontier chunks), in batch tiles that fit the CPU
caches; :meth:`~netket_arnn.models.PhysicsARNN.reference_logits` is the plain computation beside
them. :meth:`SpinGlassARNN.log_prob_vjp` is the gradient of :math:`\sum_b g_b \log q(x_b)` in
one pass with the backward written out, which the package's drivers use.

**Precision** (:mod:`~netket_arnn.models.precision`, the policy of every model): ``param_dtype``
(float64 by default) holds the parameters and accumulates log q; ``dtype`` (float32 by default) is
the arithmetic of the network: the chains are elementwise transcendental work, several times
faster in float32 on CPUs. ``dtype=jnp.float64`` switches to full double precision.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.special
from netket.utils import HashableArray
from netket.utils.types import DType

from .._validation import check_beta, check_non_negative_int, check_positive_int, check_scale
from ..nn.chains import signed_chain_sum, signed_chain_terms
from ..nn.dense import PackedFirstLayer, packed_index
from ..nn.sparse import SparseFirstLayer, columns_at, frontier_layout
from ..operators._checks import check_model_hamiltonian
from ._spin_glass_dense import dense_log_prob_vjp, dense_logits
from ._spin_glass_sparse import sparse_log_prob_vjp, sparse_logits
from .base import PhysicsARNN, hashable
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision

__all__ = ["SpinGlassARNN", "spin_glass_n_params"]


def _check_k(k) -> int:
    return check_non_negative_int(k, "k (number of RSB steps)")


STARTS = ("decoupled", "random")
# The outer units of a decoupled start: log σ(b + z) = b + z - log(1 + e^{b + z}), linear in z to e^b = 8e-7.
_LINEAR_REGIME_BIAS = -14.0


def _check_start(start) -> str:
    if start not in STARTS:
        raise ValueError(f"start must be one of {', '.join(map(repr, STARTS))}, got {start!r}")
    return start


def _log_2cosh(y):
    y = np.abs(y)
    return y + np.log1p(np.exp(-2.0 * y))


def _chain_terms_at_zero(w: np.ndarray, b: np.ndarray, v: np.ndarray) -> np.ndarray:
    r"""``(P,)`` :math:`v^+\phi^+(0) - v^-\phi^-(0)` in float64 NumPy (see ``signed_chain_terms``)."""
    u = np.zeros(w.shape[1:])
    for j in range(w.shape[0]):
        u = scipy.special.log_expit(b[j] + w[j] * u)
    return v[0] * u[0] - v[1] * u[1]


def _coupling_matrix(model) -> scipy.sparse.csr_matrix:
    """The model's couplings as a symmetric sparse ``(N, N)`` matrix (dense or edge list)."""
    n = model.hilbert.size
    values = np.asarray(model.couplings, dtype=np.float64)
    if model.edges is None:
        return scipy.sparse.csr_matrix(values)
    edges = np.asarray(model.edges)
    upper = scipy.sparse.coo_matrix((values, (edges[:, 0], edges[:, 1])), shape=(n, n))
    return (upper + upper.T).tocsr()


def spin_glass_n_params(H, k: int, *, learn_couplings: bool = False, sparse: bool | None = None) -> int:
    r"""Number of trainable parameters of ``SpinGlassARNN.from_hamiltonian(H, β, k, ...)``.

    .. math::  (4k + 6)\,P + 2N \;[+\; N(N-1)/2 \text{ dense, or } E \text{ sparse, with learned couplings}]

    with :math:`P = N(N-1)/2` dense (the paper's :math:`(4k+6)N(N-1)/2 + 2N`) and :math:`P`
    the number of frontier pairs sparse. ``sparse`` defaults to ``H.is_sparse``.
    """
    check_model_hamiltonian(H, "spin_glass_n_params")
    k = _check_k(k)
    n = H.n_sites
    sparse = H.is_sparse if sparse is None else bool(sparse)
    if sparse:
        pairs = frontier_layout(n, np.asarray(H.edges)).n_pairs
        first = H.n_edges
    else:
        pairs = first = n * (n - 1) // 2
    return (4 * k + 6) * pairs + 2 * n + (first if learn_couplings else 0)


class SpinGlassARNN(PhysicsARNN):
    r"""SK_kRSB autoregressive network for a pairwise Ising Hamiltonian (see the module doc).

    Build it with :meth:`from_hamiltonian`. Fields (all static):

    - ``k``: number of RSB steps; each pair has two chains of ``k + 1`` units.
    - ``beta``, ``fields``: used only to initialise ``skip = 2β`` and ``bias = 2βh``.
    - ``couplings``: dense ``(N, N)`` symmetric matrix, or with ``edges`` the ``(E,)`` edge
      weights (sparse model, units only for frontier pairs).
    - ``learn_couplings``: the first-layer couplings become the trainable parameter
      ``params["first_layer"]["kernel"]`` (dense: the ``N(N-1)/2`` upper triangle, row-major;
      sparse: the ``E`` edge weights), started from ``couplings``, or i.i.d.
      :math:`\mathcal N(0, \sigma^2)` with :math:`\sigma` = ``couplings_init_scale`` when that is given. Otherwise they
      are fixed, in the ``"couplings"`` collection.
    - ``init_scale``: standard deviation of the random start of ``w``, ``b``, ``v``.
    - ``start``: ``"random"`` (default) or ``"decoupled"`` (the exact conditional with
      non-interacting unsampled spins at ``beta``); see the module doc.
    - ``centred``: every chain's output taken relative to its value at :math:`\xi = 0` (module doc).
    - ``chunk_elements``: memory budget (numbers held at once) of the batched pass; sets the
      site-chunk size (its ``chunk_elements`` budget).
    """

    k: int = 1
    beta: float = 1.0
    couplings: HashableArray | None = None
    edges: HashableArray | None = None
    fields: HashableArray | None = None
    learn_couplings: bool = False
    couplings_init_scale: float | None = None
    init_scale: float = 0.01
    start: str = "random"
    centred: bool = True
    chunk_elements: int = 2**25

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_hamiltonian(
        cls,
        H,
        beta: float,
        k: int = 1,
        *,
        learn_couplings: bool = False,
        couplings_init_scale: float | None = None,
        init_scale: float = 0.01,
        start: str = "random",
        centred: bool = True,
        sparse: bool | None = None,
        chunk_elements: int = 2**25,
        param_dtype: DType = DEFAULT_PARAM_DTYPE,
        dtype: DType = DEFAULT_DTYPE,
    ) -> SpinGlassARNN:
        r"""SK_kRSB network for ``H`` at inverse temperature ``beta`` (used for the start only).

        Args:
            H: a :class:`~netket_arnn.PairwiseIsing` Hamiltonian.
            beta: inverse temperature, > 0: ``skip = 2β``, ``bias = 2β h`` initially.
            k: RSB steps (0: SK_RS, 1: SK_1RSB, 2: SK_2RSB, any integer >= 0).
            learn_couplings: make the first layer trainable (see the class doc).
            couplings_init_scale: std of the random start of a learned first layer (None:
                start from ``H``'s couplings).
            init_scale: std of the random start of ``w``, ``b``, ``v`` (``start="random"``).
            start: ``"random"`` (default: small random chains) or ``"decoupled"`` (the exact
                conditional of non-interacting unsampled spins at ``beta``); see the module doc.
            centred: chain outputs relative to their value at :math:`\xi = 0` (default; the same
                family of conditionals, better conditioned for training); ``False`` is the
                paper's parametrisation. See the module doc.
            sparse: units only for frontier pairs of the coupling graph; default
                ``H.is_sparse``. ``True`` on a dense ``H`` uses its nonzero couplings as edges;
                ``False`` on a sparse ``H`` builds the dense model from ``H.couplings``.
            chunk_elements: memory budget of the batched pass (numbers held at once).
            param_dtype: dtype of the parameters and of log q, ``jnp.float64`` (default) or
                ``jnp.float32`` (:mod:`~netket_arnn.models.precision`).
            dtype: dtype of the network's arithmetic, ``jnp.float32`` (default) or ``jnp.float64``.
        """
        check_model_hamiltonian(H, "SpinGlassARNN")
        param_dtype, dtype = check_precision(param_dtype, dtype)
        sparse = H.is_sparse if sparse is None else bool(sparse)
        return cls(
            hilbert=H.hilbert,
            k=_check_k(k),
            beta=check_beta(beta),
            couplings=hashable(H.edge_weights if sparse else H.couplings),
            edges=hashable(H.edges, np.int64) if sparse else None,
            fields=hashable(H.fields),
            learn_couplings=bool(learn_couplings),
            couplings_init_scale=check_scale(couplings_init_scale, "couplings_init_scale", allow_none=True),
            init_scale=check_scale(init_scale, "init_scale"),
            start=_check_start(start),
            centred=bool(centred),
            chunk_elements=check_positive_int(chunk_elements, "chunk_elements"),
            param_dtype=param_dtype,
            dtype=dtype,
        )

    # -- static structure ----------------------------------------------------------------------
    @property
    def is_sparse(self) -> bool:
        return self.edges is not None

    @property
    def n_pairs(self) -> int:
        """Number of pairs ``(i, l)`` with hidden units."""
        n = self.hilbert.size
        return n * (n - 1) // 2 if self.edges is None else frontier_layout(n, np.asarray(self.edges)).n_pairs

    def _validate(self):
        n = self.hilbert.size
        _check_k(self.k)
        check_beta(self.beta)
        check_precision(self.param_dtype, self.dtype)
        if self.couplings is None:
            raise ValueError("SpinGlassARNN needs `couplings`; build it with SpinGlassARNN.from_hamiltonian")
        shape = np.asarray(self.couplings).shape
        if self.edges is None and shape != (n, n):
            raise ValueError(f"dense couplings must have shape ({n}, {n}), got {shape}")
        if self.edges is not None and shape != (np.asarray(self.edges).shape[0],):
            raise ValueError(f"with edges, couplings must be one weight per edge, got shape {shape}")
        if self.fields is not None and np.asarray(self.fields).shape != (n,):
            raise ValueError(f"fields must have shape ({n},), got {np.asarray(self.fields).shape}")
        check_scale(self.init_scale, "init_scale")
        _check_start(self.start)
        if self.start == "decoupled" and self.couplings_init_scale is not None:
            raise ValueError(
                "start='decoupled' needs the couplings, but couplings_init_scale starts the learned first layer "
                "at random couplings: use start='random', or couplings_init_scale=None to start from H's couplings"
            )
        check_scale(self.couplings_init_scale, "couplings_init_scale", allow_none=True)
        check_positive_int(self.chunk_elements, "chunk_elements")

    def setup(self):
        self._validate()
        n, dtype = self.hilbert.size, self.param_dtype
        layer = dict(
            n_sites=n,
            values=self.couplings,
            learn_couplings=self.learn_couplings,
            couplings_init_scale=self.couplings_init_scale,
            param_dtype=dtype,
            dtype=self.compute_dtype,
        )
        if self.edges is None:
            self.first_layer = PackedFirstLayer(**layer)
        else:
            self.first_layer = SparseFirstLayer(**layer, edges=self.edges)
        shape = (self.k + 1, 2, self.n_pairs)
        if self.start == "decoupled":
            values = self.start_params(self.beta)

            def given(name):
                # a constant built by a traced op: inside a sharded init a concrete array would keep
                # its single-device placement
                return lambda key, shape, dt: jnp.zeros(shape, dt) + jnp.asarray(values[name], dt)

            inits = {name: given(name) for name in ("skip", "bias", "w", "b", "v")}
        else:
            beta = float(self.beta)
            h = np.zeros(n) if self.fields is None else np.asarray(self.fields, dtype=np.float64)
            hidden = nn.initializers.normal(self.init_scale)
            inits = {
                "skip": nn.initializers.constant(2.0 * beta),
                "bias": lambda key, shape, dt: jnp.asarray(2.0 * beta * h).astype(dt),
                "w": hidden,
                "b": hidden,
                "v": hidden,
            }
        self.skip = self.param("skip", inits["skip"], (n,), dtype)
        self.bias = self.param("bias", inits["bias"], (n,), dtype)
        self.w = self.param("w", inits["w"], shape, dtype)
        self.b = self.param("b", inits["b"], shape, dtype)
        self.v = self.param("v", inits["v"], shape[1:], dtype)

    def start_params(self, beta: float) -> dict:
        r"""The ``"decoupled"`` start at ``beta`` (module doc): ``skip, bias, w, b, v`` as float64 NumPy arrays.

        The network with these parameters is the exact conditional of :math:`\exp(-\beta H)` with
        the couplings among the unsampled spins switched off, for the couplings and fields the
        model was built with. Only the parameters: the first layer is not among them.
        """
        beta = check_beta(beta)
        n, k = self.hilbert.size, self.k
        h = np.zeros(n) if self.fields is None else np.asarray(self.fields, dtype=np.float64)
        couplings = _coupling_matrix(self)
        if self.edges is None:
            rows, cols = np.triu_indices(n, 1)
        else:
            layout = frontier_layout(n, np.asarray(self.edges))
            rows, cols = np.asarray(layout.pair_rows), np.asarray(layout.pair_cols)
        j_pairs = np.asarray(couplings[rows, cols]).ravel()
        w = np.ones((k + 1, 2, rows.size))
        b = np.full((k + 1, 2, rows.size), _LINEAR_REGIME_BIAS)
        w[0] = 2.0 * beta
        b[0, 0] = 2.0 * beta * (h[cols] + j_pairs)
        b[0, 1] = 2.0 * beta * (h[cols] - j_pairs)
        bias = 2.0 * beta * h + np.bincount(rows, weights=2.0 * beta * j_pairs, minlength=n)
        # coupled pairs l > i without units (sparse: ξ_il ≡ 0) contribute a constant each
        upper = scipy.sparse.triu(couplings, k=1).tocoo()
        if upper.nnz:
            with_units = scipy.sparse.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n)).tocsr()
            alone = np.asarray(with_units[upper.row, upper.col]).ravel() == 0
            i, l, j = upper.row[alone], upper.col[alone], upper.data[alone]
            constant = _log_2cosh(beta * (h[l] + j)) - _log_2cosh(beta * (h[l] - j))
            bias += np.bincount(i, weights=constant, minlength=n)
        v = -np.ones((2, rows.size))
        if self.centred:
            # the network subtracts the chains' outputs at ξ = 0 from c_i: add them back
            bias += np.bincount(rows, weights=_chain_terms_at_zero(w, b, v), minlength=n)
        return {"skip": np.full(n, 2.0 * beta), "bias": bias, "w": w, "b": b, "v": v}

    # -- the physics ----------------------------------------------------------------------------
    def site_logits(self, xi: jax.Array, index, columns_from: int = 0) -> jax.Array:
        r""":math:`u_i = a_i \xi_{ii} + c_i + \sum_{l} v^+_{il}\phi^+_{il}(\xi_{il}) - v^-_{il}\phi^-_{il}(\xi_{il})`.

        ``xi``: ``(B, N)`` :math:`\xi_{i\cdot}`. Reads one row of pair parameters (dense: the
        pairs ``(i, l > i)``; sparse: the frontier of ``i``): nothing of size ``N^2``. Dense, only
        the columns ``l >= columns_from`` are read (a static bound; every ``l > i`` must be in it).
        """
        n = xi.shape[1]
        if self.edges is None:
            cols = jnp.arange(columns_from, n)
            slots = jnp.where(cols > index, packed_index(index, cols, n), self.n_pairs)  # P where l <= i
            xi_cols = xi[:, columns_from:]
        else:
            layout = self.first_layer.layout
            slots = jnp.asarray(layout.slot_index)[index]  # (W,)
            cols = jnp.asarray(layout.cols)[index]  # (W,), padding = N
            xi_cols = columns_at(xi, cols)  # (B, W), padding reads 0
        dtype = self.compute_dtype
        diag = jax.lax.dynamic_index_in_dim(xi, index, axis=1, keepdims=False)
        direct = self.skip[index].astype(dtype) * diag + self.bias[index].astype(dtype)
        if self.n_pairs == 0:
            return direct
        # padding slots (index P) read pair P-1 and are switched off through v = 0
        valid = slots < self.n_pairs
        idx = jnp.minimum(slots, self.n_pairs - 1)
        v = jnp.where(valid, self.v[..., idx], 0.0)
        row = tuple(p.astype(dtype) for p in (self.w[..., idx], self.b[..., idx], v))
        # materialise the gathered row first: fused into the chain's loop, the gather made the
        # per-site cost ~4x that of the chain itself (XLA CPU)
        w, b, v = jax.lax.optimization_barrier(row)
        if self.centred:
            direct = direct - jnp.sum(signed_chain_terms(jnp.zeros((), dtype), w, b, v), axis=-1)
        return direct + signed_chain_sum(xi_cols, w, b, v)

    def sampling_site_logits(self, xi: jax.Array, index) -> jax.Array:
        """:meth:`site_logits` while sampling: dense, the sites are cut into segments and each reads
        only the columns its segment can use (a static window per segment, ``lax.switch``), about
        half the work of reading all ``N`` columns at every site."""
        n = self.hilbert.size
        segments = min(8, n // 32)
        if self.edges is not None or segments < 2:
            return self.site_logits(xi, index)
        bounds = np.linspace(0, n, segments + 1).astype(int)
        branches = [lambda xi, i, lo=int(lo): self.site_logits(xi, i, columns_from=lo + 1) for lo in bounds[:-1]]
        segment = jnp.sum(index >= jnp.asarray(bounds[1:-1]))
        return jax.lax.switch(segment, branches, xi, index)

    def output_offsets(self, w: jax.Array, b: jax.Array, v: jax.Array) -> jax.Array:
        r"""``(N,)`` :math:`C_i = \sum_{l} v^+_{il}\phi^+_{il}(0) - v^-_{il}\phi^-_{il}(0)`, the chains'
        outputs at :math:`\xi = 0` summed over the pairs of each site, for ``(K, 2, P)`` ``w, b`` and
        ``(2, P)`` ``v``: what a ``centred`` network subtracts from its bias (module doc)."""
        n = self.hilbert.size
        rows = np.triu_indices(n, 1)[0] if self.edges is None else np.asarray(self.first_layer.layout.pair_rows)
        terms = signed_chain_terms(jnp.zeros((), w.dtype), w, b, v)
        return jax.ops.segment_sum(terms, jnp.asarray(rows), num_segments=n)

    def _compute_params(self, centre: bool = True):
        """``skip, bias, w, b, v`` in the arithmetic dtype; a ``centred`` network's bias less its
        :meth:`output_offsets` (unless ``centre=False``)."""
        dtype = self.compute_dtype
        skip, bias, w, b, v = (p.astype(dtype) for p in (self.skip, self.bias, self.w, self.b, self.v))
        if self.centred and centre:
            bias = bias - self.output_offsets(w, b, v)
        return skip, bias, w, b, v

    # -- planned batched pass ----------------------------------------------------------------------
    def logits(self, x: jax.Array) -> jax.Array:
        r"""All logits :math:`u_i(x_{<i})` in cache-sized pieces (differentiable by JAX)."""
        options = dict(k=self.k, chunk_elements=int(self.chunk_elements))
        params = self._compute_params()
        layer = self.first_layer
        if self.edges is None:
            return dense_logits(x, layer.rows().astype(x.dtype), *params, **options)
        return sparse_logits(x, layer.stored().astype(x.dtype), layer.layout, *params, **options)

    def log_prob_vjp(self, inputs: jax.Array, cotangent: jax.Array) -> dict:
        r""":math:`\sum_b g_b \nabla_\theta \log q(x_b)` for ``(B, N)`` inputs and ``(B,)`` cotangents ``g``.

        The same numbers as ``jax.vjp`` of :math:`\log q = 2\log\psi`, computed in one pass
        with the chains' backward written out (several times faster on CPUs, nothing of size
        :math:`B N^2` stored). Returns a pytree shaped like ``variables["params"]``, in
        ``param_dtype``.
        """
        x = self.spins(inputs)
        g = jnp.asarray(cotangent).reshape(-1).astype(x.dtype)
        options = dict(k=self.k, chunk_elements=int(self.chunk_elements), learn_couplings=self.learn_couplings)
        params = self._compute_params(centre=False)
        if self.centred:
            offsets, offsets_vjp = jax.vjp(self.output_offsets, *params[2:])
            params = (params[0], params[1] - offsets, *params[2:])
        layer = self.first_layer
        if self.edges is None:
            J = layer.rows().astype(x.dtype)
            dJ, *grads = dense_log_prob_vjp(x, J, *params, g, **options)
            rows, cols = np.triu_indices(self.hilbert.size, 1)
            d_kernel = dJ[rows, cols] + dJ[cols, rows]
        else:
            d_kernel, *grads = sparse_log_prob_vjp(
                x, layer.stored().astype(x.dtype), layer.layout, *params, g, **options
            )
        out = dict(zip(("skip", "bias", "w", "b", "v"), grads, strict=True))
        if self.centred:
            # the bias the kernels saw is c - C(w, b, v): C's share of the gradient goes to w, b, v
            for name, extra in zip(("w", "b", "v"), offsets_vjp(-out["bias"].astype(offsets.dtype)), strict=True):
                out[name] = out[name] + extra.astype(out[name].dtype)
        if self.learn_couplings:
            out["first_layer"] = {"kernel": d_kernel}
        return jax.tree.map(lambda a: a.astype(self.param_dtype), out)
