r"""Sums and real multiples of :class:`~netket_arnn.PairwiseIsing` operators.

:math:`a H_1 + b H_2` is again a pairwise Ising Hamiltonian, with couplings
:math:`a J^{(1)} + b J^{(2)}` and fields :math:`a h^{(1)} + b h^{(2)}`. These helpers build
it directly, so that ``H1 + H2``, ``H1 - H2``, ``c * H``, ``H * c``, ``-H`` and ``H / c``
keep the fast diagonal operator instead of a generic NetKet sum.

Storage of the result: dense if either operand is dense (the dense one already costs
:math:`O(N^2)` per configuration), sparse on the union of both edge lists otherwise (edges
whose weights cancel are kept, with weight zero). The dtype is the promotion of both
dtypes. The metadata is ``{"model": "combination", "expression": ...}`` with a readable
expression built from the operands' metadata.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np


def is_real_scalar(value) -> bool:
    """True for a concrete real number (Python, NumPy or 0-d JAX), False for bools and the rest."""
    if isinstance(value, bool | np.bool_ | jax.core.Tracer):
        return False
    if isinstance(value, numbers.Real):
        return True
    return isinstance(value, np.ndarray | jax.Array) and value.ndim == 0 and value.dtype.kind in "iuf"


def label(H) -> str:
    """A short readable description of ``H`` from its metadata, for derived metadata."""
    meta = H.metadata
    if "expression" in meta:
        return str(meta["expression"])
    name = meta.get("model", "PairwiseIsing")
    args = ", ".join(f"{key}={value}" for key, value in sorted(meta.items()) if key != "model")
    return f"{name}({args})"


def _combination(expression: str) -> dict:
    return {"model": "combination", "expression": expression}


def scale(H, factor):
    """``factor * H`` for a finite real ``factor``, as the same kind of operator."""
    factor = float(factor)
    if not math.isfinite(factor):
        raise ValueError(f"cannot multiply a PairwiseIsing by the non-finite factor {factor}")
    fields = factor * np.asarray(H.fields)
    meta = _combination(f"{factor!r} * ({label(H)})")
    if H.is_sparse:
        weights = factor * np.asarray(H.edge_weights)
        return type(H)(H.hilbert, weights, fields, edges=np.asarray(H.edges), dtype=H.dtype, metadata=meta)
    return type(H)(H.hilbert, factor * np.asarray(H.couplings), fields, dtype=H.dtype, metadata=meta)


def add(a, b, *, sign: float = 1.0):
    """``a + sign * b`` for two :class:`~netket_arnn.PairwiseIsing` on the same Hilbert space."""
    if a.hilbert != b.hilbert:
        raise ValueError(
            "cannot combine PairwiseIsing operators on different Hilbert spaces: "
            f"{a.hilbert} (N = {a.n_sites}) and {b.hilbert} (N = {b.n_sites})"
        )
    dtype = jnp.promote_types(a.dtype, b.dtype)
    fields = np.asarray(a.fields, dtype=np.float64) + sign * np.asarray(b.fields, dtype=np.float64)
    meta = _combination(f"({label(a)}) {'+' if sign > 0 else '-'} ({label(b)})")
    if not (a.is_sparse and b.is_sparse):
        couplings = np.asarray(a.couplings, dtype=np.float64) + sign * np.asarray(b.couplings, dtype=np.float64)
        return type(a)(a.hilbert, couplings, fields, dtype=dtype, metadata=meta)
    edges = np.concatenate([np.asarray(a.edges), np.asarray(b.edges)])
    weights = np.concatenate(
        [np.asarray(a.edge_weights, dtype=np.float64), sign * np.asarray(b.edge_weights, dtype=np.float64)]
    )
    # Both edge lists hold pairs i < j, so equal pairs are equal rows.
    union, position = np.unique(edges, axis=0, return_inverse=True)
    summed = np.zeros(len(union))
    np.add.at(summed, position.reshape(-1), weights)
    return type(a)(a.hilbert, summed, fields, edges=union.reshape(-1, 2), dtype=dtype, metadata=meta)
