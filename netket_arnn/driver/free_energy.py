r"""The variational free-energy driver: NetKet's VMC for classical spins at temperature 1/β.

For a normalised autoregressive model :math:`q_\theta` sampled exactly, the driver minimises

.. math::

    f[q] = \frac{F[q]}{N} = \frac1N\,E_{x\sim q}\Big[H(x) + \frac1\beta\log q(x)\Big]
         \;\ge\; f, \qquad \beta N\,(f[q] - f) = \mathrm{KL}(q\,\|\,p),

with the score-function gradient and baseline of THEORY §1. Writing
:math:`f_\text{loc}(x) = (H(x) + \beta^{-1}\log q(x))/N`,

.. math::

    \nabla_\theta f[q] = E_q\big[(f_\text{loc} - E_q f_\text{loc})\,\nabla_\theta\log q\big]
                       = \mathrm{Cov}_q\big(f_\text{loc},\,\nabla_\theta \log q\big),

since :math:`E_q[\nabla\log q] = 0`. It is estimated on :math:`M` independent samples by the
unbiased sample covariance :math:`\frac{1}{M-1}\sum_k (f_k - \bar f)\nabla\log q(x_k)`, computed as
one vector-Jacobian product of :math:`\log q = 2\,\mathrm{Re}\log\psi`
(so it runs sharded over devices and in chunks like NetKet's own estimators).

Each step samples with ``ARDirectSampler(return_log_probabilities=True)``, so :math:`\log q` of the
samples comes from the sampling pass itself rather than from a second evaluation of the model. A
model with a fused gradient (a ``log_prob_vjp`` method, e.g. :class:`netket_arnn.models.SpinGlassARNN`)
gives the vector-Jacobian product in one pass with its backward written out; any other ARNN goes
through :func:`netket.jax.vjp`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import netket as nk
import numpy as np
from netket import jax as nkjax
from netket.driver import AbstractOptimizationDriver
from netket.optimizer import identity_preconditioner
from netket.utils import struct, timing
from netket.utils.types import PyTree

from .._compat import get_forward_operator, sample_with_log_prob
from .._validation import check_beta, check_non_negative_int
from ..models.log_prob import machine_pow_of
from .core import SerializableDriver, non_finite
from .divergence import ON_NAN, DivergenceError, RollbackWarning, apply_scaled_gradient
from .estimator import free_energy_and_grad
from .local_balance import METHOD, supports_local_balance

__all__ = ["DivergenceError", "RollbackWarning", "VariationalFreeEnergy"]


class _InsufficientSamplesForSR(nk.errors.InsufficientSamplesForSRWarning):
    """NetKet's warning (filters on it apply), with this driver's remedy instead of ``nk.driver.VMC_SR``."""

    def __init__(self, n_samples: int, n_parameters: int):
        # NetKet's text recommends VMC_SR, a driver of quantum energies; the free energy's remedy is ours
        Warning.__init__(
            self,
            f"{n_samples} samples per step for {n_parameters} parameters: nk.optimizer.SR's dense P x P matrix "
            "has rank at most the number of samples and costs O(M P^2 + P^3). netket_arnn.driver.SampleSpaceSR "
            "computes the same update through the M x M sample kernel: pass "
            "preconditioner=SampleSpaceSR(diag_shift=...) instead.",
        )


class VariationalFreeEnergy(SerializableDriver, AbstractOptimizationDriver):
    r"""Minimise the variational free energy per spin :math:`f[q]` of an autoregressive state.

    Works like :class:`netket.driver.VMC`: :meth:`run` with NetKet loggers
    (``out=``), ``obs=``, callbacks and the progress bar; an optax optimizer; an optional
    preconditioner such as :class:`netket.optimizer.SR`. At every step it logs

    - ``free_energy_per_spin``: :math:`f[q] = F[q]/N` (the minimised quantity, a ``Stats``),
    - ``free_energy``, ``energy``, ``entropy``: the totals :math:`F[q]`, :math:`E` and :math:`S`
      under :math:`q`, as NetKet logs the expectation of an operator (``obs=``) in the same log,
    - ``energy_per_spin``, ``entropy_per_spin``, ``abs_magnetization_per_spin``: per spin,
    - ``beta``: the β of the step.

    Args:
        hamiltonian: classical Hamiltonian with a batched, jax-traceable ``energy(x)``
            that is a jax pytree (e.g. :class:`netket_arnn.PairwiseIsing`).
        optimizer: an optax optimizer (e.g. ``nk.optimizer.Adam(1e-3)``).
        variational_state: an ``nk.vqs.MCState`` of an ``nk.models.AbstractARNN`` with an
            exact sampler (``nk.sampler.ARDirectSampler``), on ``hamiltonian.hilbert``.
        beta: inverse temperature: a number > 0, or a callable ``step -> β`` (see
            :mod:`netket_arnn.driver.schedules`), evaluated at the start of every step.
        preconditioner: e.g. ``nk.optimizer.SR(diag_shift=...)``; ``None`` is the identity.
        on_nan: what to do when :math:`f[q]` or its gradient is not finite at a step:
            ``"raise"`` (default) stops with a :class:`DivergenceError` naming the step, β and
            the last finite value; ``"rollback"`` restores the parameters and optimizer state of
            the last step with finite values, halves the learning rate (every later update is
            scaled by 1/2 more) and draws fresh samples, at most ``max_rollbacks`` times in all,
            then raises.
        max_rollbacks: bound on the rollbacks of ``on_nan="rollback"`` (>= 0).
        local_balance: weight λ >= 0 of the local-balance term
            (:mod:`netket_arnn.driver.local_balance`): 0 (default) is the plain variational
            gradient; λ > 0 adds :math:`\lambda/(2\beta N)\,\nabla B`, a per-site signal from a
            model that estimates its future free energy (:class:`~netket_arnn.models.FrontierARNN`),
            on a :class:`~netket_arnn.PairwiseIsing`.

    The gradient is that of :math:`f = F/N` (so its scale is
    :math:`\nabla\mathrm{KL}/(\beta N)`); Adam is insensitive to that scale, an SR learning
    rate :math:`\eta` is a natural-gradient step of :math:`\eta/(\beta N)` in KL units.
    """

    _ham: Any = struct.field(pytree_node=False, serialize=False)
    _preconditioner: Any = struct.field(pytree_node=False, serialize=False)
    _beta_schedule: Any = struct.field(pytree_node=False, serialize=False)
    _beta: float = struct.field(pytree_node=False, serialize=True)
    _observables: Any = struct.field(pytree_node=False, serialize=False, default=None)
    _loss_grad: PyTree = struct.field(serialize=False, default=None)
    _on_nan: str = struct.field(pytree_node=False, serialize=False, default="raise")
    _max_rollbacks: int = struct.field(pytree_node=False, serialize=False, default=3)
    _rollbacks: int = struct.field(pytree_node=False, serialize=True, default=0)
    _update_scale: float = struct.field(pytree_node=False, serialize=True, default=1.0)
    learning_rate_factor: float = struct.field(pytree_node=False, serialize=False, default=1.0)
    _last_good: Any = struct.field(pytree_node=False, serialize=False, default=None)
    _last_finite: Any = struct.field(pytree_node=False, serialize=False, default=None)
    _problem: str | None = struct.field(pytree_node=False, serialize=False, default=None)
    _local_balance: float = struct.field(pytree_node=False, serialize=False, default=0.0)

    def __init__(
        self,
        hamiltonian,
        optimizer,
        *,
        variational_state: nk.vqs.MCState,
        beta: float | Callable[[int], float],
        preconditioner=None,
        on_nan: str = "raise",
        max_rollbacks: int = 3,
        local_balance: float = 0.0,
    ):
        _check_inputs(hamiltonian, variational_state)
        local_balance = _check_local_balance(local_balance, hamiltonian, variational_state.model)
        if on_nan not in ON_NAN:
            raise ValueError(f"on_nan must be one of {ON_NAN}, got {on_nan!r}")
        max_rollbacks = check_non_negative_int(max_rollbacks, "max_rollbacks")
        super().__init__(variational_state, optimizer, minimized_quantity_name="free_energy_per_spin")
        self._on_nan, self._max_rollbacks = on_nan, max_rollbacks
        self._rollbacks, self._update_scale = 0, 1.0
        self.learning_rate_factor = 1.0
        self._last_good, self._last_finite, self._problem = None, None, None
        self._ham = hamiltonian
        self.preconditioner = preconditioner
        self._beta_schedule = None
        self._beta = 0.0
        self.beta = beta
        self._observables = None
        self._local_balance = local_balance

        if (
            isinstance(preconditioner, nk.optimizer.SR)
            and variational_state.n_samples <= variational_state.n_parameters
        ):
            warnings.warn(
                _InsufficientSamplesForSR(variational_state.n_samples, variational_state.n_parameters), stacklevel=2
            )

    # -- configuration --------------------------------------------------------------
    @property
    def hamiltonian(self):
        """The classical Hamiltonian :math:`H`."""
        return self._ham

    @property
    def beta(self) -> float:
        """The β of the current (or next) step. Assign a number or a ``step -> β`` callable."""
        return self._beta

    @beta.setter
    def beta(self, value):
        if callable(value):
            self._beta = check_beta(value(self.step_count), "beta(step)")
            self._beta_schedule = value
        else:
            self._beta = check_beta(value)
            self._beta_schedule = None

    @property
    def beta_schedule(self) -> Callable[[int], float] | None:
        """The ``step -> β`` callable, or ``None`` for a fixed β."""
        return self._beta_schedule

    @property
    def local_balance(self) -> float:
        """Weight λ of the local-balance term in the gradient (0: the plain variational gradient)."""
        return self._local_balance

    @property
    def preconditioner(self):
        """Gradient transformation ``(vstate, grad, step) -> grad`` (identity by default)."""
        return self._preconditioner

    @preconditioner.setter
    def preconditioner(self, value):
        self._preconditioner = identity_preconditioner if value is None else value

    # -- one step -----------------------------------------------------------------------
    @timing.timed
    def compute_loss_and_update(self):
        """Sample (already done by :meth:`reset_step`), estimate f and its gradient, precondition."""
        if self._beta_schedule is not None:
            self._beta = check_beta(self._beta_schedule(self.step_count), "beta(step)")
        samples, log_q = sample_with_log_prob(self.state)
        stats, grad = free_energy_and_grad(
            self.state, self._ham, self._beta, samples=samples, log_q=log_q, local_balance=self._local_balance
        )
        self._observables = stats
        self._loss_stats = stats["free_energy"]
        self._loss_grad = grad
        self._problem = non_finite(stats["free_energy"].mean, grad)
        if self._problem is not None:
            return self._loss_stats, grad  # _accept_step rejects it before any update
        self._last_good = (self.state.parameters, self._optimizer_state)
        self._last_finite = (self.step_count, self._beta, float(jnp.real(stats["free_energy"].mean)))
        dp = self.preconditioner(self.state, self._loss_grad, self.step_count)
        self._dp = nkjax.tree_cast(dp, self.state.parameters)
        return self._loss_stats, self._dp

    def _accept_step(self) -> bool:
        """NetKet's step-acceptance hook: a non-finite step is raised or rolled back, then retried."""
        if self._problem is None:
            return True
        self._handle_non_finite(self._problem, self._loss_stats.mean)
        return False  # NetKet draws fresh samples and computes the step again

    def _handle_non_finite(self, problem: str, value) -> None:
        where = f"at step {self.step_count} (β = {self._beta:g})"
        if self._last_finite is None:
            last = "no earlier step of this driver had finite values"
        else:
            step, beta, f = self._last_finite
            last = f"the last finite value was f[q] = {f:.10g} at step {step} (β = {beta:g})"
        what = f"the {problem} is not finite (f[q] = {float(jnp.real(value)):g}) {where}; {last}"
        if self._on_nan == "raise":
            raise DivergenceError(f"{what}. Lower the learning rate, or use on_nan='rollback' (--on-nan rollback)")
        if self._last_good is None or self._rollbacks >= self._max_rollbacks:
            reason = "nothing to roll back to" if self._last_good is None else f"{self._rollbacks} rollbacks done"
            raise DivergenceError(f"{what}; {reason} (max_rollbacks = {self._max_rollbacks})")
        params, opt_state = self._last_good
        self._optimizer_state = opt_state
        self.state.parameters = params  # also clears the samples: fresh ones are drawn
        self._rollbacks += 1
        self._update_scale *= 0.5
        warnings.warn(
            RollbackWarning(
                f"{what}: rolled back to the parameters of step {self._last_finite[0]}, learning rate "
                f"now x{self._update_scale:g} (rollback {self._rollbacks} of at most {self._max_rollbacks})"
            ),
            stacklevel=2,
        )

    def update_parameters(self, dp):
        """Apply the optimizer, its updates scaled by :attr:`update_scale` times :attr:`learning_rate_factor`."""
        scale = self._update_scale * float(self.learning_rate_factor)
        if scale == 1.0:
            return super().update_parameters(dp)
        self._optimizer_state, self.state.parameters = apply_scaled_gradient(
            self._optimizer.update, self._optimizer_state, dp, self.state.parameters, scale
        )

    @property
    def update_scale(self) -> float:
        """Factor applied to the optimizer's updates by the rollbacks: 1, halved by every rollback.

        The updates are also multiplied by :attr:`learning_rate_factor` (default 1), which a
        training protocol (:class:`~netket_arnn.driver.AnnealProtocol`) sets before every step
        to follow its learning-rate schedule. For optimizers whose update is proportional to
        the learning rate (SGD, Adam, ...) both are a change of the learning rate.
        """
        return self._update_scale

    @property
    def on_nan(self) -> str:
        """``"raise"`` or ``"rollback"``: the policy for non-finite steps."""
        return self._on_nan

    def _log_additional_data(self, log_dict: dict):
        super()._log_additional_data(log_dict)
        if self._observables is not None:
            n = self._ham.hilbert.size
            for name in ("free_energy", "energy", "entropy"):
                log_dict[name] = _times(self._observables[name], n)  # totals, as NetKet logs its operators
            for name in ("energy", "entropy", "abs_magnetization"):
                log_dict[f"{name}_per_spin"] = self._observables[name]
        log_dict["beta"] = self._beta

    @property
    def free_energy(self) -> nk.stats.Stats | None:
        """``Stats`` of :math:`f[q]` at the last step."""
        return self._loss_stats

    @property
    def observables(self) -> dict | None:
        """``Stats`` of ``free_energy, energy, entropy, abs_magnetization`` at the last step."""
        return self._observables

    # -- checkpoints ------------------------------------------------------------------------
    def _load_extra(self, restored) -> None:
        self._beta = check_beta(restored._beta)
        self._rollbacks, self._update_scale = int(restored._rollbacks), float(restored._update_scale)
        self._last_good = None

    def __repr__(self):
        return (
            f"VariationalFreeEnergy(step_count={self.step_count}, beta={self._beta:g}, "
            f"hamiltonian={self._ham!r}, state={self.state})"
        )


