"""Exact references: enumeration, Curie–Weiss closed forms, SK replica solutions.

:func:`thermodynamics` is the exact reference of a :class:`~netket_arnn.PairwiseIsing`
(Curie–Weiss closed form at any N, else enumeration up to :data:`MAX_ENUMERATION_SITES`);
the functions it chooses between are available on their own.
"""

from .curie_weiss import curie_weiss_closed_form, curie_weiss_log_z, curie_weiss_thermo_limit
from .enumeration import MAX_ENUMERATION_SITES, MAX_SITES_PROBABILITIES, by_enumeration
from .reference import log_partition_function, log_prob, reference_free_energy, thermodynamics
from .spin_glass import ReplicaSolution, sk_one_step_rsb, sk_replica_symmetric
from .thermo import Thermodynamics

__all__ = [
    "MAX_ENUMERATION_SITES",
    "MAX_SITES_PROBABILITIES",
    "ReplicaSolution",
    "Thermodynamics",
    "by_enumeration",
    "curie_weiss_closed_form",
    "curie_weiss_log_z",
    "curie_weiss_thermo_limit",
    "log_partition_function",
    "log_prob",
    "reference_free_energy",
    "sk_one_step_rsb",
    "sk_replica_symmetric",
    "thermodynamics",
]
