r"""The precision policy of every model of :mod:`netket_arnn.models`: two dtypes, one meaning each.

=================  ==========================================================================  ===========
field              meaning                                                                     default
=================  ==========================================================================  ===========
``param_dtype``    storage of the parameters and of the fixed variables (``"fixed"``,           ``float64``
                   ``"couplings"``); :math:`\log q` is accumulated over the sites and
                   returned in it, and parameter gradients come back in it
``dtype``          arithmetic of the per-sample pass: the first-layer fields, the hidden        ``float32``
                   units, the logits and the per-site log-conditionals of ``__call__``, and
                   the conditionals of the sampling pass
=================  ==========================================================================  ===========

Every model and factory (:class:`~netket_arnn.models.CurieWeissARNN`,
:class:`~netket_arnn.models.CurieWeissInfARNN`, :class:`~netket_arnn.models.OneParameterARNN`,
:class:`~netket_arnn.models.SingleLayerARNN`, :class:`~netket_arnn.models.H2ARNN`,
:class:`~netket_arnn.models.SpinGlassARNN`, :func:`~netket_arnn.models.made`) takes both, as fields
and as the keywords ``param_dtype=`` and ``dtype=`` of its constructor, with these defaults.

The per-sample arrays (every array with a batch axis) are of ``dtype``, except the final cast of
the per-site log-conditionals and their sum :math:`\log q(x) = \sum_i \log q(x_i \mid x_{<i})`,
which are of ``param_dtype``: with the defaults each log-conditional carries a float32 rounding
error, but the sum of :math:`N` of them adds none, so the error of :math:`\log q` grows like
:math:`\sqrt{N}` roundings instead of :math:`N` of the size of :math:`\log q` itself.

Quantities computed once per parameter set, before any sample is seen (CW_N's table of
conditionals, its :math:`O(N^2)` recursion; H2ARNN's hidden kernel, the couplings contracted with
the hidden weights), are parameter-like: they are computed in ``param_dtype`` and cast to ``dtype``
where they meet the samples.

Why float32 arithmetic by default: the per-sample pass is elementwise transcendental work
(log-sigmoids, log-sum-exps) that runs 2–3 times faster in float32 on CPUs, and the error it adds
to :math:`\log q` (about :math:`10^{-6}` relative) is orders of magnitude below the statistical
error of any estimate made from samples (the model guide lists the measured shifts).
``dtype=jnp.float64`` gives full double precision, for exactness checks against enumeration.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._validation import check_float_dtype

__all__ = ["DEFAULT_DTYPE", "DEFAULT_PARAM_DTYPE", "check_precision"]

DEFAULT_PARAM_DTYPE = jnp.dtype(jnp.float64)
"""Default ``param_dtype`` of every model: parameters, fixed variables and :math:`\\log q` in float64."""

DEFAULT_DTYPE = jnp.dtype(jnp.float32)
"""Default ``dtype`` of every model: the per-sample arithmetic in float32."""


def check_precision(param_dtype, dtype) -> tuple[jnp.dtype, jnp.dtype]:
    """``(param_dtype, dtype)`` as ``jnp.dtype``, after checking each is a real floating dtype.

    ``None`` is refused for either: ``jnp.dtype(None)`` would silently mean float64, and ``dtype``
    has no "same as ``param_dtype``" value (pass the same dtype twice for that).
    """
    for value, name in ((param_dtype, "param_dtype"), (dtype, "dtype")):
        if value is None:
            raise TypeError(
                f"{name} must be a real floating dtype (float32 or float64), got None; the defaults are "
                f"param_dtype={DEFAULT_PARAM_DTYPE.name}, dtype={DEFAULT_DTYPE.name}"
            )
    return check_float_dtype(param_dtype, "param_dtype"), check_float_dtype(dtype, "dtype")
