r"""Inverse-temperature schedules: callables ``step -> β``.

:class:`~netket_arnn.VariationalFreeEnergy` accepts ``beta=`` either a number or any
callable of the (integer) step count returning a positive β; the classes below are the
common ones, as small immutable objects with a readable ``repr`` (they are not traced:
the driver evaluates them in Python once per step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import check_beta, check_non_negative_int, check_positive_int

__all__ = ["ConstantBeta", "LinearBeta", "StepwiseBeta", "beta_grid"]


def beta_grid(start: float, stop: float, step: float) -> np.ndarray:
    r"""The grid :math:`\beta_0, \beta_0 + \delta, \dots` up to ``stop`` included (paper: 0.1, 2.0, 0.05).

    Values are rounded to 12 decimals so that ``beta_grid(0.1, 2.0, 0.05)`` ends exactly at 2.0
    and has 39 points, instead of accumulating floating-point drift.
    """
    start, stop = check_beta(start, "start"), check_beta(stop, "stop")
    if not (step > 0 and math.isfinite(step)):
        raise ValueError(f"step must be a finite positive number, got {step}")
    if stop < start:
        raise ValueError(f"stop ({stop}) must be >= start ({start})")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    return np.round(start + step * np.arange(n), 12)


@dataclass(frozen=True)
class ConstantBeta:
    """β fixed at ``beta`` for every step."""

    beta: float

    def __post_init__(self):
        object.__setattr__(self, "beta", check_beta(self.beta))

    def __call__(self, step: int) -> float:
        return self.beta


@dataclass(frozen=True)
class LinearBeta:
    r"""β ramps linearly from ``start`` to ``end`` over ``n_steps`` steps, then stays at ``end``.

    :math:`\beta(t) = \beta_s + (\beta_e - \beta_s)\min(t, T)/T`.
    """

    start: float
    end: float
    n_steps: int

    def __post_init__(self):
        object.__setattr__(self, "start", check_beta(self.start, "start"))
        object.__setattr__(self, "end", check_beta(self.end, "end"))
        check_positive_int(self.n_steps, "n_steps")

    def __call__(self, step: int) -> float:
        t = min(max(int(step), 0), self.n_steps) / self.n_steps
        return self.start + (self.end - self.start) * t


@dataclass(frozen=True)
class StepwiseBeta:
    r"""The paper's staircase: ``warmup_steps + steps_per_beta`` steps at ``betas[0]``,
    then ``steps_per_beta`` steps at each following β; the last β is kept afterwards.

    :func:`~netket_arnn.driver.anneal` follows this plan (:meth:`steps_at`), one β after the
    other. A strictly increasing grid anneals (cools) from high temperature, the paper's
    protocol; a strictly decreasing grid heats, e.g. from a model at its exact low-temperature
    parameters. Grids that go back and forth, or repeat a β, are refused: every β of a run
    gets exactly one record.

    Args:
        betas: strictly monotone sequence of positive β values.
        steps_per_beta: steps at every β (>= 0; 0: no training, estimates only).
        warmup_steps: extra steps at the first β (>= 0).
    """

    betas: tuple[float, ...]
    steps_per_beta: int
    warmup_steps: int = 0

    def __post_init__(self):
        betas = tuple(check_beta(b, f"betas[{i}]") for i, b in enumerate(_as_sequence(self.betas)))
        if not betas:
            raise ValueError("betas must contain at least one inverse temperature")
        steps = np.diff(betas)
        if len(betas) > 1 and not (np.all(steps > 0) or np.all(steps < 0)):
            bad = int(np.argmax(steps <= 0) if steps[0] > 0 else np.argmax(steps >= 0)) + 1
            raise ValueError(
                f"betas must be strictly increasing (annealing) or strictly decreasing (heating); "
                f"betas[{bad}] = {betas[bad]} breaks the order after betas[{bad - 1}] = {betas[bad - 1]}"
            )
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "steps_per_beta", check_non_negative_int(self.steps_per_beta, "steps_per_beta"))
        object.__setattr__(self, "warmup_steps", check_non_negative_int(self.warmup_steps, "warmup_steps"))

    @property
    def total_steps(self) -> int:
        """Steps needed to visit every β once."""
        return self.warmup_steps + self.steps_per_beta * len(self.betas)

    def steps_at(self, k: int) -> int:
        """Number of steps at ``betas[k]`` (the warm-up included for ``k = 0``)."""
        return self.steps_per_beta + (self.warmup_steps if k == 0 else 0)

    def index(self, step: int) -> int:
        """Index into ``betas`` of the β used at ``step``."""
        step = max(int(step), 0) - self.warmup_steps
        if self.steps_per_beta == 0:
            return 0 if step < 0 else len(self.betas) - 1
        return min(max(step // self.steps_per_beta, 0), len(self.betas) - 1)

    def __call__(self, step: int) -> float:
        return self.betas[self.index(step)]


def _as_sequence(values) -> Sequence[float]:
    if isinstance(values, int | float):
        return (values,)
    return tuple(float(v) for v in np.asarray(values, dtype=np.float64).ravel())
