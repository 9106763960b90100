"""β schedules: values per step and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from netket_arnn.driver import ConstantBeta, LinearBeta, StepwiseBeta, beta_grid


def test_stepwise_is_the_paper_staircase():
    s = StepwiseBeta([0.1, 0.2, 0.3], steps_per_beta=4, warmup_steps=10)
    betas = [s(t) for t in range(s.total_steps + 3)]
    assert betas[:14] == [0.1] * 14
    assert betas[14:18] == [0.2] * 4
    assert betas[18:22] == [0.3] * 4
    assert betas[22:] == [0.3] * 3  # the last β is kept
    assert s.total_steps == 22


def test_stepwise_plan_used_by_anneal():
    s = StepwiseBeta([0.1, 0.2, 0.3], steps_per_beta=4, warmup_steps=10)
    assert [s.steps_at(k) for k in range(3)] == [14, 4, 4]
    assert sum(s.steps_at(k) for k in range(3)) == s.total_steps
    # a heating (decreasing) grid is allowed; no training (0 steps per β) too
    heat = StepwiseBeta([1.0, 0.5], steps_per_beta=0, warmup_steps=2)
    assert [heat(t) for t in range(4)] == [1.0, 1.0, 0.5, 0.5] and heat.steps_at(1) == 0


@pytest.mark.parametrize("betas", [[0.1, 0.3, 0.2], [0.5, 0.5], [1.0, 0.5, 0.7]])
def test_stepwise_refuses_grids_that_are_not_monotone(betas):
    with pytest.raises(ValueError, match="strictly"):
        StepwiseBeta(betas, steps_per_beta=1)


def test_linear_and_constant():
    s = LinearBeta(0.5, 1.5, 10)
    np.testing.assert_allclose([s(t) for t in (0, 5, 10, 20)], [0.5, 1.0, 1.5, 1.5])
    assert ConstantBeta(2)(123) == 2.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: ConstantBeta(0.0),
        lambda: LinearBeta(-1.0, 1.0, 5),
        lambda: StepwiseBeta([0.1, -0.2], steps_per_beta=3),
        lambda: beta_grid(0.0, 1.0, 0.1),
    ],
)
def test_schedules_reject_non_positive_beta(make):
    with pytest.raises(ValueError, match="> 0"):
        make()


def test_schedules_reject_bad_step_counts():
    with pytest.raises(ValueError, match="n_steps"):
        LinearBeta(0.1, 1.0, 0)
    with pytest.raises(ValueError, match="steps_per_beta"):
        StepwiseBeta([0.1], steps_per_beta=-1)
    with pytest.raises((TypeError, ValueError), match="warmup_steps"):
        StepwiseBeta([0.1], steps_per_beta=1, warmup_steps=1.5)
    with pytest.raises(ValueError, match="step"):
        beta_grid(0.1, 1.0, 0.0)
    with pytest.raises(ValueError, match="stop"):
        beta_grid(1.0, 0.5, 0.1)
