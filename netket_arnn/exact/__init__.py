"""Exact references: enumeration, Curie–Weiss and Kaufman closed forms, square-lattice transfer
matrices, SK replica solutions.

:func:`thermodynamics` is the exact reference of a :class:`~netket_arnn.PairwiseIsing`
(Curie–Weiss closed form at any N, else enumeration up to :data:`MAX_ENUMERATION_SITES`, else
Kaufman's closed form for the periodic uniform square-lattice ferromagnet, else the transfer
matrix for any square-lattice system within its width limits); the functions it chooses
between are available on their own. :func:`lattice_conditionals` gives the exact conditionals
:math:`p(x_i \\mid x_{<i})` of a square lattice open along its rows' direction: exact samples and
the per-site split of a model's KL divergence.
"""

from .autoregressive import MAX_CONDITIONAL_TABLE_BYTES, LatticeConditionals, lattice_conditionals
from .curie_weiss import curie_weiss_closed_form, curie_weiss_log_z, curie_weiss_thermo_limit
from .enumeration import MAX_ENUMERATION_SITES, MAX_SITES_PROBABILITIES, by_enumeration
from .kaufman import KAUFMAN_MAX_COUPLING, kaufman_closed_form, kaufman_log_z, kaufman_parameters
from .lattice import SquareLattice, find_square_lattice, lattice_couplings
from .reference import log_partition_function, log_prob, reference_free_energy, thermodynamics
from .spin_glass import ReplicaSolution, sk_one_step_rsb, sk_replica_symmetric
from .thermo import Thermodynamics
from .transfer_matrix import MAX_MAGNETIZATION_ENTRIES, MAX_TRACE_WIDTH, MAX_TRANSFER_WIDTH, by_transfer_matrix

__all__ = [
    "KAUFMAN_MAX_COUPLING",
    "MAX_CONDITIONAL_TABLE_BYTES",
    "MAX_ENUMERATION_SITES",
    "MAX_MAGNETIZATION_ENTRIES",
    "MAX_SITES_PROBABILITIES",
    "MAX_TRACE_WIDTH",
    "MAX_TRANSFER_WIDTH",
    "LatticeConditionals",
    "ReplicaSolution",
    "SquareLattice",
    "Thermodynamics",
    "by_enumeration",
    "by_transfer_matrix",
    "curie_weiss_closed_form",
    "curie_weiss_log_z",
    "curie_weiss_thermo_limit",
    "find_square_lattice",
    "kaufman_closed_form",
    "kaufman_log_z",
    "kaufman_parameters",
    "lattice_conditionals",
    "lattice_couplings",
    "log_partition_function",
    "log_prob",
    "reference_free_energy",
    "sk_one_step_rsb",
    "sk_replica_symmetric",
    "thermodynamics",
]
