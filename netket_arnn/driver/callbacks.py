r"""Callbacks for the free-energy driver: a plateau rule for ending the steps at one β, and the
callback that runs a training protocol's phases at one β (:class:`BetaSteps`).

Like NetKet's own callbacks (:class:`netket.callbacks.EarlyStopping`), a callback here keeps
its state from one ``run`` to the next; :func:`~netket_arnn.driver.anneal` gives every β a
fresh copy of the callback it is passed (:func:`fresh_copy`), and saves and restores that
copy's state in its checkpoints (:func:`callback_state`, :func:`restore_callback_state`).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import flax.serialization
import netket as nk
import numpy as np
from netket.utils import struct

from .._validation import check_non_negative_int, check_positive_int, check_real

__all__ = ["BetaSteps", "PlateauStopping", "callback_state", "fresh_copy", "restore_callback_state"]


class _PlateauReached(nk.callbacks.RunFinished):
    """Ends one β's run quietly (a RunFinished is not reported as an early stop)."""


class PlateauStopping(nk.callbacks.AbstractCallback, mutable=True):
    r"""Stop a run when the free energy stops decreasing.

    After every step the mean of :math:`f` over the last ``window`` steps is compared with
    the best such mean so far; when it has not improved by more than ``min_delta`` (absolute,
    per spin) for ``patience`` consecutive steps, the run ends (before the next step, so every
    counted step was applied). The counters start at construction and run on across calls of
    ``run``, as those of :class:`netket.callbacks.EarlyStopping` do;
    :func:`~netket_arnn.driver.anneal` uses a fresh copy at every β.

    Args:
        patience: steps without improvement before stopping (>= 1).
        window: number of steps averaged, to smooth the Monte Carlo noise of f (>= 1).
        min_delta: smallest decrease of the windowed mean counted as an improvement (>= 0).
        min_steps: never stop before this many steps have been seen.
    """

    patience: int = struct.field(pytree_node=False)
    window: int = struct.field(pytree_node=False)
    min_delta: float = struct.field(pytree_node=False)
    min_steps: int = struct.field(pytree_node=False)
    _recent: list = struct.field(pytree_node=False, serialize=False)
    _seen: int = struct.field(pytree_node=False, serialize=False)
    _best: float = struct.field(pytree_node=False, serialize=False)
    _since_best: int = struct.field(pytree_node=False, serialize=False)

    def __init__(self, patience: int = 100, window: int = 20, min_delta: float = 0.0, min_steps: int = 0):
        self.patience = check_positive_int(patience, "patience")
        self.window = check_positive_int(window, "window")
        self.min_steps = check_non_negative_int(min_steps, "min_steps")
        min_delta = check_real(min_delta, "min_delta")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.min_delta = min_delta
        self._recent, self._seen, self._best, self._since_best = [], 0, math.inf, 0

    def on_step_start(self, step, log_data, driver):
        # Stop *before* the next step: raising in on_step_end would leave the last,
        # already applied and logged, update out of driver.step_count.
        if self._seen >= self.min_steps and self._since_best >= self.patience:
            raise _PlateauReached(f"free energy has not improved for {self.patience} steps")

    def on_step_end(self, step, log_data, driver):
        self._recent = [*self._recent[-(self.window - 1) :], float(np.real(log_data[driver._loss_name].mean))]
        self._seen += 1
        if len(self._recent) < self.window:
            return
        smoothed = float(np.mean(self._recent))
        if smoothed < self._best - self.min_delta:
            self._best, self._since_best = smoothed, 0
        else:
            self._since_best += 1

    @property
    def callback_order(self) -> int:
        return 100  # after loggers, like NetKet's own stopping callbacks

    def state_dict(self) -> dict:
        """The counters, as plain values (for checkpoints)."""
        return {
            "recent": np.asarray(self._recent, dtype=np.float64),
            "seen": self._seen,
            "best": self._best,
            "since_best": self._since_best,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` in place."""
        self._recent = [float(v) for v in np.asarray(state["recent"]).ravel()]
        self._seen, self._since_best = int(state["seen"]), int(state["since_best"])
        self._best = float(state["best"])


class _SearchAndSettleDone(nk.callbacks.RunFinished):
    """Ends one β's run quietly (a RunFinished is not reported as an early stop)."""


class BetaSteps(nk.callbacks.AbstractCallback, mutable=True):
    """Runs the search and settle phases of one β (made by :meth:`AnnealProtocol.steps_callback`).

    Before every step it sets the driver's ``learning_rate_factor`` (the phase's factor times
    :meth:`AnnealProtocol.step_scale` and ``rate``, the β's learning rate over the one the optimizer
    was built with (:attr:`AnnealProtocol.beyond`), times the :class:`~netket_arnn.driver.Retreat`'s factor once the
    β has restarted); it ends the run (before the next step, so every counted step was applied)
    once the settle phase is done. With a retreat rule it keeps the parameters and optimizer state
    the β began with (JAX arrays are immutable: references, not copies) and puts them back on a
    rise of f[q]. Its state (:meth:`state_dict`) goes into :func:`~netket_arnn.driver.anneal`'s
    checkpoints, so a resumed β continues where it stopped.
    """

    protocol: Any = struct.field(pytree_node=False)
    min_steps: int = struct.field(pytree_node=False)
    max_steps: int = struct.field(pytree_node=False)
    ramp: bool = struct.field(pytree_node=False)
    rate: float = struct.field(pytree_node=False)
    _values: list = struct.field(pytree_node=False, serialize=False)
    _searched: int = struct.field(pytree_node=False, serialize=False)
    _settled: int = struct.field(pytree_node=False, serialize=False)
    _start: tuple | None = struct.field(pytree_node=False, serialize=False)
    _saved_start: dict | None = struct.field(pytree_node=False, serialize=False)
    _start_f: tuple | None = struct.field(pytree_node=False, serialize=False)
    _retreated_at: int = struct.field(pytree_node=False, serialize=False)

    def __init__(self, protocol, min_steps: int, max_steps: int, ramp: bool = False, rate: float = 1.0):
        self.protocol, self.min_steps, self.max_steps, self.ramp = protocol, min_steps, max_steps, bool(ramp)
        self.rate = float(rate)
        self._values, self._searched, self._settled = [], 0, -1
        self._start, self._saved_start, self._start_f, self._retreated_at = None, None, None, -1

    @property
    def searched(self) -> int:
        """Steps of the search phase done so far."""
        return self._searched

    @property
    def settling(self) -> bool:
        """Whether the search phase has ended."""
        return self._settled >= 0

    @property
    def retreated_at(self) -> int | None:
        """The search step after which the β restarted from where it began
        (:class:`~netket_arnn.driver.Retreat`), or ``None``."""
        return None if self._retreated_at < 0 else self._retreated_at

    def _search_done(self) -> bool:
        if self._searched >= self.max_steps:
            return True
        rule = self.protocol.convergence
        return rule is not None and self._searched >= self.min_steps and rule.converged(self._values)

    def on_step_start(self, step, log_data, driver):
        if self.protocol.retreat is not None and self._retreated_at < 0:
            self._keep_start(driver)
        if self._settled < 0 and self._search_done():
            self._settled = 0
        if self._settled >= self.protocol.settle_steps:
            driver.learning_rate_factor = 1.0
            raise _SearchAndSettleDone(f"β done after {self._searched} + {self._settled} steps")
        if self._settled >= 0:
            factor = self.protocol.learning_rate_factor(self._settled)
        else:
            factor = self.protocol.ramp_factor(self._searched) if self.ramp else 1.0
        if self._retreated_at >= 0:
            factor *= self.protocol.retreat.factor
        driver.learning_rate_factor = (
            factor * self.rate * self.protocol.step_scale(driver.beta, driver.state.hilbert.size)
        )

    def on_step_end(self, step, log_data, driver):
        if self._settled >= 0:
            self._settled += 1
            return
        self._searched += 1
        stats = log_data[driver._loss_name]
        f = float(np.real(stats.mean))
        keep = self._history()
        if keep:
            self._values = [*self._values[-(keep - 1) :], f]
        retreat = self.protocol.retreat
        if retreat is None or self._retreated_at >= 0:
            return
        if self._start_f is None:
            self._start_f = (f, float(stats.error_of_mean))
        elif retreat.risen(*self._start_f, self._values):
            parameters, optimizer_state = self._start
            driver.state.parameters = parameters  # also clears the samples: the next step draws fresh ones
            driver._optimizer_state = optimizer_state
            self._values, self._retreated_at, self._start = [], self._searched, None

    def _history(self) -> int:
        """How many of the latest per-step values the convergence and retreat rules read (0: none)."""
        convergence, retreat = self.protocol.convergence, self.protocol.retreat
        return max(2 * convergence.window if convergence else 0, retreat.window if retreat else 0)

    def _keep_start(self, driver) -> None:
        """Keep the parameters and optimizer state the β begins with: the driver's now, or a
        checkpoint's (plain arrays in nested dicts, put in the form of the driver's)."""
        if self._saved_start is not None:
            saved, self._saved_start = self._saved_start, None
            self._start = (
                flax.serialization.from_state_dict(driver.state.parameters, saved["parameters"]),
                flax.serialization.from_state_dict(driver._optimizer_state, saved["optimizer_state"]),
            )
        elif self._start is None:
            self._start = (driver.state.parameters, driver._optimizer_state)

    @property
    def callback_order(self) -> int:
        return 100  # after loggers, like NetKet's own stopping callbacks

    def state_dict(self) -> dict:
        """The counters, the recent values and, with a retreat rule, the β's start, as plain values
        (for checkpoints)."""
        state = {
            "values": np.asarray(self._values, dtype=np.float64),
            "searched": self._searched,
            "settled": self._settled,
        }
        if self.protocol.retreat is not None:
            start = self._saved_start or {}
            if self._start is not None:
                start = {
                    "parameters": flax.serialization.to_state_dict(self._start[0]),
                    "optimizer_state": flax.serialization.to_state_dict(self._start[1]),
                }
            state["retreat"] = {
                "retreated_at": self._retreated_at,
                "start_f": np.asarray(self._start_f if self._start_f is not None else (), dtype=np.float64),
                "start": start,
            }
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` in place."""
        self._values = [float(v) for v in np.asarray(state["values"]).ravel()]
        self._searched, self._settled = int(state["searched"]), int(state["settled"])
        if "retreat" in state:
            saved = state["retreat"]
            self._retreated_at = int(saved["retreated_at"])
            start_f = np.asarray(saved["start_f"], dtype=np.float64).ravel()
            self._start_f = (float(start_f[0]), float(start_f[1])) if start_f.size else None
            self._start, self._saved_start = None, saved["start"] or None


def fresh_copy(callback):
    """An independent copy of ``callback`` (its state at construction if it was never run)."""
    return copy.deepcopy(callback)


def callback_state(callback) -> dict:
    """The state of a callback: its ``state_dict()``, or NetKet's serialisation of it."""
    if hasattr(callback, "state_dict"):
        return callback.state_dict()
    return flax.serialization.to_state_dict(callback)


def restore_callback_state(callback, state: dict):
    """Restore :func:`callback_state` into ``callback``; returns the restored callback."""
    if hasattr(callback, "load_state_dict"):
        callback.load_state_dict(state)
        return callback
    return flax.serialization.from_state_dict(callback, state)
