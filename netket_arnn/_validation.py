"""Input checks shared by the whole package.

Every check raises with a message that names the offending input: the package
never repairs bad input silently.
"""

from __future__ import annotations

import math

import numpy as np

# jax and NetKet are imported inside the checks that need them: the scalar checks serve modules
# that must load without jax (the registry, the training protocols, the command line's --help).


def _reject_non_number(value, name: str, what: str) -> None:
    """Raise a TypeError for strings, booleans and object arrays, which ``float``/``int`` may accept."""
    dtype = getattr(value, "dtype", None)
    kind = np.dtype(dtype).kind if dtype is not None else None
    if value is None or isinstance(value, str | bytes | bool | np.bool_) or (kind is not None and kind in "bUSO"):
        raise TypeError(f"{name} must be {what}, got {value!r} of type {type(value).__name__}")


def check_real(value, name: str) -> float:
    """Return ``value`` as a float, or raise unless it is a finite real number.

    Python and NumPy/JAX real scalars (and 0-d arrays) pass; strings, booleans and complex
    numbers do not, although ``float`` would convert the first two.
    """
    _reject_non_number(value, name, "a real number")
    if np.ndim(value) != 0:
        raise TypeError(f"{name} must be a real number (a scalar), got an array of shape {np.shape(value)}")
    if np.iscomplexobj(value):
        raise TypeError(f"{name} must be a real number, got the complex value {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    return result


def check_positive_real(value, name: str) -> float:
    """Return ``value`` as a float, or raise unless it is a finite real number > 0."""
    result = check_real(value, name)
    if not result > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return result


def check_beta(beta, name: str = "beta") -> float:
    """Return β as a float, or raise if it is not a finite positive real number."""
    value = check_real(beta, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0 (inverse temperature), got {value}")
    return value


def _check_int(value, name: str, low: int, what: str) -> int:
    _reject_non_number(value, name, what)
    if np.ndim(value) != 0 or np.iscomplexobj(value):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    try:
        integral = int(value) == value
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError(f"{name} must be {what}, got {value!r}") from err
    if not integral or value < low:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise unless it is an integer >= 1 (integral floats pass)."""
    return _check_int(value, name, 1, "a positive integer")


def check_non_negative_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise unless it is an integer >= 0 (integral floats pass)."""
    return _check_int(value, name, 0, "a non-negative integer")


def check_seed(seed, name: str = "seed") -> int:
    """Return a seed for ``np.random.RandomState``/``default_rng``: an integer in [0, 2^32).

    ``None`` is refused: an instance must be reproducible from its seed.
    """
    if seed is None or isinstance(seed, float | np.floating):
        raise TypeError(f"{name} must be an integer (it defines the instance, so it must be given), got {seed!r}")
    value = check_non_negative_int(seed, name)
    if value >= 2**32:
        raise ValueError(f"{name} must be < 2**32, got {value}")
    return value


def check_real_array(array, name: str) -> np.ndarray:
    """Return ``array`` as a NumPy array of integers or floats, or raise.

    Refused rather than converted: complex arrays (``float`` would drop the imaginary part),
    booleans, strings and object arrays.
    """
    array = np.asarray(array)
    kind = array.dtype.kind
    if kind == "c":
        raise TypeError(
            f"{name} must be real, got a complex array (dtype {array.dtype}); the imaginary part "
            "would be dropped, so pass the real part explicitly if that is what you mean"
        )
    if kind == "b":
        raise TypeError(f"{name} must hold numbers, got a boolean array; convert it (e.g. .astype(float)) first")
    if kind not in "iuf":
        raise TypeError(f"{name} must be a numeric array of integers or floats, got dtype {array.dtype}")
    return array


def check_spin_configurations(x, n_sites: int, name: str = "x"):
    r"""Return ``x`` unchanged after checking it holds spins :math:`\pm 1` of ``n_sites`` sites.

    The shape ``(..., n_sites)`` is always checked. The values are checked only when ``x`` is
    concrete: inside :func:`jax.jit` they are unknown, so traced code cannot be checked.
    """
    shape = np.shape(x)
    if len(shape) == 0 or shape[-1] != n_sites:
        got = "a scalar" if len(shape) == 0 else f"{shape[-1]} spins on its last axis (shape {shape})"
        raise ValueError(f"{name} must have shape (..., {n_sites}) for the N = {n_sites} system, got {got}")
    import jax
    import jax.numpy as jnp

    if isinstance(x, jax.core.Tracer) or np.size(x) == 0:
        return x
    # Checked where the data lives: device arrays on the device, host arrays on the host.
    xp = jnp if isinstance(x, jax.Array) else np
    values = xp.asarray(x)
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold the spin values -1 and +1 as numbers, got dtype {values.dtype}")
    if not bool(xp.all((values == 1) | (values == -1))):
        found = np.unique(np.asarray(values))[:5]
        raise ValueError(
            f"{name} must hold spins -1 and +1 (NetKet's Spin(0.5) local states), found values {found}; "
            "0/1 bits map to spins as x = 1 - 2 * bits"
        )
    return x


def check_spin_hilbert(hilbert, n_sites: int | None = None) -> None:
    """Raise unless ``hilbert`` is an unconstrained ``Spin(0.5, N)`` of the right size."""
    import netket as nk

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


def check_choice(value, name: str, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise naming ``name``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def check_scale(value, name: str, *, allow_none: bool = False) -> float | None:
    """Return a standard deviation ``>= 0`` (or ``None`` where allowed), else raise naming ``name``."""
    if value is None and allow_none:
        return None
    value = check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (a standard deviation), got {value}")
    return value


def check_float_dtype(dtype, name: str = "param_dtype"):
    """Return ``dtype`` as a ``jnp.dtype`` after checking it is a real floating type."""
    import jax.numpy as jnp

    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{name} must be a real floating dtype (float32 or float64), got {dtype}")
    return dtype
