r"""Inverse Ising: couplings read back from a trained network, and pseudo-likelihood maximisation.

**Reading a learned first layer.** A model trained with a learnable first layer holds weights
:math:`W_{sl}` where the exact network holds the couplings :math:`J_{sl}`
(:math:`\xi_{il} = \sum_{s<i} W_{sl} x_s`). :func:`learned_couplings` returns them as a symmetric
``(N, N)`` matrix. The network's output is unchanged when the sign of the whole layer flips
(the hidden weights absorb it; for SK_kRSB even each column :math:`l` can flip, and rescale),
so :func:`coupling_recovery` aligns the sign first:

- ``r_abs``: Pearson correlation of :math:`|W_{sl}|` with :math:`|J_{sl}|` over the
  :math:`N(N-1)/2` pairs (sign-free, the paper's Fig. 6 figure);
- ``sign``: the global sign :math:`\pm 1` maximising :math:`\sum W J` (``align="global"``), or one
  sign per column :math:`l` (``align="column"``);
- ``r_signed``: Pearson correlation of the aligned :math:`W` with :math:`J`;
- ``slope``, ``intercept``: least-squares line of aligned :math:`W` against :math:`J`.

**Pseudo-likelihood** (Besag 1975; for Ising inference Ravikumar et al. 2010, Aurell & Ekeberg
2012). With :math:`K = \beta J`, :math:`g = \beta h`, the conditional of one spin given all
the others is :math:`p(x_i \mid x_{\setminus i}) = \sigma\big(2 x_i (g_i + \sum_{j} K_{ij} x_j)\big)`;
:func:`pseudo_likelihood_couplings` maximises the symmetric pseudo-log-likelihood

.. math::  \frac1M \sum_m \sum_i \log\sigma\Big(2 x^{(m)}_i \big(g_i + \sum_{j\ne i} K_{ij} x^{(m)}_j\big)\Big)
           \;-\; \lambda \sum_{i<j} K_{ij}^2

over the :math:`N(N-1)/2` couplings and :math:`N` fields with SciPy's L-BFGS-B (value and
gradient from one jitted JAX function), and returns :math:`J = K/\beta`, :math:`h = g/\beta`.
It is a consistent estimator of the couplings for equilibrium samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
import scipy.stats

from .._validation import check_beta, check_real
from .dataset import check_spin_samples

__all__ = [
    "PseudoLikelihoodResult",
    "RecoveryFigures",
    "coupling_recovery",
    "learned_couplings",
    "pseudo_likelihood_couplings",
]

FIRST_LAYER = ("first_layer", "kernel")
"""Where a model with a learned first layer keeps it: ``params["first_layer"]["kernel"]``."""


def learned_couplings(variables, model=None) -> np.ndarray:
    r"""The ``(N, N)`` symmetric, zero-diagonal matrix of a learned first layer.

    With ``model`` (a package model), its own ``coupling_matrix`` method. Without, it reads
    ``variables["params"]["first_layer"]["kernel"]`` (``variables`` may also be the ``params``
    collection itself):

    - a packed vector of :math:`N(N-1)/2` entries, the upper triangle in
      ``np.triu_indices(N, 1)`` order (dense physics-derived models);
    - an ``(N, N)`` matrix whose strict upper triangle holds :math:`W_{si}`, :math:`s < i`
      (the 1L model; the rest is masked out by the model and ignored here).
    """
    if model is not None:
        method = getattr(model, "coupling_matrix", None)
        if method is None:
            raise TypeError(f"{type(model).__name__} has no coupling_matrix method; pass variables alone")
        return np.asarray(model.apply(variables, method=method), dtype=np.float64)
    if not isinstance(variables, dict):
        raise TypeError(f"variables must be a dict of collections (or of parameters), got {type(variables).__name__}")
    params = variables.get("params", variables)
    node = params
    for key in FIRST_LAYER:
        if not hasattr(node, "keys") or key not in node:
            raise KeyError(
                f"the parameters hold no learned first layer at params['first_layer']['kernel'] (top-level "
                f"keys: {sorted(params.keys())}); build the model with learn_couplings=True"
            )
        node = node[key]
    kernel = np.asarray(node, dtype=np.float64)
    if kernel.ndim == 2 and kernel.shape[0] == kernel.shape[1]:
        upper = np.triu(kernel, 1)
        return upper + upper.T
    if kernel.ndim == 1:
        n = int(round((1 + np.sqrt(1 + 8 * kernel.size)) / 2))
        if n * (n - 1) // 2 != kernel.size:
            raise ValueError(f"a packed first layer must have N(N-1)/2 entries, got {kernel.size}")
        rows, cols = np.triu_indices(n, 1)
        W = np.zeros((n, n))
        W[rows, cols] = kernel
        return W + W.T
    raise ValueError(f"unexpected first-layer kernel shape {kernel.shape}: expected (N(N-1)/2,) or (N, N)")


@dataclass(frozen=True)
class RecoveryFigures:
    """How well ``W`` reproduces ``J`` over the pairs ``i < j`` (see the module doc)."""

    r_abs: float
    r_signed: float
    slope: float
    intercept: float
    sign: float
    align: str
    n_pairs: int

    def as_dict(self) -> dict:
        return asdict(self)


def _pairs(matrix, name: str) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square (N, N) matrix, got shape {m.shape}")
    return m


def coupling_recovery(W, J, *, align: str = "global") -> RecoveryFigures:
    r"""Recovery figures of estimated couplings ``W`` against true ``J`` (both ``(N, N)``).

    Only the upper triangles are compared (``W`` and ``J`` may be symmetric or triangular:
    a strictly lower-triangular matrix is transposed first). ``align`` is ``"global"`` (one
    sign) or ``"column"`` (one sign per column of the upper triangle, i.e. per later site
    :math:`l` of the pairs :math:`(s, l)`, :math:`s < l`: the sign freedom of SK_kRSB).
    """
    if align not in ("global", "column"):
        raise ValueError(f"align must be 'global' or 'column', got {align!r}")
    W, J = _pairs(W, "W"), _pairs(J, "J")
    if W.shape != J.shape:
        raise ValueError(f"W has shape {W.shape} but J has shape {J.shape}")
    W, J = _upper(W), _upper(J)
    n = W.shape[0]
    rows, cols = np.triu_indices(n, 1)
    w, j = W[rows, cols], J[rows, cols]
    if len(w) < 3:
        raise ValueError(f"need at least 3 pairs (N >= 3), got N = {n}")
    if align == "global":
        sign = 1.0 if w @ j >= 0 else -1.0
        aligned = sign * w
    else:
        col_dot = np.bincount(cols, weights=w * j, minlength=n)
        col_sign = np.where(col_dot >= 0, 1.0, -1.0)
        aligned = col_sign[cols] * w
        sign = float(np.mean(col_sign))
    fit = scipy.stats.linregress(j, aligned)
    return RecoveryFigures(
        r_abs=float(scipy.stats.pearsonr(np.abs(w), np.abs(j)).statistic),
        r_signed=float(scipy.stats.pearsonr(aligned, j).statistic),
        slope=float(fit.slope),
        intercept=float(fit.intercept),
        sign=float(sign),
        align=align,
        n_pairs=int(len(w)),
    )


def _upper(m: np.ndarray) -> np.ndarray:
    """The upper triangle carries the pairs; a strictly lower-triangular matrix is transposed."""
    if not np.any(np.triu(m, 1)) and np.any(np.tril(m, -1)):
        return m.T
    return m


@dataclass(frozen=True)
class PseudoLikelihoodResult:
    """Pseudo-likelihood estimate: ``couplings`` ``(N, N)`` symmetric and ``fields`` ``(N,)`` (in
    units of the energy, i.e. divided by β), the final objective, and the optimiser's report."""

    couplings: np.ndarray
    fields: np.ndarray
    objective: float
    n_iterations: int
    converged: bool
    message: str


