"""Building blocks of the physics-derived ARNNs: the first-layer protocol and its implementations
(dense, packed triangle, sparse frontier, uniform), and log-sigmoid chains."""

from .chains import (
    chain_units,
    chain_vjp,
    log_sigmoid,
    log_sigmoid_and_slope,
    log_sigmoid_chain,
    signed_chain_sum,
    signed_chain_terms,
    signed_outputs,
)
from .dense import DenseFirstLayer, PackedFirstLayer, packed_index, packed_row, symmetric_from_packed
from .first_layer import COUPLINGS_COLLECTION, FirstLayer, UniformFirstLayer, exclusive_cumsum, fields_from_rows
from .sparse import FrontierLayout, SparseFirstLayer, frontier_fields, frontier_layout

__all__ = [
    "COUPLINGS_COLLECTION",
    "DenseFirstLayer",
    "FirstLayer",
    "FrontierLayout",
    "PackedFirstLayer",
    "SparseFirstLayer",
    "UniformFirstLayer",
    "chain_units",
    "chain_vjp",
    "exclusive_cumsum",
    "fields_from_rows",
    "frontier_fields",
    "frontier_layout",
    "log_sigmoid",
    "log_sigmoid_and_slope",
    "log_sigmoid_chain",
    "packed_index",
    "packed_row",
    "signed_chain_sum",
    "signed_chain_terms",
    "signed_outputs",
    "symmetric_from_packed",
]
