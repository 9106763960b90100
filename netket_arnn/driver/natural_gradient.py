r"""Natural-gradient steps for nets with more parameters than samples: SR in sample space.

NetKet's :class:`netket.optimizer.SR` with the dense Jacobian QGT solves

.. math:: (S + \lambda I)\,x = g, \qquad S = O^\top O ,

where :math:`O` is the ``(M, P)`` Jacobian of :math:`\log\psi = \tfrac12\log q` over the ``M``
samples of the step, centred and divided by :math:`\sqrt M`, and :math:`g` the gradient. Building
and solving the ``(P, P)`` matrix costs :math:`O(MP^2 + P^3)` time and :math:`P^2` memory: for the
spin-glass and lattice nets (:math:`P` = 10⁴–10⁵) it does not fit. :math:`S` has rank at most
:math:`M`, and the Woodbury identity gives the same :math:`x` from the ``(M, M)`` sample kernel
:math:`K = O O^\top`:

.. math:: x = \frac{1}{\lambda}\Bigl(g - O^\top (K + \lambda I)^{-1} O g\Bigr),

in :math:`O(M^2 P + M^3)` time and :math:`MP + M^2` memory. When :math:`g = O^\top e` lies in the span
of the rows of :math:`O` (as the free energy's gradient does, :math:`e` proportional to the
centred :math:`\beta H + \log q` of the samples) this is :math:`O^\top (K+\lambda I)^{-1} e`:
the "minimum-step" form known as MinSR (Chen & Heyl 2023) and as NetKet's ``VMC_SR(use_ntk=True)``,
here as a preconditioner that any driver taking NetKet's preconditioners can use, for any
gradient.

As for the dense SR, a component of :math:`g` outside that span (a gradient from other samples
than the Jacobian's) is multiplied by :math:`1/\lambda`: the Jacobian is therefore always taken
on all the samples of the step, those of the gradient.

The subtraction in the bracket cancels the components of :math:`g` along the large eigenvalues
:math:`k` of :math:`K`, to a relative precision of about the float epsilon times
:math:`k/\lambda`: float64 (the parameters' default dtype) keeps it below 1e-8 for
:math:`k/\lambda` up to 1e8.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import netket.jax as nkjax
from jax.flatten_util import ravel_pytree

from .._validation import check_positive_int, check_positive_real

__all__ = ["SampleSpaceSR"]


class SampleSpaceSR:
    r"""Stochastic reconfiguration through the ``(M, M)`` sample kernel (the module doc).

    The update equals that of ``nk.optimizer.SR(qgt=QGTJacobianDense, diag_shift=diag_shift)``
    for real-valued models (an ARNN's :math:`\log\psi`), at a cost linear in the number of
    parameters :math:`P` and quadratic in the number of samples :math:`M`: use it when
    :math:`P > M`.

    A NetKet preconditioner: ``SampleSpaceSR(1e-4)(vstate, gradient, step)`` returns the
    preconditioned gradient, a pytree shaped like ``gradient``. It is called by
    :class:`~netket_arnn.driver.VariationalFreeEnergy` (``preconditioner=``) and NetKet's drivers.

    Args:
        diag_shift: :math:`\lambda > 0`, added to the diagonal of :math:`S` (and of :math:`K`).
        chunk_size: samples per chunk of the Jacobian's computation (``None``: all at once); the
            Jacobian itself, ``M × P`` floats, is always held whole.
    """

    def __init__(self, diag_shift: float = 1e-4, *, chunk_size: int | None = None):
        self.diag_shift = check_positive_real(diag_shift, "diag_shift")
        self.chunk_size = None if chunk_size is None else check_positive_int(chunk_size, "chunk_size")

    def __repr__(self) -> str:
        return f"SampleSpaceSR(diag_shift={self.diag_shift!r}, chunk_size={self.chunk_size!r})"

    def __call__(self, vstate, gradient, step=None):
        samples = vstate.samples
        samples = samples.reshape(-1, samples.shape[-1])
        mode = nkjax.jacobian_default_mode(vstate._apply_fun, vstate.parameters, vstate.model_state, samples)
        if mode != "real":
            raise TypeError(
                f"SampleSpaceSR needs real parameters and a real log ψ (an ARNN's), got a model whose "
                f"Jacobian mode is {mode!r}; use nk.optimizer.SR for it"
            )
        jac = nkjax.jacobian(
            vstate._apply_fun,
            vstate.parameters,
            samples,
            vstate.model_state,
            mode="real",
            chunk_size=self.chunk_size,
            dense=True,
            center=True,
        )
        jac = jac / jnp.sqrt(jac.shape[0])  # S = OᵀO is then the covariance, NetKet's QGT
        flat, unravel = ravel_pytree(gradient)
        return unravel(_woodbury_solve(jac, flat, self.diag_shift).astype(flat.dtype))


@jax.jit
def _woodbury_solve(jac: jax.Array, g: jax.Array, diag_shift) -> jax.Array:
    """``(jacᵀ jac + λ I)⁻¹ g`` from the ``(M, M)`` kernel ``jac jacᵀ``; ``jac`` is ``(M, P)``, ``g`` ``(P,)``."""
    jac = jac.astype(g.dtype)
    kernel = jac @ jac.T
    kernel = kernel + diag_shift * jnp.eye(kernel.shape[0], dtype=kernel.dtype)
    factor = jax.scipy.linalg.cho_factor(kernel)
    z = jax.scipy.linalg.cho_solve(factor, jac @ g)
    return (g - jac.T @ z) / diag_shift