def _times(stats: nk.stats.Stats, factor: float) -> nk.stats.Stats:
    """The ``Stats`` of ``factor`` times the quantity (a total from a per-spin value)."""
    return nk.stats.Stats(
        mean=stats.mean * factor,
        error_of_mean=stats.error_of_mean * abs(factor),
        variance=stats.variance * factor**2,
        tau_corr=stats.tau_corr,
        R_hat=stats.R_hat,
    )


def _check_inputs(hamiltonian, vstate) -> None:
    if not isinstance(vstate, nk.vqs.MCState):
        raise TypeError(
            f"variational_state must be an nk.vqs.MCState sampled by nk.sampler.ARDirectSampler, "
            f"got {type(vstate).__name__}"
        )
    if not callable(getattr(hamiltonian, "energy", None)) or not hasattr(hamiltonian, "hilbert"):
        raise TypeError(
            f"{type(hamiltonian).__name__} is not a classical Hamiltonian: the free-energy driver "
            "needs `.hilbert` and a batched `energy(x)` (e.g. netket_arnn.PairwiseIsing)"
        )
    model = vstate.model
    if not isinstance(model, nk.models.AbstractARNN):
        raise TypeError(
            f"the model must be a normalised autoregressive network (nk.models.AbstractARNN), "
            f"got {type(model).__name__}: F[q] needs the exact log q(x)"
        )
    sampler = vstate.sampler
    if not isinstance(sampler, nk.sampler.ARDirectSampler) or not getattr(sampler, "is_exact", False):
        raise TypeError(
            f"the sampler must be an exact direct sampler (nk.sampler.ARDirectSampler), got "
            f"{type(sampler).__name__}: the score-function gradient and the error bars assume "
            "independent samples of q"
        )
    if vstate.hilbert != hamiltonian.hilbert:
        raise ValueError(
            f"the variational state lives on {vstate.hilbert} but the Hamiltonian on "
            f"{hamiltonian.hilbert}: they must be the same Hilbert space"
        )
    model_hilbert = getattr(model, "hilbert", None)
    if model_hilbert is not None and model_hilbert != hamiltonian.hilbert:
        raise ValueError(
            f"the model is defined on {model_hilbert} but the Hamiltonian on "
            f"{hamiltonian.hilbert}: they must be the same Hilbert space"
        )
    if vstate.n_samples < 2:
        raise ValueError(f"the gradient estimator needs n_samples >= 2, got {vstate.n_samples}")
    if machine_pow_of(model) != 2:
        raise ValueError(
            f"the model has machine_pow = {model.machine_pow}, but ARDirectSampler samples "
            "q = |psi|^2: the model must use machine_pow = 2"
        )


def _check_local_balance(weight, hamiltonian, model) -> float:
    try:
        weight = float(weight)
    except (TypeError, ValueError):
        raise TypeError(f"local_balance must be a number >= 0, got {weight!r}") from None
    if not np.isfinite(weight) or weight < 0:
        raise ValueError(f"local_balance must be a finite number >= 0, got {weight}")
    if weight == 0:
        return 0.0
    if not supports_local_balance(model):
        raise ValueError(
            f"local_balance > 0 needs a model that estimates its future free energy (a `{METHOD}` method, "
            f"e.g. netket_arnn.models.FrontierARNN); {type(model).__name__} has none"
        )
    if not all(hasattr(hamiltonian, name) for name in ("edges", "edge_weights", "fields")):
        raise TypeError(
            f"local_balance > 0 needs the couplings and fields of a pairwise Hamiltonian (netket_arnn.PairwiseIsing), "
            f"got {type(hamiltonian).__name__}"
        )
    return weight


# Let nk.callbacks.AutoChunkSize find the operator this driver evaluates.
@get_forward_operator.dispatch
def _forward_operator(driver: VariationalFreeEnergy):
    return driver._ham
