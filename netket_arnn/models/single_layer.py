r"""1L baseline (THEORY §5): one masked linear layer, then the sigmoid.

.. math::  u_i = b_i + \sum_{s<i} W_{is} x_s .

It is H2ARNN with the hidden layer removed: at ``start="couplings"`` it starts from
:math:`W_{is} = 2\beta J_{is}`, :math:`b_i = 2\beta h_i`, the direct (mean-field-like) part
:math:`2\beta(\xi_{ii} + h_i)` of the exact logit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.nn.initializers import normal, zeros
from netket.utils import HashableArray
from netket.utils.types import DType

from .._validation import check_beta
from .base import PhysicsARNN, check_options, check_pairwise


class SingleLayerARNN(PhysicsARNN):
    r"""1L: :math:`u_i = b_i + \sum_{s<i} W_{is} x_s`, a masked ``(N, N)`` kernel and ``(N,)`` bias.

    Parameters: ``kernel`` ``(N, N)`` (only the strictly lower triangle :math:`s < i` is
    used; the masked entries get zero gradient) and ``bias`` ``(N,)``: :math:`N^2 + N`
    stored numbers as in THEORY §5 (:math:`N^2 + O(N)`, the count of a dense masked layer),
    of which :math:`N(N-1)/2 + N` are effective.

    The initial values are ``initial_kernel`` / ``initial_bias`` when given (set by
    :meth:`from_hamiltonian`), else drawn from ``kernel_init`` / ``bias_init``.
    Cost: :math:`O(N^2)` per sample; sampling keeps the running masked sums
    :math:`\sum_{s<i} W_{ls} x_s` of every later site :math:`l` in the cache (:math:`O(N)` per site).
    """

    initial_kernel: HashableArray | None = None
    """``(N, N)`` starting kernel (its upper triangle and diagonal are ignored)."""
    initial_bias: HashableArray | None = None
    """``(N,)`` starting bias."""
    kernel_init: Callable = normal(1e-2)
    """initialiser of the kernel when ``initial_kernel`` is None."""
    bias_init: Callable = zeros
    """initialiser of the bias when ``initial_bias`` is None."""
    precision: Any = None
    """precision of the matmul (:class:`jax.lax.Precision`); on GPUs float32 matmuls default to
    TF32 (about 1e-3 relative error), ``Precision.HIGHEST`` keeps full float32."""
    machine_pow: int = 2
    param_dtype: DType = jnp.float64

    @classmethod
    def from_hamiltonian(
        cls, H, beta: float, *, start: str = "couplings", init_scale: float = 1e-2, param_dtype=jnp.float64
    ):
        r"""1L for the pairwise Hamiltonian ``H``.

        ``start="couplings"``: :math:`W_{is} = 2\beta J_{is}`, :math:`b_i = 2\beta h_i`;
        ``start="random"``: kernel :math:`\mathcal N(0, \text{init\_scale}^2)`, zero bias.
        """
        check_pairwise(H)
        beta = check_beta(beta)
        check_options("start", start, {"couplings", "random"})
        if start == "random":
            return cls(hilbert=H.hilbert, kernel_init=normal(float(init_scale)), param_dtype=param_dtype)
        return cls(
            hilbert=H.hilbert,
            initial_kernel=HashableArray(2.0 * beta * np.tril(np.asarray(H.couplings, np.float64), -1)),
            initial_bias=HashableArray(2.0 * beta * np.asarray(H.fields, np.float64)),
            param_dtype=param_dtype,
        )

    def setup(self):
        n, dtype = self.hilbert.size, self.param_dtype
        for name, value, shape in (
            ("initial_kernel", self.initial_kernel, (n, n)),
            ("initial_bias", self.initial_bias, (n,)),
        ):
            if value is not None and np.shape(value) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(value)}")

        def start(value, init, shape):
            if value is None:
                return lambda key: init(key, shape, dtype)
            return lambda _: jnp.asarray(np.asarray(value), dtype=dtype)

        self.kernel = self.param("kernel", start(self.initial_kernel, self.kernel_init, (n, n)))
        self.bias = self.param("bias", start(self.initial_bias, self.bias_init, (n,)))

    def _masked_kernel(self):
        return jnp.tril(self.kernel, -1)

    def logits(self, x):
        return jnp.matmul(x, self._masked_kernel().T, precision=self.precision) + self.bias

    def conditional_logit(self, x, index):
        # cache[:, l] = Σ_{s<i} W_ls x_s for every site l: one column of W per sampled site.
        cache = self.cache_variable("partial_sums", x.shape, x.dtype)
        sums = cache.value
        if not self.is_initializing():
            prev = jnp.maximum(index - 1, 0)
            column = jax.lax.dynamic_index_in_dim(self.kernel, prev, axis=1, keepdims=False)
            column = jnp.where(jnp.arange(x.shape[1]) > prev, column, 0.0)  # the mask, O(N)
            sums = jnp.where(index == 0, 0.0, sums + x[:, prev, None] * column[None, :]).astype(x.dtype)
            cache.value = sums
        return self.bias[index] + sums[:, index]
