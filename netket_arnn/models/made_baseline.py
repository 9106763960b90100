r"""The paper's generic baseline MADE_dw as a NetKet ``ARNNDense`` model (THEORY §5).

A plain :class:`netket.models.ARNNDense` (``machine_pow = 2``, sampled with
:class:`netket.sampler.ARDirectSampler`); this module only fixes the paper's recipe and counts
the parameters the way the paper and NetKet do. (The paper's other generic baseline, 1L, is
:class:`netket_arnn.models.SingleLayerARNN`.)

**MADE_dw** (paper code ``MADE(net_depth=d, net_width=w)``): ``d`` masked dense layers in
total, the first exclusive (site ``i`` sees ``x_<i``), hidden layers of width ``w·N`` (``w``
features per site), a PReLU (learnable slope, started at 0.5) between layers, one sigmoid
output per site. So MADE_21 has one hidden layer of width ``N``, MADE_32 two hidden layers
of width ``2N``. (THEORY §5 words this as "d hidden layers"; the paper's code and its
parameter counts have ``d - 1`` hidden layers, which is what is built here.)

NetKet's recipe: ``ARNNDense(layers=d, features=(w,) * (d - 1) + (2,))``. Differences from the
paper's network, by construction of ``ARNNDense``:

- the last layer emits two logits per site (normalised over ``local_states``) instead of one
  sigmoid: same function class, ``N·w_last + N`` redundant parameters;
- the activation has no parameters; the default here is the leaky ReLU with slope 0.5, i.e.
  the paper's PReLU frozen at its initial slope (pass ``activation=`` to change it).

Parameter counts (:func:`made_n_params`), with layer widths
:math:`f_0 = 1, f_1 = \dots = f_{d-1} = w` and :math:`f_d` the output features:

- ``"netket"`` (what ``MCState.n_parameters`` reports; masked-out kernel entries are stored
  and counted): :math:`\sum_{j=1}^{d} (N^2 f_{j-1} f_j + N f_j)` with :math:`f_d = 2`;
- ``"effective"`` (entries the masks let through): :math:`f_0 f_1 N(N-1)/2 + \sum_{j\ge2}
  f_{j-1} f_j N(N+1)/2 + N\sum_j f_j`, :math:`f_d = 2`;
- ``"paper"`` (the paper's code, used in its tables): :math:`\sum_{j=1}^{d} (N^2 f_{j-1} f_j
  + N f_j) + (d-1)\,wN` with :math:`f_d = 1` (the last term: PReLU slopes). For ``d = 1`` this is
  :math:`N^2 + N`, the count of 1L.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket as nk
from netket.utils.types import DType

from .._validation import check_choice, check_positive_int, check_spin_hilbert

__all__ = ["made", "made_n_params", "made_width_for", "paper_activation"]

_CONVENTIONS = ("netket", "effective", "paper")


def paper_activation(x: jax.Array) -> jax.Array:
    """Leaky ReLU with slope 0.5: the paper's PReLU at its initial slope, without the parameters."""
    return jnp.where(x >= 0, x, 0.5 * x)


def made(
    hilbert: nk.hilbert.Spin,
    depth: int,
    width: int,
    *,
    activation=paper_activation,
    param_dtype: DType = jnp.float64,
    **kwargs,
) -> nk.models.ARNNDense:
    """MADE_dw of the paper as ``ARNNDense(layers=depth, features=(width,) * (depth - 1) + (2,))``.

    Args:
        hilbert: ``nk.hilbert.Spin(0.5, N)``.
        depth: number of masked dense layers ``d`` (>= 2; one layer is 1L,
            :class:`netket_arnn.models.SingleLayerARNN`).
        width: hidden features per site ``w`` (hidden layers have ``w·N`` units).
        activation: parameter-free activation between layers (default: leaky ReLU 0.5).
        param_dtype: ``jnp.float64`` (default) or ``jnp.float32``.
        **kwargs: passed on to :class:`netket.models.ARNNDense` (``kernel_init``, ...).
    """
    check_spin_hilbert(hilbert)
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    if depth == 1:
        raise ValueError("MADE needs depth >= 2: a single masked layer is 1L, netket_arnn.models.SingleLayerARNN")
    return nk.models.ARNNDense(
        hilbert=hilbert,
        layers=depth,
        features=(width,) * (depth - 1) + (hilbert.local_size,),
        activation=activation,
        param_dtype=param_dtype,
        **kwargs,
    )


def made_n_params(n_sites: int, depth: int, width: int, convention: str = "netket") -> int:
    """Parameter count of MADE_dw on ``n_sites`` spins (see the module doc for the conventions)."""
    n = check_positive_int(n_sites, "n_sites")
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    check_choice(convention, "convention", _CONVENTIONS)
    out = 1 if convention == "paper" else 2
    features = [1] + [width] * (depth - 1) + [out]
    total = 0
    for j in range(1, depth + 1):
        fan = features[j - 1] * features[j]
        if convention == "effective":
            total += fan * (n * (n - 1) // 2 if j == 1 else n * (n + 1) // 2)
        else:
            total += fan * n * n
        total += n * features[j]
    if convention == "paper":
        total += (depth - 1) * width * n
    return total


def made_width_for(n_sites: int, n_params: int, depth: int = 2, convention: str = "netket") -> int:
    """Smallest width ``w`` whose MADE_dw has at least ``n_params`` parameters (for size-matched baselines)."""
    check_positive_int(n_params, "n_params")
    if depth == 1:
        return 1
    width = 1
    while made_n_params(n_sites, depth, width, convention) < n_params:
        width += 1
    return width
