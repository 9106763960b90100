r"""Maximum-likelihood training of any autoregressive network on a dataset of spin configurations.

For a normalised model :math:`q_\theta` (an :class:`netket.models.AbstractARNN`, so
:math:`\log q_\theta(x) = 2\,\mathrm{Re}\log\psi_\theta(x)` exactly) and data
:math:`x^{(1)}, \dots, x^{(M)}` the driver minimises the mean negative log-likelihood per spin

.. math::  \mathcal L(\theta) = -\frac{1}{M N}\sum_{m=1}^{M} \log q_\theta(x^{(m)}),

whose minimum over all distributions is the entropy per spin of the data distribution
:math:`p`: :math:`\mathcal L = s[p] + \mathrm{KL}(p\,\|\,q_\theta)/N`.

One driver step is one optimizer update on a minibatch of ``batch_size`` training samples. An
epoch is ``floor(M_train / batch_size)`` steps over a fresh random permutation of the training
set (the permutation of epoch ``e`` depends only on ``(seed, e)``, so a restored driver resumes
the same sequence); the remainder of each permutation is left out of that epoch. A held-out
validation set is evaluated every ``validate_every`` steps (default: every epoch); with
``patience`` the run stops once the validation NLL has not improved by more than ``min_delta``
for ``patience`` validations, and (``restore_best=True``) the parameters of the best validation
are restored.

Logged at every step: ``nll`` (the minibatch NLL per spin, a ``Stats`` with its error bar) and
``epoch``; at every validation also ``validation_nll`` (``Stats`` over the validation set; its
error bar treats the samples as independent, which correlated Markov-chain data are not quite).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from netket.driver import AbstractOptimizationDriver
from netket.utils import struct, timing
from netket.utils.types import PyTree

from .._distributed import replicate
from .._validation import check_positive_int, check_real, check_seed
from ..models.log_prob import log_prob, machine_pow_of
from ..observables import iid_statistics
from .core import SerializableDriver, log_prob_and_vjp, non_finite

__all__ = ["MaximumLikelihood", "negative_log_likelihood"]


class _ValidationStop(nk.callbacks.StopRun):
    """The validation NLL stopped improving (``patience`` of :class:`MaximumLikelihood`)."""


class _ValidationStopping(nk.callbacks.AbstractCallback):
    """Ends the run before the next step once the driver has asked to stop."""

    def on_step_start(self, step, log_data, driver):
        # Stop *before* a step, so that every counted step was applied and logged.
        if driver._stop_reason is not None:
            reason = driver._stop_reason
            if driver._restore_best:
                driver.restore_best()
            raise _ValidationStop(reason)


class MaximumLikelihood(SerializableDriver, AbstractOptimizationDriver):
    r"""Minimise the mean negative log-likelihood per spin of an autoregressive network on data.

    Works like :class:`netket.driver.VMC`: :meth:`run` with NetKet loggers (``out=``), callbacks
    and the progress bar, and an optax optimizer. See the module doc for the loss, the epochs,
    the validation and the early stopping.

    Args:
        data: ``(M, N)`` spins ±1 (any integer or float dtype), or a
            :class:`~netket_arnn.data.BoltzmannDataset` (which warns if its equilibration
            diagnostics failed).
        optimizer: an optax optimizer (e.g. ``nk.optimizer.Adam(1e-3)``).
        variational_state: a NetKet variational state (``nk.vqs.MCState`` with
            ``nk.sampler.ARDirectSampler``, or ``nk.vqs.FullSumState``) of an
            ``nk.models.AbstractARNN`` on ``Spin(0.5, N)``. The driver never samples from it.
        batch_size: training samples per step (<= the size of the training set).
        validation_fraction: fraction of ``data`` held out for validation (a random subset
            drawn with ``seed``); 0 for none. Ignored when ``validation_data`` is given.
        validation_data: an explicit ``(M_val, N)`` validation set (then all of ``data`` trains).
        seed: seed of the validation split and of the epoch permutations.
        validate_every: steps between validations (default: one epoch).
        patience: validations without improvement before stopping (None: never stop early).
        min_delta: smallest decrease of the validation NLL that counts as an improvement.
        restore_best: restore the parameters of the best validation when stopping early.

    Several devices or processes (:func:`jax.distributed.initialize`): the training and validation
    sets are *replicated*, every device holding all of them (each process places the copy it
    read, nothing is sent), and the *work* is split: each step's minibatch is sharded over all
    devices, each evaluates its part, and the gradient's mean is reduced over all of them. So
    every layout draws the same minibatches from the same permutations and gets the same
    gradient, up to the order of a floating-point sum, as one device. Splitting the data
    themselves over processes would make each process draw its minibatch part from its own
    share, a different sequence of minibatches for every number of processes, to save memory
    that datasets of spins (``M x N`` int8) rarely need.
    """

    _train: Any = struct.field(pytree_node=False, serialize=False)
    _validation: Any = struct.field(pytree_node=False, serialize=False)
    _batch_size: int = struct.field(pytree_node=False, serialize=False)
    _seed: int = struct.field(pytree_node=False, serialize=False)
    _validate_every: int = struct.field(pytree_node=False, serialize=False)
    _patience: int | None = struct.field(pytree_node=False, serialize=False)
    _min_delta: float = struct.field(pytree_node=False, serialize=False)
    _restore_best: bool = struct.field(pytree_node=False, serialize=False)
    _perm_cache: Any = struct.field(pytree_node=False, serialize=False, default=None)
    _validation_stats: Any = struct.field(pytree_node=False, serialize=False, default=None)
    _logged_validation: Any = struct.field(pytree_node=False, serialize=False, default=None)
    _stop_reason: str | None = struct.field(pytree_node=False, serialize=False, default=None)
    _best_nll: float = struct.field(pytree_node=False, serialize=True, default=math.inf)
    _best_step: int = struct.field(pytree_node=False, serialize=True, default=-1)
    _since_best: int = struct.field(pytree_node=False, serialize=True, default=0)
    _best_params: PyTree = struct.field(pytree_node=False, serialize=True, default=None)

    def __init__(
        self,
        data,
        optimizer,
        *,
        variational_state,
        batch_size: int = 1000,
        validation_fraction: float = 0.1,
        validation_data=None,
        seed: int = 0,
        validate_every: int | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        n_sites = _check_state(variational_state)
        train = _as_samples(data, n_sites, "data")
        seed = check_seed(seed)
        if validation_data is not None:
            validation = _as_samples(validation_data, n_sites, "validation_data")
        else:
            fraction = check_real(validation_fraction, "validation_fraction")
            if not 0 <= fraction < 1:
                raise ValueError(f"validation_fraction must be in [0, 1), got {fraction}")
            n_val = int(round(fraction * len(train)))
            order = np.random.default_rng(seed).permutation(len(train))
            validation = train[order[len(train) - n_val :]] if n_val else None
            train = train[order[: len(train) - n_val]]
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size > len(train):
            raise ValueError(f"batch_size = {batch_size} exceeds the {len(train)} training samples")
        super().__init__(variational_state, optimizer, minimized_quantity_name="nll")
        # Replicated on every device (see the class doc, "Several devices or processes").
        self._train = replicate(train)
        self._validation = None if validation is None or len(validation) == 0 else replicate(validation)
        self._batch_size = batch_size
        self._seed = seed
        every = self.steps_per_epoch if validate_every is None else check_positive_int(validate_every, "validate_every")
        self._validate_every = every
        self._patience = None if patience is None else check_positive_int(patience, "patience")
        if self._patience is not None and self._validation is None:
            raise ValueError("patience (early stopping) needs a validation set: validation_fraction > 0 or data")
        self._min_delta = check_real(min_delta, "min_delta")
        if self._min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self._min_delta}")
        self._restore_best = bool(restore_best)
        self._perm_cache = None
        self._validation_stats = None
        self._logged_validation = None
        self._stop_reason = None
        self._best_nll, self._best_step, self._since_best = math.inf, -1, 0
        self._best_params = jax.tree.map(jnp.array, variational_state.parameters)

    # -- data ---------------------------------------------------------------------------------
    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self._train.shape[0])

    @property
    def n_validation(self) -> int:
        """Number of validation samples (0 if none)."""
        return 0 if self._validation is None else int(self._validation.shape[0])

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def steps_per_epoch(self) -> int:
        """``floor(n_train / batch_size)``."""
        return self.n_train // self._batch_size

    @property
    def epoch(self) -> float:
        """Epochs done (fractional): ``step_count / steps_per_epoch``."""
        return self.step_count / self.steps_per_epoch

    def _batch_indices(self, step: int) -> jax.Array:
        epoch, position = divmod(step, self.steps_per_epoch)
        if self._perm_cache is None or self._perm_cache[0] != epoch:
            order = np.random.default_rng([self._seed, epoch]).permutation(self.n_train)
            self._perm_cache = (epoch, jnp.asarray(order, dtype=jnp.int32))
        start = position * self._batch_size
        return self._perm_cache[1][start : start + self._batch_size]

    # -- one step -------------------------------------------------------------------------------
    def reset_step(self, hard: bool = False):
        """Nothing to resample: the data are fixed."""

    @timing.timed
    def compute_loss_and_update(self):
        """Validate if due, then the minibatch NLL and its gradient."""
        self._logged_validation = None
        if self._validation is not None and self.step_count % self._validate_every == 0:
            self._validate()
        stats, grad = _nll_and_grad(
            self.state.model,
            self.state.parameters,
            self.state.model_state,
            self._train,
            self._batch_indices(self.step_count),
        )
        if non_finite(stats.mean, grad, loss="negative log-likelihood") is not None:
            raise FloatingPointError(
                f"the negative log-likelihood or its gradient is not finite at step {self.step_count} "
                f"(NLL = {float(stats.mean):g}); lower the learning rate"
            )
        self._loss_stats = stats
        self._dp = grad
        return self._loss_stats, self._dp

    def _validate(self) -> None:
        stats = self.validation_nll()
        self._validation_stats = stats
        self._logged_validation = stats
        value = float(stats.mean)
        if value < self._best_nll - self._min_delta:
            self._best_nll, self._best_step, self._since_best = value, self.step_count, 0
            self._best_params = jax.tree.map(jnp.array, self.state.parameters)
        else:
            self._since_best += 1
            if self._patience is not None and self._since_best >= self._patience:
                self._stop_reason = (
                    f"validation NLL has not improved for {self._since_best} validations "
                    f"(best {self._best_nll:.6f} at step {self._best_step})"
                )

    def _log_additional_data(self, log_dict: dict):
        super()._log_additional_data(log_dict)
        log_dict["epoch"] = self.epoch
        if self._logged_validation is not None:
            log_dict["validation_nll"] = self._logged_validation

    def _default_callbacks(self, callbacks, **kwargs):
        out = super()._default_callbacks(callbacks, **kwargs)
        return type(out)([*out.callbacks, _ValidationStopping()])

    def run(self, n_iter: int, *args, **kwargs):
        """:meth:`netket.driver.AbstractDriver.run` for ``n_iter`` steps (minibatch updates).

        A run stopped early by ``patience`` ends with the best parameters restored (if
        ``restore_best``); a later ``run`` continues from there with a fresh patience count.
        """
        self._stop_reason = None
        self._since_best = 0
        return super().run(n_iter, *args, **kwargs)

    # -- results ---------------------------------------------------------------------------------
    def validation_nll(self) -> nk.stats.Stats | None:
        """NLL per spin of the current parameters on the validation set (None if there is none)."""
        if self._validation is None:
            return None
        return negative_log_likelihood(
            self.state.model, self.state.variables, self._validation, batch_size=self._batch_size
        )

    def train_nll(self) -> nk.stats.Stats:
        """NLL per spin of the current parameters on the whole training set."""
        return negative_log_likelihood(self.state.model, self.state.variables, self._train, batch_size=self._batch_size)

    @property
    def best_validation_nll(self) -> float:
        """Lowest validation NLL seen (``inf`` before the first validation)."""
        return self._best_nll

    @property
    def best_step(self) -> int:
        """Step of :attr:`best_validation_nll` (-1 before the first validation)."""
        return self._best_step

    def restore_best(self) -> MaximumLikelihood:
        """Set the parameters to those of the best validation so far (no-op before any)."""
        if self._best_step >= 0:
            self.state.parameters = jax.tree.map(jnp.array, self._best_params)
        return self

    @property
    def stopped_early(self) -> bool:
        """True if the last :meth:`run` ended because the validation NLL stopped improving."""
        return self._stop_reason is not None

    # -- checkpoints -------------------------------------------------------------------------------
    # state_dict / load_state_dict / save / restore come from SerializableDriver; the data are not saved.
    def _load_extra(self, restored) -> None:
        self._best_nll = float(restored._best_nll)
        self._best_step = int(restored._best_step)
        self._since_best = int(restored._since_best)
        self._best_params = restored._best_params
        self._perm_cache = None

    def __repr__(self):
        return (
            f"MaximumLikelihood(step_count={self.step_count}, epoch={self.epoch:.2f}, n_train={self.n_train}, "
            f"n_validation={self.n_validation}, batch_size={self._batch_size}, state={self.state})"
        )


def negative_log_likelihood(model, variables, samples, *, batch_size: int = 1000) -> nk.stats.Stats:
    r"""``Stats`` of :math:`-\log q(x)/N` over ``samples`` ``(M, N)`` for an ARNN ``model``.

    Evaluated in jitted chunks of ``batch_size`` (the last one padded), so memory stays bounded.
    The samples may be replicated over the devices (a dataset): the chunks are not split over
    devices, so any number of samples works.
    """
    x = jnp.asarray(samples)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"samples must be a non-empty (M, N) array, got shape {x.shape}")
    batch_size = min(check_positive_int(batch_size, "batch_size"), x.shape[0])
    params = {k: v for k, v in variables.items() if k != "cache"}
    n_chunks = -(-x.shape[0] // batch_size)
    pad = n_chunks * batch_size - x.shape[0]
    padded = jnp.concatenate([x, jnp.repeat(x[:1], pad, axis=0)]) if pad else x
    values = [_log_prob(model, params, padded[k * batch_size : (k + 1) * batch_size]) for k in range(n_chunks)]
    log_q = jnp.concatenate(values)[: x.shape[0]]
    return iid_statistics(-log_q / x.shape[1])


@partial(jax.jit, static_argnums=0)
def _log_prob(model, variables, x):
    return log_prob(model, variables, x)


@partial(jax.jit, static_argnums=0)
def _nll_and_grad(model, params, model_state, data, indices):
    x = nk.jax.sharding.shard_along_axis(data[indices], 0)  # the minibatch split over the devices
    n = x.shape[-1]
    log_q, vjp_fun = log_prob_and_vjp(model, params, model_state, x)
    # d/dθ of the mean NLL per spin, -(1/(B N)) Σ_b log q(x_b): the VJP with constant cotangents
    (grad,) = vjp_fun(jnp.full(log_q.shape, -1.0 / (log_q.shape[0] * n), log_q.dtype))
    return iid_statistics(-log_q / n), grad


def _as_samples(data, n_sites: int, name: str) -> np.ndarray:
    from ..data.dataset import BoltzmannDataset, check_spin_samples

    if isinstance(data, BoltzmannDataset):
        data.warn_if_failed("used for maximum likelihood", stacklevel=4)
        data = data.samples
    x = check_spin_samples(data, name)
    if x.shape[1] != n_sites:
        raise ValueError(f"{name} has {x.shape[1]} spins per sample but the model has N = {n_sites}")
    return x


def _check_state(vstate) -> int:
    if not isinstance(vstate, nk.vqs.VariationalState) or not hasattr(vstate, "model"):
        raise TypeError(
            "variational_state must be a NetKet variational state of an autoregressive model "
            f"(nk.vqs.MCState or nk.vqs.FullSumState), got {type(vstate).__name__}"
        )
    model = vstate.model
    if not isinstance(model, nk.models.AbstractARNN):
        raise TypeError(
            f"the model must be a normalised autoregressive network (nk.models.AbstractARNN), got "
            f"{type(model).__name__}: the likelihood needs the exact log q(x)"
        )
    if machine_pow_of(model) != 2:
        raise ValueError(f"the model has machine_pow = {model.machine_pow}; an ARNN's q = |psi|^2 needs 2")
    if len(jax.tree.leaves(vstate.parameters)) == 0:
        raise ValueError("the model has no trainable parameters: nothing to fit")
    return int(vstate.hilbert.size)
