"""The direct sampler, under the name of earlier versions: :mod:`netket_arnn.sampling` holds every sampler.

``netket_arnn.sampler.ARDirectSampler`` is :class:`netket_arnn.sampling.ARDirectSampler`.
"""

from .sampling.direct import ARDirectSampler

__all__ = ["ARDirectSampler"]
