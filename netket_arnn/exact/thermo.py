"""The record every exact reference returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Thermodynamics:
    r"""Exact equilibrium quantities at inverse temperature :math:`\beta`, per spin.

    Attributes:
        n_sites: :math:`N` (``inf`` for thermodynamic-limit results).
        beta: inverse temperature.
        log_z: total :math:`\log Z` (``nan`` in the thermodynamic limit).
        free_energy: :math:`f = F/N = -\log Z / (\beta N)`.
        energy: :math:`e = \langle H \rangle / N`.
        entropy: :math:`s = S/N = \beta (e - f)`.
        abs_magnetization: :math:`\langle |m| \rangle`, :math:`m = \sum_i x_i / N`.
        probabilities: for small enumerations, :math:`p(x)` for every state in the
            order of ``hilbert.all_states()``; otherwise ``None``.
    """

    n_sites: float
    beta: float
    log_z: float
    free_energy: float
    energy: float
    entropy: float
    abs_magnetization: float
    probabilities: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_log_z(
        cls, n_sites: int, beta: float, log_z: float, energy: float, abs_magnetization: float = float("nan"), **extra
    ) -> Thermodynamics:
        r"""The record of a finite system from its total :math:`\log Z` and energy per spin:
        :math:`f = -\log Z/(\beta N)` and :math:`s = \beta (e - f)` follow (``nan`` when
        :math:`\langle|m|\rangle` is not known)."""
        free_energy = -log_z / (beta * n_sites)
        return cls(
            n_sites=n_sites,
            beta=beta,
            log_z=log_z,
            free_energy=free_energy,
            energy=energy,
            entropy=beta * (energy - free_energy),
            abs_magnetization=abs_magnetization,
            **extra,
        )

    def as_dict(self) -> dict:
        """Plain-float summary (no probability vector), for JSON and tables."""
        return {
            "n_sites": self.n_sites,
            "beta": self.beta,
            "log_z": self.log_z,
            "free_energy": self.free_energy,
            "energy": self.energy,
            "entropy": self.entropy,
            "abs_magnetization": self.abs_magnetization,
        }
