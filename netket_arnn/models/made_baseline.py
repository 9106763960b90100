r"""The paper's generic baseline MADE_dw as a NetKet ``ARNNDense`` model (THEORY §5).

A :class:`netket.models.ARNNDense` (``machine_pow = 2``, sampled with
:class:`netket.sampler.ARDirectSampler`) that follows the package's precision policy
(:class:`MADE`: ``param_dtype`` and ``dtype``, :mod:`~netket_arnn.models.precision`); this module
only fixes the paper's recipe and counts the parameters the way the paper and NetKet do. (The
paper's other generic baseline, 1L, is :class:`netket_arnn.models.SingleLayerARNN`.)

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

import flax.linen as nn
import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from netket.models.autoreg import _get_feature_list, _normalize
from netket.utils.types import DType

from .._validation import check_choice, check_positive_int, check_spin_hilbert
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision

__all__ = ["MADE", "made", "made_n_params", "made_width_for", "paper_activation"]

_CONVENTIONS = ("netket", "effective", "paper")


def paper_activation(x: jax.Array) -> jax.Array:
    """Leaky ReLU with slope 0.5: the paper's PReLU at its initial slope, without the parameters."""
    return jnp.where(x >= 0, x, 0.5 * x)


class _MaskedDense1D(nk.nn.MaskedDense1D):
    """NetKet's masked dense layer, computing in ``dtype`` (NetKet's computes in the widest of its inputs)."""

    dtype: DType = DEFAULT_DTYPE
    """dtype of the arithmetic: inputs, kernel and bias are cast to it."""

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        # netket.nn.MaskedDense1D.__call__ with its promote_dtype(..., dtype=None) replaced by a cast
        single = inputs.ndim == 2
        if single:
            inputs = inputs[None]
        batch, size, in_features = inputs.shape
        inputs = inputs.reshape((batch, size * in_features)).astype(self.dtype)
        mask = np.kron(np.triu(np.ones((size, size)), self.exclusive), np.ones((in_features, self.features))).astype(
            self.param_dtype
        )
        kernel = self.param(
            "kernel",
            nk.nn.masked_linear.wrap_kernel_init(self.kernel_init, jnp.asarray(mask)),
            (size * in_features, size * self.features),
            self.param_dtype,
        )
        kernel = (jnp.asarray(mask) * kernel).astype(self.dtype)
        y = jax.lax.dot(inputs, kernel, precision=self.precision).reshape((batch, size, self.features))
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (size, self.features), self.param_dtype).astype(self.dtype)
        return y[0] if single else y


class MADE(nk.models.ARNNDense):
    r""":class:`netket.models.ARNNDense` under the package's precision policy (:func:`made` builds it).

    The same variables as ``ARNNDense`` (a checkpoint of one loads into the other), stored in
    ``param_dtype``; the layers, the activation and the normalisation of the conditionals are
    computed in ``dtype``, and :math:`\log\psi` is summed over the sites in ``param_dtype``
    (:mod:`~netket_arnn.models.precision`).
    """

    param_dtype: DType = DEFAULT_PARAM_DTYPE
    """dtype of the parameters; log ψ is accumulated and returned in it."""
    dtype: DType = DEFAULT_DTYPE
    """dtype of the per-sample arithmetic."""

    def __post_init__(self):
        check_precision(self.param_dtype, self.dtype)
        super().__post_init__()

    def setup(self):
        features = _get_feature_list(self)
        self._layers = [
            _MaskedDense1D(
                features=features[i],
                exclusive=(i == 0),
                use_bias=self.use_bias,
                param_dtype=self.param_dtype,
                dtype=self.dtype,
                precision=self.precision,
                kernel_init=self.kernel_init,
                bias_init=self.bias_init,
            )
            for i in range(self.layers)
        ]

    def conditionals_log_psi(self, inputs: jax.Array) -> jax.Array:
        """``(B, N, 2)`` normalised log conditionals (halved: ``machine_pow = 2``), in ``dtype``."""
        x = jnp.asarray(inputs).astype(self.dtype)[..., None]
        for i, layer in enumerate(self._layers):
            if i > 0:
                x = self.activation(x)
            x = layer(x)
        return _normalize(x.reshape((x.shape[0], -1, x.shape[-1])), self.machine_pow)

    def __call__(self, inputs: jax.Array) -> jax.Array:
        r"""``(B,)`` :math:`\log\psi`: the per-site terms in ``dtype``, their sum in ``param_dtype``."""
        if inputs.ndim == 1:
            inputs = inputs[None]
        inputs = jnp.asarray(inputs).astype(self.dtype)  # ±1: exact in any float dtype
        index = self.hilbert.states_to_local_indices(inputs)[..., None]
        log_psi = jnp.take_along_axis(self.conditionals_log_psi(inputs), index, axis=-1)
        return jnp.sum(log_psi.reshape((inputs.shape[0], -1)).astype(self.param_dtype), axis=1)


def made(
    hilbert: nk.hilbert.Spin,
    depth: int,
    width: int,
    *,
    activation=paper_activation,
    param_dtype: DType = DEFAULT_PARAM_DTYPE,
    dtype: DType = DEFAULT_DTYPE,
    **kwargs,
) -> MADE:
    """MADE_dw of the paper as ``ARNNDense(layers=depth, features=(width,) * (depth - 1) + (2,))``.

    Args:
        hilbert: ``nk.hilbert.Spin(0.5, N)``.
        depth: number of masked dense layers ``d`` (>= 2; one layer is 1L,
            :class:`netket_arnn.models.SingleLayerARNN`).
        width: hidden features per site ``w`` (hidden layers have ``w·N`` units).
        activation: parameter-free activation between layers (default: leaky ReLU 0.5).
        param_dtype: dtype of the parameters and of log q, ``jnp.float64`` (default) or ``jnp.float32``.
        dtype: dtype of the arithmetic, ``jnp.float32`` (default) or ``jnp.float64``
            (:mod:`~netket_arnn.models.precision`).
        **kwargs: passed on to :class:`netket.models.ARNNDense` (``kernel_init``, ...).

    Returns:
        a :class:`MADE`, an ``ARNNDense`` with the same variables.
    """
    check_spin_hilbert(hilbert)
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    param_dtype, dtype = check_precision(param_dtype, dtype)
    if depth == 1:
        raise ValueError("MADE needs depth >= 2: a single masked layer is 1L, netket_arnn.models.SingleLayerARNN")
    return MADE(
        hilbert=hilbert,
        layers=depth,
        features=(width,) * (depth - 1) + (hilbert.local_size,),
        activation=activation,
        param_dtype=param_dtype,
        dtype=dtype,
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
