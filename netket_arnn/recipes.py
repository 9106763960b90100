r"""Named model recipes: the networks of the paper (arXiv:2302.08347) by their short names.

One registry, :data:`RECIPES`, maps a name to a :class:`Recipe` whose ``build(H, beta, dtype)``
returns the flax module for the Hamiltonian ``H`` at inverse temperature ``beta``, with the
constructors of :mod:`netket_arnn.models`. The ``netket-arnn`` command builds its models from
this registry; a script can do the same::

    model = netket_arnn.recipes.build("sk_1rsb", H, beta=0.1)

=========== ====================================================================
name        model
=========== ====================================================================
``cw_n``    CW_N, exact Curie–Weiss ARNN, set to its exact parameters at every β
``cw_inf``  CW_∞, :math:`N + 2` trained parameters (Curie–Weiss only)
``1p``      1P baseline, one trained weight per site (Curie–Weiss only)
``1l``      1L, one masked linear layer
``h2``      H2ARNN, exact for any pairwise H, re-built at every β (N <= 20)
``sk_rs``   SK_RS (k = 0 replica-symmetry breaking steps), trained
``sk_1rsb`` SK_1RSB (k = 1), trained
``sk_2rsb`` SK_2RSB (k = 2), trained
``made_dw`` MADE of depth d and width w (21, 22, 23, 32), the paper's activation
=========== ====================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp

from . import models

__all__ = ["RECIPES", "Recipe", "build", "get"]


@dataclass(frozen=True)
class Recipe:
    """How to build one named model.

    Attributes:
        name: the short name (a key of :data:`RECIPES`).
        description: one line for listings and ``--help``.
        build: ``(H, beta, dtype) -> module``.
        exact_parameters: what :func:`~netket_arnn.driver.anneal` should use instead of training:
            ``None`` (train), ``True`` (exact variables at every β) or ``"rebuild"``.
        sample_memory: ``N -> bytes`` one sample needs in the model's batched pass, for models
            whose cost grows faster than :math:`N^2`; used to pick a chunk size.
    """

    name: str
    description: str
    build: Callable
    exact_parameters: bool | str | None = None
    sample_memory: Callable[[int], int] | None = None

    def chunk_size(self, n_sites: int, budget: int = 2**29) -> int | None:
        """Largest power of two of samples whose batched pass fits in ``budget`` bytes (None: no need)."""
        if self.sample_memory is None:
            return None
        per_sample = self.sample_memory(n_sites)
        chunk = 1
        while 2 * chunk * per_sample <= budget:
            chunk *= 2
        return chunk


def _physics(cls_name: str, **options):
    def build(H, beta, dtype):
        return getattr(models, cls_name).from_hamiltonian(H, beta, param_dtype=dtype, **options)

    return build


def _spin_glass(k: int):
    def build(H, beta, dtype):
        return models.SpinGlassARNN.from_hamiltonian(H, beta, k=k, param_dtype=dtype)

    return build


def _made(depth: int, width: int):
    def build(H, beta, dtype):
        return models.made(H.hilbert, depth, width, param_dtype=dtype)

    return build


def _h2_memory(n: int) -> int:
    # The batched pass gathers the first-layer fields of every hidden unit: (2^N - 1) x N numbers.
    return 8 * n * 2**n


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("cw_n", "CW_N, exact Curie–Weiss ARNN at every β", _physics("CurieWeissARNN"), exact_parameters=True),
        Recipe("cw_inf", "CW_∞, N+2 trained parameters", _physics("CurieWeissInfARNN")),
        Recipe("1p", "1P baseline, one trained weight per site", _physics("OneParameterARNN")),
        Recipe("1l", "1L, one masked linear layer, trained", _physics("SingleLayerARNN")),
        Recipe(
            "h2",
            "H2ARNN, exact for any pairwise H (N <= 20), re-built at every β",
            _physics("H2ARNN"),
            exact_parameters="rebuild",
            sample_memory=_h2_memory,
        ),
        Recipe("sk_rs", "SK_RS (k = 0), trained", _spin_glass(0)),
        Recipe("sk_1rsb", "SK_1RSB (k = 1), trained", _spin_glass(1)),
        Recipe("sk_2rsb", "SK_2RSB (k = 2), trained", _spin_glass(2)),
        *(
            Recipe(f"made_{d}{w}", f"MADE_{d}{w}: depth {d}, width {w}N, trained", _made(d, w))
            for d, w in ((2, 1), (2, 2), (2, 3), (3, 2))
        ),
    )
}


def get(name: str) -> Recipe:
    """The recipe called ``name`` (``KeyError`` listing the known names otherwise)."""
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown model recipe {name!r}; known: {', '.join(RECIPES)}") from None


def build(name: str, H, beta: float, dtype=jnp.float64):
    """The module of recipe ``name`` for ``H`` at ``beta`` (float64 by default)."""
    return get(name).build(H, beta, dtype)
