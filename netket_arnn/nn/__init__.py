"""Building blocks shared by the models: the couplings first layer and its sampling update."""

from .couplings import Couplings, first_layer, first_layer_update

__all__ = ["Couplings", "first_layer", "first_layer_update"]
