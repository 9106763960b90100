"""Physics-derived autoregressive networks as NetKet models (THEORY §2, §3, §5).

Every model subclasses :class:`netket.models.AbstractARNN` (``machine_pow = 2``), is built in
one call with ``Model.from_hamiltonian(H, beta, **options)`` and samples with
:class:`netket.sampler.ARDirectSampler` through a cached ``conditional``.
"""

from .base import FIXED_COLLECTION, PhysicsARNN
from .curie_weiss import (
    CurieWeissARNN,
    CurieWeissInfARNN,
    OneParameterARNN,
    curie_weiss_exact_parameters,
)
from .h2arnn import H2ARNN
from .single_layer import SingleLayerARNN

__all__ = [
    "FIXED_COLLECTION",
    "CurieWeissARNN",
    "CurieWeissInfARNN",
    "H2ARNN",
    "OneParameterARNN",
    "PhysicsARNN",
    "SingleLayerARNN",
    "curie_weiss_exact_parameters",
]
