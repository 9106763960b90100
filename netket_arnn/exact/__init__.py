"""Exact references: enumeration, Curie–Weiss closed forms, SK replica solutions."""

from .curie_weiss import curie_weiss, curie_weiss_infinite, curie_weiss_log_z
from .enumeration import MAX_SITES, MAX_SITES_PROBABILITIES, enumeration
from .log_prob import log_partition_function, log_prob
from .spin_glass import ReplicaSolution, sk_one_step_rsb, sk_replica_symmetric
from .thermo import Thermodynamics

__all__ = [
    "MAX_SITES",
    "MAX_SITES_PROBABILITIES",
    "ReplicaSolution",
    "Thermodynamics",
    "curie_weiss",
    "curie_weiss_infinite",
    "curie_weiss_log_z",
    "enumeration",
    "log_partition_function",
    "log_prob",
    "sk_one_step_rsb",
    "sk_replica_symmetric",
]
