"""Input checks shared by the whole package.

Every check raises with a message that names the offending input: the package
never repairs bad input silently.
"""

from __future__ import annotations

import math

import netket as nk
import numpy as np


def check_beta(beta, name: str = "beta") -> float:
    """Return β as a float, or raise if it is not a finite positive number."""
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {beta!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 (inverse temperature), got {value}")
    return value


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise unless it is an integer >= 1."""
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_spin_hilbert(hilbert, n_sites: int | None = None) -> None:
    """Raise unless ``hilbert`` is an unconstrained ``Spin(0.5, N)`` of the right size."""
    if not isinstance(hilbert, nk.hilbert.Spin):
        raise TypeError(f"expected an nk.hilbert.Spin(0.5, N) Hilbert space, got {type(hilbert).__name__}")
    if hilbert.local_size != 2:
        raise ValueError(
            f"expected spin-1/2 (2 local states), got a spin Hilbert space with {hilbert.local_size} local states"
        )
    if hilbert.constrained:
        raise ValueError(
            "the Hilbert space is constrained (e.g. total_sz set); pairwise Ising "
            "systems and autoregressive sampling need an unconstrained Spin(0.5, N)"
        )
    if n_sites is not None and hilbert.size != n_sites:
        raise ValueError(f"the Hilbert space has {hilbert.size} sites but the couplings describe {n_sites} spins")


def check_finite(array: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name} must be finite; found {array[tuple(bad)]} at index {tuple(bad)}")
