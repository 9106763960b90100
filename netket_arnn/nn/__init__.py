"""Building blocks of the physics-derived ARNNs: the first-layer protocol and its implementations
(dense, packed triangle, sparse frontier, uniform), and log-sigmoid chains.

What a user composes into a network of their own is exported here; the helpers of the planned
passes (packed-triangle indexing, frontier fields, the chains' written-out backward) stay
importable from their modules (:mod:`~netket_arnn.nn.first_layer`, :mod:`~netket_arnn.nn.dense`,
:mod:`~netket_arnn.nn.sparse`, :mod:`~netket_arnn.nn.chains`) but are not part of the public API.
"""

from .chains import log_sigmoid, log_sigmoid_chain, signed_chain_sum
from .dense import DenseFirstLayer, PackedFirstLayer
from .first_layer import COUPLINGS_COLLECTION, FirstLayer, UniformFirstLayer
from .sparse import FrontierLayout, SparseFirstLayer, frontier_layout

__all__ = [
    "COUPLINGS_COLLECTION",
    "DenseFirstLayer",
    "FirstLayer",
    "FrontierLayout",
    "PackedFirstLayer",
    "SparseFirstLayer",
    "UniformFirstLayer",
    "frontier_layout",
    "log_sigmoid",
    "log_sigmoid_chain",
    "signed_chain_sum",
]
