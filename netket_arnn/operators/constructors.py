"""Constructors for the standard pairwise spin systems."""

from __future__ import annotations

import math

import jax.numpy as jnp
import netket as nk
import numpy as np

from .._validation import check_finite, check_positive_int, check_real, check_real_array, check_seed
from .pairwise import PairwiseIsing


def _spin_hilbert(n: int) -> nk.hilbert.Spin:
    return nk.hilbert.Spin(0.5, check_positive_int(n, "the number of spins N"))


def _uniform_fields(n: int, h, name: str = "h") -> np.ndarray:
    """``(n,)`` fields from a scalar (uniform field) or an ``(n,)`` array; other shapes are refused."""
    if np.ndim(h) == 0:
        return np.full(n, check_real(h, name))
    h = check_real_array(h, name)
    if h.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},) to match {n} spins, got {h.shape}")
    check_finite(h, name)
    return h


def from_couplings(J, h=None, *, triangular: bool = False, dtype=jnp.float64) -> PairwiseIsing:
    """Dense :class:`PairwiseIsing` from an ``(N, N)`` coupling matrix and optional fields.

    ``J`` must be symmetric with zero diagonal, or, with ``triangular=True``, strictly
    triangular (each pair once). ``h`` is a scalar (uniform field) or an ``(N,)`` array.
    """
    J = check_real_array(J, "J")
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"dense couplings must be a square (N, N) matrix, got shape {J.shape}")
    n = J.shape[0]
    fields = None if h is None else _uniform_fields(n, h)
    return PairwiseIsing(
        _spin_hilbert(n),
        J,
        fields,
        triangular=triangular,
        dtype=dtype,
        metadata={"model": "couplings"},
    )


def from_graph(graph: nk.graph.AbstractGraph, couplings, fields=None, *, dtype=jnp.float64) -> PairwiseIsing:
    r"""Sparse :class:`PairwiseIsing` on the edges of a NetKet graph.

    :math:`H(x) = -\sum_{(i,j) \in \text{edges}} J_{ij} x_i x_j - \sum_i h_i x_i`, in this
    package's sign convention (:math:`J_{ij} > 0` ferromagnetic).

    Args:
        graph: any ``nk.graph.AbstractGraph`` (``Chain``, ``Hypercube``, ``Graph``, ...).
        couplings: a scalar (the same :math:`J` on every edge), an ``(E,)`` array with one
            coupling per edge in the order of ``graph.edges()``, or a dict ``{color: J}``
            giving the coupling of each edge color (every color of the graph must appear).
        fields: ``None`` (no field), a scalar (uniform field) or an ``(N,)`` array.
        dtype: floating dtype of the operator.
    """
    if not isinstance(graph, nk.graph.AbstractGraph):
        raise TypeError(f"graph must be a NetKet graph (nk.graph.AbstractGraph), got {type(graph).__name__}")
    colored = np.asarray(graph.edges(return_color=True), dtype=np.int64).reshape(-1, 3)
    edges, colors = colored[:, :2], colored[:, 2]
    if isinstance(couplings, dict):
        missing = sorted(set(colors.tolist()) - set(couplings))
        if missing:
            raise ValueError(f"couplings gives no value for the edge colors {missing} of the graph")
        weights = np.array([check_real(couplings[c], f"couplings[{c}]") for c in colors.tolist()])
    elif np.ndim(couplings) == 0:
        weights = np.full(len(edges), check_real(couplings, "couplings"))
    else:
        weights = check_real_array(couplings, "couplings")
        if weights.shape != (len(edges),):
            raise ValueError(
                f"couplings must be a scalar, a dict by edge color, or one value per edge of the graph, "
                f"shape ({len(edges)},); got shape {weights.shape}"
            )
    n = graph.n_nodes
    return PairwiseIsing(
        _spin_hilbert(n),
        weights,
        None if fields is None else _uniform_fields(n, fields, "fields"),
        edges=edges,
        dtype=dtype,
        metadata={"model": "graph", "N": int(n), "graph": repr(graph)},
    )