def pseudo_likelihood_couplings(
    samples,
    beta: float = 1.0,
    *,
    l2: float = 0.0,
    fit_fields: bool = True,
    max_iterations: int = 2000,
    tolerance: float = 1e-10,
) -> PseudoLikelihoodResult:
    r"""Symmetric pseudo-likelihood estimate of :math:`J` and :math:`h` from ``(M, N)`` spins ±1.

    Args:
        samples: equilibrium samples, ``(M, N)`` ±1.
        beta: inverse temperature of the samples; the estimate of :math:`\beta J` is divided by
            it (pass 1 to get :math:`\beta J`).
        l2: :math:`\lambda \ge 0`, the L2 penalty on :math:`K = \beta J` (0: plain maximum
            pseudo-likelihood).
        fit_fields: estimate the fields too (else they are held at 0).
        max_iterations, tolerance: L-BFGS-B limits (``maxiter``, ``ftol`` and ``gtol``).
    """
    x = check_spin_samples(samples).astype(np.float64)
    beta = check_beta(beta)
    l2 = check_real(l2, "l2")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    m, n = x.shape
    if n < 2:
        raise ValueError(f"pseudo-likelihood needs N >= 2 spins, got {n}")
    rows, cols = np.triu_indices(n, 1)
    n_pairs = len(rows)
    data = jnp.asarray(x)

    @jax.jit
    def objective(theta):
        upper, g = theta[:n_pairs], theta[n_pairs:]
        K = jnp.zeros((n, n), theta.dtype).at[rows, cols].set(upper)
        K = K + K.T
        local = data @ K + (g if fit_fields else 0.0)
        value = -jnp.sum(jax.nn.log_sigmoid(2.0 * data * local)) / m + l2 * jnp.sum(upper**2)
        return value

    value_and_grad = jax.jit(jax.value_and_grad(objective))

    def fun(theta):
        v, g = value_and_grad(jnp.asarray(theta))
        return float(v), np.asarray(g, dtype=np.float64)

    theta0 = np.zeros(n_pairs + n)
    result = scipy.optimize.minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": int(max_iterations), "ftol": tolerance, "gtol": tolerance},
    )
    K = np.zeros((n, n))
    K[rows, cols] = result.x[:n_pairs]
    K = K + K.T
    fields = result.x[n_pairs:] if fit_fields else np.zeros(n)
    return PseudoLikelihoodResult(
        couplings=K / beta,
        fields=np.asarray(fields) / beta,
        objective=float(result.fun),
        n_iterations=int(result.nit),
        converged=bool(result.success),
        message=str(result.message),
    )
