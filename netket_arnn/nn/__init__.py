"""Building blocks shared by the models: the couplings first layer (dense, packed and sparse
frontier forms) with its sampling updates, and log-sigmoid chains."""

from .chains import log_sigmoid, log_sigmoid_chain, signed_chain_sum, signed_chain_terms
from .couplings import Couplings, first_layer, first_layer_update
from .packed import packed_first_layer_update, packed_index, packed_row
from .sparse import (
    EdgeCouplings,
    FrontierLayout,
    frontier_first_layer,
    frontier_first_layer_update,
    frontier_layout,
)

__all__ = [
    "Couplings",
    "EdgeCouplings",
    "FrontierLayout",
    "first_layer",
    "first_layer_update",
    "frontier_first_layer",
    "frontier_first_layer_update",
    "frontier_layout",
    "log_sigmoid",
    "log_sigmoid_chain",
    "packed_first_layer_update",
    "packed_index",
    "packed_row",
    "signed_chain_sum",
    "signed_chain_terms",
]