def from_ising(operator, *, dtype=None) -> PairwiseIsing:
    r"""The classical :class:`PairwiseIsing` equal to a NetKet ``nk.operator.Ising`` without transverse field.

    ``nk.operator.Ising`` is :math:`-h\sum_i \sigma^x_i + J\sum_{\langle ij\rangle}\sigma^z_i\sigma^z_j`,
    with the opposite sign to this package's :math:`-\sum J_{ij} x_i x_j`: its classical part is
    the pairwise Ising model with :math:`J_{ij} = -J` on each of its edges (an edge listed twice
    counts twice). A nonzero transverse field :math:`h` has no classical equivalent and is refused.

    Args:
        operator: an ``nk.operator.Ising`` (``IsingJax`` or ``IsingNumba``) on ``Spin(0.5, N)``.
        dtype: floating dtype of the result; default the operator's own if it is a real float,
            else ``float64``.
    """
    if not isinstance(operator, nk.operator.IsingJax | nk.operator.IsingNumba):
        raise TypeError(f"operator must be an nk.operator.Ising, got {type(operator).__name__}")
    transverse = float(jnp.asarray(operator.h))
    if transverse != 0:
        raise ValueError(
            f"the Ising operator has a transverse field h = {transverse}; a PairwiseIsing is classical "
            "(diagonal in the sigma^z basis) and cannot represent it"
        )
    J = float(jnp.asarray(operator.J))
    edges = np.sort(np.asarray(operator.edges, dtype=np.int64).reshape(-1, 2), axis=1)
    if np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError("the Ising operator has a self-loop edge (i, i); sigma^z_i sigma^z_i is a constant")
    pairs, position = np.unique(edges, axis=0, return_inverse=True)
    multiplicity = np.bincount(position.reshape(-1), minlength=len(pairs))
    if dtype is None:
        dtype = operator.dtype if jnp.issubdtype(operator.dtype, jnp.floating) else jnp.float64
    return PairwiseIsing(
        operator.hilbert,
        -J * multiplicity.astype(np.float64),
        None,
        edges=pairs.reshape(-1, 2),
        dtype=dtype,
        metadata={"model": "netket_ising", "N": int(operator.hilbert.size), "J_netket": J},
    )


def curie_weiss(N: int, J: float = 1.0, h: float = 0.0, *, dtype=jnp.float64) -> PairwiseIsing:
    r"""Curie–Weiss model :math:`H = -(J/N)\sum_{i<j} x_i x_j - h \sum_i x_i` (dense)."""
    N = check_positive_int(N, "N")
    hilbert = _spin_hilbert(N)
    J, h = check_real(J, "J"), check_real(h, "h")
    couplings = np.full((N, N), J / N)
    np.fill_diagonal(couplings, 0.0)
    return PairwiseIsing(
        hilbert,
        couplings,
        np.full(N, float(h)),
        dtype=dtype,
        metadata={"model": "curie_weiss", "N": int(N), "J": float(J), "h": float(h)},
    )


def sherrington_kirkpatrick_couplings(N: int, seed: int) -> np.ndarray:
    r"""The published SK instance ``(N, seed)``: strictly lower-triangular float32 couplings.

    Recipe of arXiv:2302.08347: ``RandomState(seed).normal(0, 1/sqrt(N), N(N-1)/2)``
    filled row by row into ``np.tril_indices(N, -1)``, stored as float32, so that
    :math:`J_{ij} \sim \mathcal N(0, 1/N)`.
    """
    N = check_positive_int(N, "N")
    seed = check_seed(seed)
    rows, cols = np.tril_indices(N, -1)
    lower = np.zeros((N, N), dtype=np.float32)
    lower[rows, cols] = np.random.RandomState(seed).normal(0.0, 1.0 / np.sqrt(N), len(rows))
    return lower


