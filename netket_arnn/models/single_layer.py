r"""1L baseline (THEORY §5): one masked linear layer, then the sigmoid.

.. math::  u_i = c_i + \sum_{s<i} W_{si}\, x_s = c_i + \xi_{ii},

i.e. the first layer alone (:class:`netket_arnn.nn.DenseFirstLayer`, learned) read at its skip
input, without hidden units: H2ARNN with the hidden layer removed. Started from the couplings,
:math:`W_{si} = 2\beta J_{si}` and :math:`c_i = 2\beta h_i`, it is the direct (mean-field-like)
part :math:`2\beta(\xi_{ii} + h_i)` of the exact logit.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from netket.utils import HashableArray
from netket.utils.types import DType

from .._validation import check_beta, check_scale
from ..nn.dense import DenseFirstLayer
from ..operators._checks import check_model_hamiltonian
from .base import PhysicsARNN, hashable
from .precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE, check_precision

__all__ = ["SingleLayerARNN"]


class SingleLayerARNN(PhysicsARNN):
    r"""1L: :math:`u_i = c_i + \sum_{s<i} W_{si} x_s`, a masked ``(N, N)`` kernel and an ``(N,)`` bias.

    Parameters: ``first_layer/kernel`` ``(N, N)`` (only the strict upper triangle
    :math:`s < i` is read; the other entries get zero gradient) and ``bias`` ``(N,)``:
    :math:`N^2 + N` stored numbers, the paper's count, of which :math:`N(N-1)/2 + N` are effective.

    ``couplings`` is the start of the kernel (:meth:`from_hamiltonian` sets :math:`2\beta J`);
    with ``couplings_init_scale`` the kernel starts at :math:`\mathcal N(0, \text{scale}^2)`
    instead. ``bias`` starts at ``initial_bias`` (:math:`2\beta h`), or zero.
    Cost: :math:`O(N^2)` per sample (one matmul); sampling advances the first-layer state,
    :math:`O(N)` per site.
    """

    couplings: HashableArray | None = None
    """``(N, N)`` start of the kernel (its strict upper triangle is read)."""
    initial_bias: HashableArray | None = None
    """``(N,)`` start of the bias (default zero)."""
    couplings_init_scale: float | None = None
    """std of a random start of the kernel (``None``: start from ``couplings``)."""
    precision: Any = None
    """precision of the matmul (:class:`jax.lax.Precision`); on GPUs float32 matmuls default to
    TF32 (about 1e-3 relative error), ``Precision.HIGHEST`` keeps full float32."""

    @classmethod
    def from_hamiltonian(
        cls,
        H,
        beta: float,
        *,
        couplings_init_scale: float | None = None,
        param_dtype: DType = DEFAULT_PARAM_DTYPE,
        dtype: DType = DEFAULT_DTYPE,
    ):
        r"""1L for the pairwise Hamiltonian ``H``: kernel :math:`2\beta J`, bias :math:`2\beta h`.

        ``couplings_init_scale``: start the kernel at :math:`\mathcal N(0, \text{scale}^2)` instead.
        ``param_dtype``, ``dtype``: the precision policy (:mod:`~netket_arnn.models.precision`).
        """
        check_model_hamiltonian(H, "SingleLayerARNN")
        beta = check_beta(beta)
        param_dtype, dtype = check_precision(param_dtype, dtype)
        return cls(
            hilbert=H.hilbert,
            couplings=hashable(2.0 * beta * np.asarray(H.couplings, np.float64)),
            initial_bias=hashable(2.0 * beta * np.asarray(H.fields, np.float64)),
            couplings_init_scale=check_scale(couplings_init_scale, "couplings_init_scale", allow_none=True),
            param_dtype=param_dtype,
            dtype=dtype,
        )

    def setup(self):
        n, dtype = self.hilbert.size, self.param_dtype
        if self.initial_bias is not None and np.shape(self.initial_bias) != (n,):
            raise ValueError(f"initial_bias must have shape ({n},), got {np.shape(self.initial_bias)}")
        if self.couplings is None and self.couplings_init_scale is None:
            raise ValueError(
                "SingleLayerARNN needs a start for its kernel: `couplings` or `couplings_init_scale`; "
                "build it with SingleLayerARNN.from_hamiltonian(H, beta)"
            )
        self.first_layer = DenseFirstLayer(
            n_sites=n,
            values=self.couplings,
            learn_couplings=True,
            couplings_init_scale=self.couplings_init_scale,
            param_dtype=dtype,
            dtype=self.compute_dtype,
        )
        bias = np.zeros(n) if self.initial_bias is None else np.asarray(self.initial_bias)
        self.bias = self.param("bias", lambda _: jnp.asarray(bias).astype(dtype))

    def site_logits(self, xi, index):
        r""":math:`u_i = c_i + \xi_{ii}`."""
        return self.compute(self.bias[index]) + jax.lax.dynamic_index_in_dim(xi, index, axis=1, keepdims=False)

    def logits(self, x):
        """All logits in one masked matmul, :math:`O(N^2)` per sample."""
        return self.first_layer.self_fields(x, precision=self.precision) + self.compute(self.bias)
