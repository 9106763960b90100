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

from .._validation import check_beta, check_positive_int

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

    Args:
        betas: increasing or decreasing sequence of positive β values.
        steps_per_beta: steps at every β (>= 1).
        warmup_steps: extra steps at the first β (>= 0).
    """

    betas: tuple[float, ...]
    steps_per_beta: int
    warmup_steps: int = 0

    def __post_init__(self):
        betas = tuple(check_beta(b, "betas[i]") for b in _as_sequence(self.betas))
        if not betas:
            raise ValueError("betas must contain at least one value")
        object.__setattr__(self, "betas", betas)
        check_positive_int(self.steps_per_beta, "steps_per_beta")
        if int(self.warmup_steps) != self.warmup_steps or self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be a non-negative integer, got {self.warmup_steps!r}")

    @property
    def total_steps(self) -> int:
        """Steps needed to visit every β once."""
        return self.warmup_steps + self.steps_per_beta * len(self.betas)

    def index(self, step: int) -> int:
        """Index into ``betas`` of the β used at ``step``."""
        k = (max(int(step), 0) - self.warmup_steps) // self.steps_per_beta
        return min(max(k, 0), len(self.betas) - 1)

    def __call__(self, step: int) -> float:
        return self.betas[self.index(step)]


def _as_sequence(values) -> Sequence[float]:
    if isinstance(values, int | float):
        return (values,)
    return tuple(float(v) for v in np.asarray(values, dtype=np.float64).ravel())