def sherrington_kirkpatrick(N: int, J: float = 1.0, h: float = 0.0, *, seed: int, dtype=jnp.float64) -> PairwiseIsing:
    r"""Sherrington–Kirkpatrick spin glass, :math:`J_{ij} \sim \mathcal N(0, J^2/N)`, dense.

    For ``J = 1`` the couplings are bit for bit the published instance ``(N, seed)``
    (see :func:`sherrington_kirkpatrick_couplings`); other ``J`` rescale them.
    """
    N = check_positive_int(N, "N")
    J, seed = check_real(J, "J"), check_seed(seed)
    lower = sherrington_kirkpatrick_couplings(N, seed).astype(np.float64) * J
    return PairwiseIsing(
        _spin_hilbert(N),
        lower,
        _uniform_fields(N, h),
        triangular=True,
        dtype=dtype,
        metadata={
            "model": "sherrington_kirkpatrick",
            "N": int(N),
            "J": float(J),
            "h": float(h),
            "seed": int(seed),
        },
    )


def edwards_anderson(
    graph: nk.graph.AbstractGraph,
    couplings: str = "gaussian",
    *,
    seed: int,
    J: float = 1.0,
    h: float = 0.0,
    dtype=jnp.float64,
) -> PairwiseIsing:
    r"""Edwards–Anderson spin glass on the edges of a NetKet graph (sparse).

    ``couplings="gaussian"`` draws :math:`J_{ij} \sim \mathcal N(0, J^2)`, ``"pm1"`` draws
    :math:`\pm J` with equal probability, independently for each edge of ``graph``
    (``nk.graph.Hypercube``, ``nk.graph.Graph``, :func:`random_regular_graph`, ...).
    """
    if not isinstance(graph, nk.graph.AbstractGraph):
        raise TypeError(f"graph must be a NetKet graph, got {type(graph).__name__}")
    seed, J = check_seed(seed), check_real(J, "J")
    edges = np.asarray(graph.edges(), dtype=np.int64).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    if couplings == "gaussian":
        weights = J * rng.standard_normal(len(edges))
    elif couplings == "pm1":
        weights = J * rng.choice([-1.0, 1.0], size=len(edges))
    else:
        raise ValueError(f"couplings must be 'gaussian' or 'pm1', got {couplings!r}")
    n = graph.n_nodes
    return PairwiseIsing(
        _spin_hilbert(n),
        weights,
        _uniform_fields(n, h),
        edges=edges,
        dtype=dtype,
        metadata={
            "model": "edwards_anderson",
            "N": int(n),
            "couplings": couplings,
            "J": float(J),
            "h": float(h),
            "seed": int(seed),
        },
    )


