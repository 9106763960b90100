r"""Thermodynamic estimates from samples of a normalised autoregressive model :math:`q`.

Every estimate is per spin and comes with a Monte Carlo error. Samples of an exact
(direct) sampler are independent, so the error of a mean is :math:`\sigma/\sqrt{M}` for
:math:`M` samples; the statistics are :class:`netket.stats.Stats` objects
(``.mean``, ``.error_of_mean``, ``.variance``).

For a configuration :math:`x` with energy :math:`H(x)` and model log-probability
:math:`\log q(x)` the per-sample ("local") values are

.. math::

    f_\text{loc} = \frac{H(x) + \beta^{-1}\log q(x)}{N}, \quad
    e_\text{loc} = \frac{H(x)}{N}, \quad
    s_\text{loc} = -\frac{\log q(x)}{N}, \quad
    m_\text{loc} = \frac{|\sum_i x_i|}{N},

whose means are the variational free energy :math:`f[q] = F[q]/N \ge f`, the energy, the
entropy and :math:`\langle|m|\rangle` under :math:`q`. When :math:`q = p` the local free
energy is the constant :math:`-\log Z/(\beta N)` (zero-variance property).

Also provided: the overlap distribution :math:`P(q_{ab})` over pairs of independent
samples (:func:`overlap_distribution`; of Markov chains, pairs across chains:
:func:`chain_overlaps`), the importance-weight estimate of
:math:`\log Z` with its effective sample size (:func:`log_z_importance`), and the specific heat
from the energy fluctuations (:func:`specific_heat`).
"""

from .fluctuations import specific_heat
from .importance import LogZEstimate, log_z_importance
from .overlaps import OverlapDistribution, chain_overlaps, overlap_distribution
from .state import Estimates, distinct_fraction, estimate, log_prob, model_machine_pow
from .thermo import ThermoEstimate, iid_statistics, local_values, relative_error, thermodynamics

__all__ = [
    "Estimates",
    "LogZEstimate",
    "OverlapDistribution",
    "ThermoEstimate",
    "distinct_fraction",
    "estimate",
    "iid_statistics",
    "local_values",
    "log_prob",
    "log_z_importance",
    "model_machine_pow",
    "chain_overlaps",
    "overlap_distribution",
    "relative_error",
    "specific_heat",
    "thermodynamics",
]