def ferromagnet_2d(
    L: int, W: int | None = None, J: float = 1.0, h=0.0, *, periodic=True, dtype=jnp.float64
) -> PairwiseIsing:
    r"""Nearest-neighbour Ising model :math:`H = -J\sum_{\langle ij\rangle} x_i x_j - \sum_i h_i x_i`
    on an :math:`L \times W` square lattice (sparse).

    The bonds are those of ``nk.graph.Grid(extent=[L, W], pbc=periodic)``: site ``i * W + j`` is
    row ``i``, column ``j``. ``J > 0`` is ferromagnetic; periodic and zero-field, this is the model of Kaufman's
    closed form (:func:`netket_arnn.exact.kaufman_closed_form`).

    Args:
        L: number of rows.
        W: number of columns; default ``L``.
        J: the coupling of every bond.
        h: a scalar (uniform field) or an ``(L * W,)`` array.
        periodic: ``True``/``False`` for both directions, or a pair ``(along L, along W)``. A
            periodic direction needs an extent >= 3 (an extent-2 ring would repeat its bond).
        dtype: floating dtype of the operator.
    """
    L = check_positive_int(L, "L")
    W = L if W is None else check_positive_int(W, "W")
    J = check_real(J, "J")
    if isinstance(periodic, bool | np.bool_):
        periodic = (bool(periodic), bool(periodic))
    elif not (
        isinstance(periodic, tuple | list)
        and len(periodic) == 2
        and all(isinstance(p, bool | np.bool_) for p in periodic)
    ):
        raise TypeError(f"periodic must be a bool or a pair of bools (along L, along W), got {periodic!r}")
    for extent, wrap, name in ((L, periodic[0], "L"), (W, periodic[1], "W")):
        if wrap and extent < 3:
            raise ValueError(
                f"periodic boundaries along {name} need {name} >= 3 (an extent-2 ring would repeat its bond), "
                f"got {name} = {extent}; pass periodic=(along L, along W) to keep that direction open"
            )
    # The bonds of nk.graph.Grid(extent=[L, W], pbc=periodic), built directly: Grid is slow for
    # the large lattices that Kaufman's closed form can handle.
    site = np.arange(L * W).reshape(L, W)
    pairs = [
        (site[:, :-1], site[:, 1:]),  # right
        (site[:-1, :], site[1:, :]),  # down
    ]
    if periodic[1]:
        pairs.append((site[:, -1:], site[:, :1]))
    if periodic[0]:
        pairs.append((site[-1:, :], site[:1, :]))
    edges = np.concatenate([np.stack([a.ravel(), b.ravel()], axis=1) for a, b in pairs]).astype(np.int64)
    n = L * W
    return PairwiseIsing(
        _spin_hilbert(n),
        np.full(len(edges), J),
        _uniform_fields(n, h),
        edges=edges,
        dtype=dtype,
        metadata={
            "model": "ferromagnet_2d",
            "N": int(n),
            "L": int(L),
            "W": int(W),
            "J": float(J),
            "h": float(h) if np.ndim(h) == 0 else "site-dependent",
            "periodic_L": bool(periodic[0]),
            "periodic_W": bool(periodic[1]),
            # Onsager's critical point of the infinite lattice, where it has one (ferromagnet, no field)
            **({"beta_c": math.log(1 + math.sqrt(2)) / (2 * J)} if J > 0 and np.ndim(h) == 0 and h == 0 else {}),
        },
    )


def random_regular_graph(N: int, degree: int, *, seed: int, max_tries: int = 1000) -> nk.graph.Graph:
    """Uniform random ``degree``-regular simple graph on ``N`` nodes (pairing model with rejection)."""
    N, degree = check_positive_int(N, "N"), check_positive_int(degree, "degree")
    seed, max_tries = check_seed(seed), check_positive_int(max_tries, "max_tries")
    if N * degree % 2 or degree >= N:
        raise ValueError(f"no simple {degree}-regular graph on {N} nodes (need N*degree even, 0 < degree < N)")
    rng = np.random.default_rng(seed)
    stubs = np.repeat(np.arange(N), degree)
    for _ in range(max_tries):
        pairs = np.sort(rng.permutation(stubs).reshape(-1, 2), axis=1)
        if np.all(pairs[:, 0] != pairs[:, 1]) and len(np.unique(pairs, axis=0)) == len(pairs):
            return nk.graph.Graph(edges=[tuple(map(int, p)) for p in pairs], n_nodes=N)
    raise RuntimeError(f"no simple {degree}-regular graph found on {N} nodes in {max_tries} tries")


def curie_weiss_parameters(H: PairwiseIsing) -> tuple[float, float] | None:
    """``(J, h)`` if ``H`` is a Curie–Weiss Hamiltonian (all :math:`J_{ij} = J/N`, all
    :math:`h_i = h`), else ``None``."""
    n = H.n_sites
    weights = np.asarray(H.edge_weights)
    fields = np.asarray(H.fields)
    if not np.all(fields == fields[0]):
        return None
    if H.n_edges == 0:
        return 0.0, float(fields[0])
    if H.n_edges != n * (n - 1) // 2 or not np.all(weights == weights[0]):
        return None
    return float(weights[0]) * n, float(fields[0])
