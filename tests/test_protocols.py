"""Training protocols: the convergence test, the learning rate of each phase, the steps per β, resuming."""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest
from netket.utils import struct

import netket_arnn as na
from netket_arnn.driver import AnnealInterrupted, Checkpointing, FinalEstimates, VariationalFreeEnergy, anneal
from netket_arnn.driver.checkpoint import load_checkpoint
from netket_arnn.protocols import (
    ADAPTIVE,
    PAPER,
    SETTLED,
    TRACKING,
    AnnealProtocol,
    Convergence,
    Retreat,
    get_protocol,
    protocol_names,
)


# -- the convergence test -----------------------------------------------------------------------
def _threshold(before, last, tolerance):
    w = len(before)
    return tolerance * math.sqrt((np.var(before, ddof=1) + np.var(last, ddof=1)) / w)


@pytest.mark.parametrize("tolerance", [0.5, 1.0, 3.0])
def test_convergence_is_a_decrease_within_tolerance_standard_errors(tolerance):
    rng = np.random.default_rng(0)
    w = 12
    noise = rng.normal(size=2 * w)
    rule = Convergence(window=w, tolerance=tolerance)
    base = noise.copy()
    base[w:] -= base[w:].mean() - base[:w].mean()  # equal means: no decrease at all
    edge = _threshold(base[:w], base[w:], tolerance)
    for decrease, converged in [(0.0, True), (0.9 * edge, True), (1.1 * edge, False), (-5.0, True)]:
        values = base.copy()
        values[w:] -= decrease
        assert rule.converged(list(values)) is converged, (decrease, edge)
    # only the last 2w values count
    assert rule.converged([1e6, *list(base)]) is True


def test_convergence_needs_two_full_windows():
    rule = Convergence(window=5)
    flat = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.02, 0.98]
    assert rule.converged(flat) is False  # 9 < 2 w
    assert rule.converged([*flat, 1.0]) is True


def test_convergence_sees_a_steady_descent_in_the_noise():
    rng = np.random.default_rng(1)
    w = 20
    t = np.arange(2 * w)
    descending = 1.0 - 0.01 * t + 0.05 * rng.normal(size=t.size)
    assert Convergence(window=w).converged(list(descending)) is False
    assert Convergence(window=w).converged(list(1.0 + 0.05 * rng.normal(size=t.size))) is True


@pytest.mark.parametrize("rule", [Convergence, Retreat])
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"window": 1}, "window"),
        ({"window": 0}, "window"),
        ({"tolerance": 0.0}, "tolerance"),
        ({"window": 2.5}, "window"),
    ],
)
def test_windowed_rules_refuse_bad_window_and_tolerance(rule, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        rule(**kwargs)


# -- the protocol's plan ------------------------------------------------------------------------
def test_paper_protocol_is_the_papers_plan():
    grid = na.driver.beta_grid(0.1, 2.0, 0.05)
    assert len(grid) == 39
    assert PAPER.max_total_steps(len(grid)) == 5000 + 39 * 1020
    assert PAPER.max_steps_at(0) == 5000 + 1020 and PAPER.max_steps_at(7) == 1020
    assert PAPER.convergence is None and PAPER.settle_steps == 0 and PAPER.learning_rate == 1e-3
    assert PAPER.settings()["min_steps"] == PAPER.max_steps  # fixed steps, nothing adaptive
    assert [PAPER.learning_rate_factor(s) for s in (0, 10)] == [1.0, 1.0]


@pytest.mark.parametrize("protocol", [ADAPTIVE, SETTLED, TRACKING], ids=lambda p: p.name)
def test_protocols_spend_at_most_a_tenth_of_the_papers_samples(protocol):
    grid = na.driver.beta_grid(0.1, 2.0, 0.05)
    assert protocol.n_samples == PAPER.n_samples
    assert protocol.max_total_samples(grid, 2000) * 10 <= PAPER.max_total_samples(grid, 2000)
    assert PAPER.max_total_samples(grid, 2000) == 2000 * PAPER.max_total_steps(len(grid))


def test_settled_protocol_spends_the_adaptive_budget_at_every_beta_mostly_decaying():
    n_betas = len(na.driver.beta_grid(0.1, 2.0, 0.05))
    assert SETTLED.max_total_steps(n_betas) == ADAPTIVE.max_total_steps(n_betas)
    assert SETTLED.convergence is None and SETTLED.settings()["min_steps"] == SETTLED.max_steps
    assert SETTLED.settle_steps > 2 * SETTLED.max_steps
    for name in ("learning_rate", "warmup_steps", "final_factor", "n_samples", "physics_start", "shift_start"):
        assert getattr(SETTLED, name) == getattr(ADAPTIVE, name), name
    assert get_protocol("settled") is SETTLED


def test_tracking_protocol_is_settled_up_to_beta_1_then_faster_and_extrapolating():
    for beta in (0.1, 0.5, 0.95):
        assert TRACKING.at(beta) == SETTLED.replace(name="tracking")
    faster = {"learning_rate": 3e-3, "extrapolate_start": 1.0}
    quarter = {"batch_factor": 0.25, "max_steps": 108, "settle_steps": 320}
    half = {"batch_factor": 0.5, "max_steps": 54, "settle_steps": 160}
    for beta in (1.0, 1.25, 1.45):
        assert TRACKING.at(beta) == SETTLED.replace(name="tracking", **faster, **quarter)
    for beta in (1.5, 2.0):
        assert TRACKING.at(beta) == SETTLED.replace(name="tracking", **faster, **half)
    grid = na.driver.beta_grid(0.1, 2.0, 0.05)
    assert TRACKING.max_total_samples(grid, 2000) == SETTLED.max_total_samples(grid, 2000)  # the same samples
    # in four times the steps from β = 1.0 to 1.45 and twice the steps from 1.5 to 2.0
    assert TRACKING.max_total_steps(grid) == SETTLED.max_total_steps(grid) + 10 * 3 * 107 + 11 * 107
    assert get_protocol("tracking") is TRACKING and "tracking" in protocol_names()


def test_settle_phase_decays_the_learning_rate_along_a_half_cosine():
    p = AnnealProtocol(settle_steps=10, final_factor=0.1)
    factors = [p.learning_rate_factor(s) for s in range(11)]
    assert factors[0] == 1.0 and factors[-1] == pytest.approx(0.1)
    assert factors[5] == pytest.approx(0.55)  # the midpoint of a half cosine
    assert np.all(np.diff(factors) < 0)


def test_protocols_by_name_and_bad_settings():
    assert set(protocol_names()) >= {"paper", "adaptive"}
    assert get_protocol("paper") is PAPER and get_protocol(ADAPTIVE) is ADAPTIVE
    with pytest.raises(ValueError, match="unknown protocol 'fast'"):
        get_protocol("fast")
    for kwargs, match in [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"max_steps": -1}, "max_steps"),
        ({"max_steps": 5, "min_steps": 6}, "min_steps"),
        ({"final_factor": 0.0}, "final_factor"),
        ({"final_factor": 1.5}, "final_factor"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"convergence": 20}, "Convergence"),
        ({"name": ""}, "name"),
    ]:
        with pytest.raises((ValueError, TypeError), match=match):
            AnnealProtocol(**kwargs)
    changed = PAPER.replace(max_steps=102, warmup_steps=500)
    assert (changed.max_steps, changed.warmup_steps, changed.learning_rate) == (102, 500, 1e-3)
    assert ADAPTIVE.replace(learning_rate=1e-2).convergence == ADAPTIVE.convergence


def test_describe_states_every_part_of_the_plan():
    assert PAPER.describe() == "Adam 0.001, 5000 warm-up + 1020 steps/β"
    text = ADAPTIVE.replace(ramp_steps=50).describe(learning_rate="1e-3 → 1e-4")
    low = ADAPTIVE.settings()["min_steps"]
    assert text.startswith("Adam 1e-3 → 1e-4, 300 warm-up + ")
    for part in (f"{low}–87 steps/β", "until f[q] stops decreasing, window 20", "+ 20 settle steps", "50-step ramp"):
        assert part in text
    sgd = AnnealProtocol(optimizer="sgd", learning_rate=0.05, max_steps=7, min_steps=3, convergence=Convergence(5))
    assert sgd.describe().startswith("SGD 0.05, 0 warm-up + 3–7 steps/β")


@pytest.mark.parametrize(("n_parameters", "form"), [(100, "SR (dense QGT)"), (30_000, "SR in sample space")])
def test_describe_names_the_form_of_sr_the_protocol_builds(n_parameters, form):
    natural = get_protocol("natural").replace(diag_shift=3e-3)
    text = natural.describe(n_parameters=n_parameters, n_samples=2000)
    assert text.startswith(f"{form}, diagonal shift 0.003, at 0.1 of the Newton step")
    built = natural.build_preconditioner(n_parameters, 2000)
    assert (type(built).__name__ == "SampleSpaceSR") == ("sample space" in text)
    assert natural.describe().startswith("SR, diagonal shift")  # sizes unknown: no form named


def test_naming_a_protocol_does_not_import_jax():
    import subprocess

    code = "import sys, netket_arnn.protocols as p; p.get_protocol('adaptive'); print('jax' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


# -- the steps of a run ---------------------------------------------------------------------------
class _Recorder(nk.callbacks.AbstractCallback, mutable=True):
    """The learning-rate factor and β of every step, as the driver applied them."""

    factors: list = struct.field(pytree_node=False, serialize=False)
    betas: list = struct.field(pytree_node=False, serialize=False)

    def __init__(self):
        self.factors, self.betas = [], []

    def on_step_end(self, step, log_data, driver):
        self.factors.append(float(driver.learning_rate_factor))
        self.betas.append(float(driver.beta))


def _state(H, seed=0, n_samples=64):
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64)
    return nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=n_samples, seed=seed, sampler_seed=1)


def _anneal(H, protocol, betas=(0.3, 0.6, 0.9), **kwargs):
    recorder = _Recorder()
    result = anneal(
        H,
        _state(H),
        list(betas),
        protocol=protocol,
        estimates=FinalEstimates(n_samples=64, observables=()),
        callback=recorder,
        show_progress=False,
        **kwargs,
    )
    return result, recorder


def test_fixed_protocol_runs_search_then_settle_at_every_beta():
    H = na.curie_weiss(6)
    p = AnnealProtocol(learning_rate=1e-2, warmup_steps=3, max_steps=4, settle_steps=5, final_factor=0.2)
    result, rec = _anneal(H, p)
    assert [r.steps for r in result] == [3 + 4 + 5, 4 + 5, 4 + 5]
    assert result.metadata["protocol"] == p.settings()
    expected = [1.0] * 7 + [p.learning_rate_factor(s) for s in range(5)]
    expected += 2 * ([1.0] * 4 + [p.learning_rate_factor(s) for s in range(5)])
    np.testing.assert_allclose(rec.factors, expected)
    assert result.driver.learning_rate_factor == 1.0  # the schedule ends with the run


def test_convergence_ends_the_search_phase_early_but_not_before_min_steps():
    H = na.curie_weiss(6)
    # A learning rate of ~0: f is pure noise, converged as soon as the rule can tell.
    p = AnnealProtocol(
        learning_rate=1e-12,
        max_steps=60,
        min_steps=14,
        convergence=Convergence(window=4, tolerance=3.0),
        settle_steps=2,
    )
    result, _ = _anneal(H, p)
    steps = [r.steps for r in result]
    assert all(14 + 2 <= s < 60 + 2 for s in steps), steps
    # Without a rule the search phase runs its maximum.
    fixed, _ = _anneal(H, p.replace(convergence=None, min_steps=None))
    assert [r.steps for r in fixed] == [62, 62, 62]


def test_convergence_keeps_training_while_f_decreases():
    H = na.curie_weiss(6)
    # From the uniform start at β = 0.9 f falls for tens of steps at this rate: the rule must not stop at min_steps.
    p = AnnealProtocol(learning_rate=3e-2, max_steps=200, min_steps=6, convergence=Convergence(window=3, tolerance=0.5))
    result, _ = _anneal(H, p, betas=(1.5,))
    assert result[0].steps > 6


def test_learning_rate_factor_scales_the_update():
    H = na.curie_weiss(5)
    deltas = []
    for factor in (1.0, 0.25):
        vs = _state(H, seed=2)
        driver = VariationalFreeEnergy(H, optax.sgd(0.1), variational_state=vs, beta=0.7)
        before = jax.tree.leaves(vs.parameters)
        driver.learning_rate_factor = factor
        driver.run(1, show_progress=False)
        deltas.append([a - b for a, b in zip(jax.tree.leaves(vs.parameters), before, strict=True)])
    for full, quarter in zip(*deltas, strict=True):
        np.testing.assert_allclose(quarter, 0.25 * full, rtol=1e-10, atol=1e-14)


def test_protocol_excludes_the_keywords_it_sets():
    H = na.curie_weiss(4)
    for kwargs in ({"steps_per_beta": 3}, {"warmup_steps": 1}, {"optimizer": optax.adam(1e-3)}):
        with pytest.raises(TypeError, match="protocol='paper' sets"):
            anneal(H, _state(H), [0.5], protocol="paper", show_progress=False, **kwargs)


def test_resuming_mid_beta_continues_the_protocol_bit_for_bit(tmp_path):
    H = na.curie_weiss(6)
    p = AnnealProtocol(
        learning_rate=2e-2,
        warmup_steps=4,
        max_steps=30,
        min_steps=6,
        convergence=Convergence(window=3, tolerance=1.0),
        settle_steps=4,
        final_factor=0.1,
    )
    full, full_rec = _anneal(H, p)
    count = [0]

    def stop(step, log, driver):
        count[0] += 1
        if count[0] == full[0].steps + 7:  # inside the second β, past a checkpoint
            raise KeyboardInterrupt
        return True

    path = tmp_path / "p.mpack"
    with pytest.raises(AnnealInterrupted):
        anneal(
            H,
            _state(H),
            [0.3, 0.6, 0.9],
            protocol=p,
            estimates=FinalEstimates(n_samples=64, observables=()),
            callback=stop,
            checkpointing=Checkpointing(path, every=2),
            show_progress=False,
        )
    assert load_checkpoint(path)["progress"]["index"] == 1
    resumed, rec = _anneal(H, p, checkpointing=Checkpointing(path, every=2, resume=True))
    assert [r.steps for r in resumed] == [r.steps for r in full]
    for x, y in zip(jax.tree.leaves(resumed.driver.state.parameters), jax.tree.leaves(full.driver.state.parameters)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(rec.factors, full_rec.factors[-len(rec.factors) :])


def test_ramp_raises_the_learning_rate_over_the_first_steps_of_the_run_only():
    H = na.curie_weiss(6)
    p = AnnealProtocol(learning_rate=1e-2, warmup_steps=2, max_steps=4, ramp_steps=4, settle_steps=2, final_factor=0.5)
    result, rec = _anneal(H, p, betas=(0.3, 0.6))
    assert [r.steps for r in result] == [8, 6]
    settle = [p.learning_rate_factor(s) for s in range(2)]
    np.testing.assert_allclose(rec.factors, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0, *settle, 1.0, 1.0, 1.0, 1.0, *settle])


@pytest.mark.parametrize("shift", [True, False])
def test_physics_start_and_its_shift_from_beta_to_beta(shift):
    # With no steps, the parameters at the last β are the physics start at the first β (the
    # model itself starts at random), moved from β to β (shift) or carried over unchanged.
    H = na.sherrington_kirkpatrick(6, seed=3)
    model = na.models.SpinGlassARNN.from_hamiltonian(H, 0.3, k=1)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=32, seed=0)
    p = AnnealProtocol(max_steps=0, physics_start=True, shift_start=shift)
    anneal(
        H, vs, [0.3, 0.6, 0.9], protocol=p, estimates=FinalEstimates(n_samples=32, observables=()), show_progress=False
    )
    expected = model.start_params(0.9 if shift else 0.3)
    for name, value in expected.items():
        np.testing.assert_allclose(vs.parameters[name], value, rtol=1e-12, atol=1e-12)


def test_shift_to_beta_keeps_what_training_added():
    from netket_arnn.models.hooks import shift_to_beta

    H = na.sherrington_kirkpatrick(5, seed=1)
    model = na.models.SpinGlassARNN.from_hamiltonian(H, 0.5, k=0)
    trained = {name: value + 0.01 for name, value in model.start_params(0.5).items()}
    moved = shift_to_beta(model, trained, 0.5, 1.1)
    for name, value in model.start_params(1.1).items():
        np.testing.assert_allclose(moved[name], value + 0.01, rtol=1e-12)
    dense = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2)
    assert shift_to_beta(dense, trained, 0.5, 1.1) is trained  # no physics start: unchanged


def test_resuming_mid_beta_does_not_start_or_shift_again(tmp_path):
    H = na.sherrington_kirkpatrick(6, seed=2)
    p = AnnealProtocol(
        learning_rate=1e-2, warmup_steps=3, max_steps=5, settle_steps=2, physics_start=True, shift_start=True
    )

    def run(**kwargs):
        model = na.models.SpinGlassARNN.from_hamiltonian(H, 0.3, k=0)
        vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=32, seed=1, sampler_seed=2)
        estimates = FinalEstimates(n_samples=32, observables=())
        return anneal(H, vs, [0.3, 0.6, 0.9], protocol=p, estimates=estimates, show_progress=False, **kwargs)

    full = run()
    count = [0]

    def stop(step, log, driver):
        count[0] += 1
        if count[0] == 10 + 4:  # mid-way through the second β, after a checkpoint
            raise KeyboardInterrupt
        return True

    path = tmp_path / "s.mpack"
    with pytest.raises(AnnealInterrupted):
        run(callback=stop, checkpointing=Checkpointing(path, every=2))
    assert load_checkpoint(path)["progress"]["steps_done"] > 0  # interrupted inside a β
    resumed = run(checkpointing=Checkpointing(path, every=2, resume=True))
    for x, y in zip(jax.tree.leaves(resumed.driver.state.parameters), jax.tree.leaves(full.driver.state.parameters)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


class _Ends(nk.callbacks.AbstractCallback, mutable=True):
    """The parameters at the first step and after the last step of every β."""

    first: dict = struct.field(pytree_node=False, serialize=False)
    last: dict = struct.field(pytree_node=False, serialize=False)

    def __init__(self):
        self.first, self.last = {}, {}

    def on_step_start(self, step, log_data, driver):
        self.first.setdefault(float(driver.beta), jax.tree.map(np.asarray, driver.state.parameters))

    def on_step_end(self, step, log_data, driver):
        self.last[float(driver.beta)] = jax.tree.map(np.asarray, driver.state.parameters)


def _spin_glass_run(protocol, betas=(0.3, 0.6, 0.9, 1.2), **kwargs):
    H = na.sherrington_kirkpatrick(6, seed=2)
    model = na.models.SpinGlassARNN.from_hamiltonian(H, betas[0], k=1)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=32, seed=1, sampler_seed=2)
    ends = _Ends()
    callbacks = [ends, *kwargs.pop("callback", [])]
    result = anneal(
        H,
        vs,
        list(betas),
        protocol=protocol,
        estimates=FinalEstimates(n_samples=32, observables=()),
        callback=callbacks,
        show_progress=False,
        **kwargs,
    )
    return result, ends, model


def _carrying(factor, shift=True):
    """A short protocol from the physics start that carries ``factor`` of each β's change forward."""
    return AnnealProtocol(
        learning_rate=1e-2,
        warmup_steps=3,
        max_steps=4,
        settle_steps=2,
        physics_start=True,
        shift_start=shift,
        extrapolate_start=factor,
    )


@pytest.mark.parametrize("shift", [True, False])
def test_extrapolated_start_carries_the_last_betas_change_forward(shift):
    # θ_start(β_{k+1}) = S(θ_k) + c (θ_k - θ_start(β_k)) from the third β on; the first β's change
    # (its warm-up) is never carried.
    from netket_arnn.models.hooks import shift_to_beta

    c = 0.7
    p = _carrying(c, shift)
    betas = (0.3, 0.6, 0.9, 1.2)
    _, ends, model = _spin_glass_run(p, betas)

    def moved(params, k):
        return shift_to_beta(model, dict(params), betas[k - 1], betas[k]) if shift else dict(params)

    for name, value in moved(ends.last[0.3], 1).items():  # no carry from the first β
        np.testing.assert_allclose(ends.first[0.6][name], value, rtol=1e-12, atol=1e-12)
    for k in (2, 3):
        b0, b1 = betas[k - 1], betas[k]
        change = jax.tree.map(lambda e, s: e - s, ends.last[b0], ends.first[b0])
        assert max(float(np.abs(x).max()) for x in jax.tree.leaves(change)) > 1e-4  # training moved them
        for name, value in moved(ends.last[b0], k).items():
            np.testing.assert_allclose(ends.first[b1][name], value + c * change[name], rtol=1e-10, atol=1e-12)


def test_extrapolate_start_is_off_by_default_and_refuses_a_negative_factor():
    assert AnnealProtocol().extrapolate_start == 0.0
    assert "extrapolate_start" not in SETTLED.settings()  # runs stored before it existed resume
    assert "extrapolate_start" in AnnealProtocol(extrapolate_start=0.5).settings()
    assert AnnealProtocol(extrapolate_start=0.5).describe().endswith("x0.5 the last β's change carried forward")
    with pytest.raises(ValueError, match="extrapolate_start"):
        AnnealProtocol(extrapolate_start=-0.5)
    with pytest.raises(ValueError, match="extrapolate_start"):
        AnnealProtocol(extrapolate_start=float("nan"))


@pytest.mark.parametrize("stop_after", [9 + 6 + 6, 9 + 6 + 6 + 3])  # at the end of the third β, inside the fourth
def test_resuming_an_extrapolated_anneal_gives_the_uninterrupted_run(tmp_path, stop_after):
    p = _carrying(1.0)
    betas = (0.3, 0.6, 0.9, 1.2, 1.5)  # a β after the interrupted one carries the restored start
    full, resumed, interrupted = _interrupted_and_resumed(p, betas, stop_after, tmp_path)
    assert "beta_start" in interrupted
    _assert_same_parameters(resumed, full)


def _interrupted_and_resumed(protocol, betas, stop_after, tmp_path):
    """The uninterrupted run, and the run interrupted after ``stop_after`` steps (checkpoints every 3)
    then resumed; with the checkpoint the interrupted run left."""
    full, _, _ = _spin_glass_run(protocol, betas)
    count = [0]

    def stop(step, log, driver):
        count[0] += 1
        if count[0] == stop_after + 1:
            raise KeyboardInterrupt
        return True

    path = tmp_path / "x.mpack"
    with pytest.raises(AnnealInterrupted) as error:
        _spin_glass_run(protocol, betas, callback=[stop], checkpointing=Checkpointing(path, every=3))
    assert error.value.result.driver.state.n_samples == 32  # the state's own batch, whatever the β's
    interrupted = load_checkpoint(path)
    resumed, _, _ = _spin_glass_run(protocol, betas, checkpointing=Checkpointing(path, every=3, resume=True))
    return full, resumed, interrupted


def _assert_same_parameters(a, b):
    for x, y in zip(jax.tree.leaves(a.driver.state.parameters), jax.tree.leaves(b.driver.state.parameters)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# -- beyond: per-β fields that change from a β on ------------------------------------------------
def test_beyond_changes_the_rate_and_steps_from_its_beta_on():
    H = na.curie_weiss(6)
    base = AnnealProtocol(learning_rate=1e-2, warmup_steps=3, max_steps=4, settle_steps=5, final_factor=0.2)
    p = base.beyond_beta(0.6, learning_rate=3e-2, max_steps=2, settle_steps=3)
    result, rec = _anneal(H, p)
    assert [r.steps for r in result] == [3 + 4 + 5, 2 + 3, 2 + 3]
    assert p.max_total_steps((0.3, 0.6, 0.9)) == sum(r.steps for r in result)
    late = p.at(0.6)
    expected = [1.0] * 7 + [base.learning_rate_factor(s) for s in range(5)]
    expected += 2 * ([3.0] * 2 + [3.0 * late.learning_rate_factor(s) for s in range(3)])  # factors on the base rate
    np.testing.assert_allclose(rec.factors, expected, rtol=1e-12)
    assert result.metadata["protocol"]["beyond"] == [
        {"beta": 0.6, "learning_rate": 3e-2, "max_steps": 2, "settle_steps": 3}
    ]


def test_beyond_is_read_at_each_beta_and_checked_when_made():
    p = SETTLED.beyond_beta(1.0, learning_rate=3e-3).beyond_beta(1.5, extrapolate_start=1.0)
    assert p.at(0.95) == SETTLED and p.at(0.95).beyond == ()
    assert p.at(1.0 - 1e-12).learning_rate == 3e-3  # a grid's 0.9999999999999999 is β = 1
    assert (p.at(1.2).learning_rate, p.at(1.2).extrapolate_start) == (3e-3, 0.0)
    assert (p.at(2.0).learning_rate, p.at(2.0).extrapolate_start) == (3e-3, 1.0)
    assert p.beyond_beta(1.8, learning_rate=1e-2).at(2.0).learning_rate == 1e-2  # the latest change wins
    assert p.extrapolates and not SETTLED.beyond_beta(1.0, learning_rate=3e-3).extrapolates
    assert SETTLED.at(1.0) is SETTLED and "beyond" not in SETTLED.settings()  # runs stored before it resume
    assert SETTLED.replace(beyond=p.settings()["beyond"]) == p  # a results file's form reads back
    assert hash(p) == hash(SETTLED.replace(beyond=p.settings()["beyond"]))
    assert p.replace(name="renamed").beyond == p.beyond and p.at(1.2).name == p.name
    assert p.describe().endswith("; from β = 1: learning_rate 0.003; from β = 1.5: extrapolate_start 1")
    grid = na.driver.beta_grid(0.1, 2.0, 0.05)
    assert p.max_total_steps(grid) == SETTLED.max_total_steps(len(grid))
    steps = SETTLED.beyond_beta(1.0, max_steps=60)
    assert steps.max_total_steps(grid) == 300 + 18 * (27 + 80) + 21 * (60 + 80)
    with pytest.raises(ValueError, match="pass the β grid"):
        steps.max_total_steps(len(grid))
    bad = [
        ((1.0, {"optimizer": "sgd"}), "only the per-β fields"),
        ((1.0, {"learning_rate": -1.0}), r"from β = 1: learning_rate must be > 0"),
        ((1.0, {"max_steps": 5, "min_steps": 9}), r"from β = 1: min_steps \(9\) must be <= max_steps"),
        ((0.0, {"max_steps": 3}), "must be > 0"),
        ((1.0, {}), "changes nothing"),
    ]
    for entry, message in bad:
        with pytest.raises(ValueError, match=message):
            SETTLED.replace(beyond=[entry])
    with pytest.raises(ValueError, match="must increase"):
        SETTLED.beyond_beta(1.0, max_steps=3).beyond_beta(0.5, max_steps=4)
    with pytest.raises(TypeError, match="beyond must be a sequence"):
        SETTLED.replace(beyond="1.0")


def test_extrapolation_switched_on_from_a_beta_carries_the_change_of_the_beta_before():
    # The start of a β before the switch must be kept although nothing is carried there.
    from netket_arnn.models.hooks import shift_to_beta

    c = 0.7
    p = _carrying(0.0).beyond_beta(0.9, extrapolate_start=c)
    betas = (0.3, 0.6, 0.9, 1.2)
    _, ends, model = _spin_glass_run(p, betas)
    for name, value in shift_to_beta(model, dict(ends.last[0.3]), 0.3, 0.6).items():  # not carried before 0.9
        np.testing.assert_allclose(ends.first[0.6][name], value, rtol=1e-12, atol=1e-12)
    for k in (2, 3):
        b0, b1 = betas[k - 1], betas[k]
        change = jax.tree.map(lambda e, s: e - s, ends.last[b0], ends.first[b0])
        for name, value in shift_to_beta(model, dict(ends.last[b0]), b0, b1).items():
            np.testing.assert_allclose(ends.first[b1][name], value + c * change[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stop_after", [9 + 6 + 6 + 3, 9 + 6 + 6 + 8 + 2])  # inside the fourth β, inside the fifth
@pytest.mark.parametrize("batch_factor", [1.0, 0.5])
def test_resuming_past_a_change_of_beyond_gives_the_uninterrupted_run(tmp_path, stop_after, batch_factor):
    p = _carrying(0.0).beyond_beta(
        1.2, extrapolate_start=1.0, learning_rate=3e-2, max_steps=6, batch_factor=batch_factor
    )
    betas = (0.3, 0.6, 0.9, 1.2, 1.5)
    full, resumed, _ = _interrupted_and_resumed(p, betas, stop_after, tmp_path)
    assert [r.steps for r in full] == [9, 6, 6, 8, 8]
    assert [r.steps for r in resumed] == [9, 6, 6, 8, 8]
    batches = [32] * 3 + [round(32 * batch_factor)] * 2
    assert [r.training_samples for r in resumed] == [s * b for s, b in zip([9, 6, 6, 8, 8], batches)]
    _assert_same_parameters(resumed, full)


class _Batches(nk.callbacks.AbstractCallback, mutable=True):
    """The samples every step trained on, as the driver drew them."""

    sizes: list = struct.field(pytree_node=False, serialize=False)

    def __init__(self):
        self.sizes = []

    def on_step_end(self, step, log_data, driver):
        self.sizes.append(int(np.prod(driver.state.samples.shape[:-1])))


def test_batch_factor_sets_the_training_batch_from_its_beta_on_and_the_state_gets_its_own_back():
    H = na.curie_weiss(6)
    base = AnnealProtocol(learning_rate=1e-2, warmup_steps=3, max_steps=4, settle_steps=2)
    p = base.beyond_beta(0.6, batch_factor=0.25, max_steps=10).beyond_beta(0.9, batch_factor=1.5)
    vstate, batches = _state(H, n_samples=64), _Batches()
    betas = [0.3, 0.6, 0.9]
    result = anneal(
        H, vstate, betas, protocol=p, estimates=FinalEstimates(observables=()), callback=batches, show_progress=False
    )
    assert [r.steps for r in result] == [9, 12, 12]
    assert batches.sizes == [64] * 9 + [16] * 12 + [96] * 12
    assert [r.training_samples for r in result] == [9 * 64, 12 * 16, 12 * 96]
    assert p.max_total_samples(betas, 64) == sum(batches.sizes)
    assert [r.n_samples for r in result] == [64] * 3  # the estimates keep the state's own batch
    assert vstate.n_samples == 64 and result.metadata["n_samples"] == 64
    assert result.metadata["protocol"]["beyond"][1] == {"beta": 0.9, "batch_factor": 1.5}
    # without a change every step trains on the state's batch
    plain = anneal(H, _state(H, n_samples=48), [0.3], protocol=base, show_progress=False)
    assert plain[0].training_samples == 9 * 48


def test_batch_factor_is_checked_rounded_and_written_only_when_set():
    assert "batch_factor" not in SETTLED.settings()  # runs stored before it existed resume
    p = SETTLED.beyond_beta(1.0, batch_factor=0.25, max_steps=108, settle_steps=320)
    assert p.settings()["beyond"] == [{"beta": 1.0, "batch_factor": 0.25, "max_steps": 108, "settle_steps": 320}]
    assert [p.batch_at(b, 2000) for b in (0.95, 1.0, 2.0)] == [2000, 500, 500]
    assert AnnealProtocol(batch_factor=0.3).batch_at(0.5, 10) == 3
    assert AnnealProtocol(batch_factor=1e-3).batch_at(0.5, 10) == 1
    assert AnnealProtocol(batch_factor=0.29).batch_at(0.5, 100) == 29  # 28.999999999999996 rounded, not cut
    grid = na.driver.beta_grid(0.1, 2.0, 0.05)
    assert p.max_total_samples(grid, 2000) == SETTLED.max_total_samples(grid, 2000) == 4473 * 2000
    assert AnnealProtocol(batch_factor=0.5).describe().endswith("x0.5 the batch")
    assert p.describe().endswith("from β = 1: batch_factor 0.25, max_steps 108, settle_steps 320")
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="batch_factor"):
            AnnealProtocol(batch_factor=bad)
    with pytest.raises(ValueError, match=r"from β = 1: batch_factor must be > 0"):
        SETTLED.beyond_beta(1.0, batch_factor=0.0)
    with pytest.raises(ValueError, match="n_samples"):
        p.batch_at(1.0, 0)


# -- retreat: a β whose training raised f[q] restarts from where it began --------------------------
def test_retreat_sees_a_rise_beyond_its_tolerance_only():
    rule = Retreat(window=4, tolerance=2.0, factor=0.1)
    flat = [1.0, 1.1, 0.9, 1.0]  # mean 1, standard error 0.041
    assert not rule.risen(1.0, 0.0, flat)
    assert rule.risen(0.8, 0.0, flat)  # 0.2 above: ~5 standard errors
    assert not rule.risen(0.8, 0.2, flat)  # the start's own error covers it
    assert not rule.risen(0.9, 0.0, [1.0, 1.1, 0.9, 1.0, 0.5, 0.4, 0.6, 0.5])  # only the last window counts
    assert not rule.risen(0.0, 0.0, flat[:3])  # fewer values than a window
    assert not rule.risen(1.5, 0.0, flat)  # a decrease is no rise


@pytest.mark.parametrize("factor", [0.0, 1.0, -0.1])
def test_retreat_refuses_a_factor_outside_zero_one(factor):
    with pytest.raises(ValueError, match="factor"):
        Retreat(factor=factor)


def test_protocol_refuses_a_retreat_that_is_not_a_rule():
    with pytest.raises(TypeError, match="retreat must be a Retreat"):
        AnnealProtocol(retreat=0.1)


def test_a_protocol_with_a_retreat_says_so_and_keeps_it_when_replaced():
    p = ADAPTIVE.replace(retreat=Retreat(factor=0.2))
    assert p.replace(max_steps=50).retreat == Retreat(factor=0.2)
    assert p.describe().endswith(", restarting a β at x0.2 if f[q] rises")
    assert "restarting" not in ADAPTIVE.describe()
    assert all(get_protocol(name).retreat is None for name in protocol_names())  # the named ones run as before


class _StartRecorder(nk.callbacks.AbstractCallback, mutable=True):
    """The parameters and optimizer state before every step, and the learning-rate factor of every step."""

    before: list = struct.field(pytree_node=False, serialize=False)
    factors: list = struct.field(pytree_node=False, serialize=False)
    f: list = struct.field(pytree_node=False, serialize=False)

    def __init__(self):
        self.before, self.factors, self.f = [], [], []

    def on_step_start(self, step, log_data, driver):
        self.before.append((driver.state.parameters, driver._optimizer_state))

    def on_step_end(self, step, log_data, driver):
        self.factors.append(float(driver.learning_rate_factor))
        self.f.append(float(log_data["free_energy"].mean))


_SK = na.sherrington_kirkpatrick(8, seed=3)


def _retreat_run(retreat, callback=None, checkpointing=None, beta=0.2):
    # SK_1RSB from its physics start, nearly exact at β = 0.2: Adam at 0.3 makes q worse.
    model = na.models.SpinGlassARNN.from_hamiltonian(_SK, beta, k=1)
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(_SK.hilbert), model, n_samples=256, seed=0, sampler_seed=1)
    protocol = AnnealProtocol(
        learning_rate=0.3, max_steps=60, settle_steps=4, final_factor=0.5, retreat=retreat, physics_start=True
    )
    recorder = _StartRecorder()
    result = anneal(
        _SK,
        vs,
        [beta],
        protocol=protocol,
        estimates=FinalEstimates(n_samples=4096, observables=()),
        callback=[recorder, *([] if callback is None else [callback])],
        checkpointing=checkpointing,
        show_progress=False,
    )
    return result, recorder


def _same_tree(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_retreat_restarts_the_beta_from_its_start_at_the_lower_rate():
    rule = Retreat(window=10, tolerance=3.0, factor=0.1)
    result, rec = _retreat_run(rule)
    factors = np.asarray(rec.factors)
    assert result[0].steps == 60 + 4  # the steps before the restart count against the β's budget
    back = int(np.argmax(factors < 1.0))  # the first step after the restart
    assert 10 <= back < 60 and np.all(factors[:back] == 1.0)
    assert result[0].extra["retreated_at"] == back  # the record says after which search step
    assert result.metadata["protocol"]["retreat"] == {"window": 10, "tolerance": 3.0, "factor": 0.1}
    assert "retreat" not in ADAPTIVE.settings()  # the signature of runs stored before retreats existed
    np.testing.assert_allclose(factors[back:60], 0.1)
    np.testing.assert_allclose(
        factors[60:], [0.1 * AnnealProtocol(settle_steps=4, final_factor=0.5).learning_rate_factor(s) for s in range(4)]
    )
    # it went back to the parameters and the optimizer state of the β's first step ...
    _same_tree(rec.before[back], rec.before[0])
    # ... because f[q] had risen beyond the rule's tolerance over the last window before it
    f0 = rec.f[0]
    assert np.mean(rec.f[back - 10 : back]) > f0
    # without the rule the same run ends worse: the restart at the lower rate keeps q near its start
    plain, _ = _retreat_run(None)
    assert result[0].relative_error < plain[0].relative_error and "retreated_at" not in plain[0].extra


def test_a_retreat_from_a_beta_on_reads_back_and_restarts_only_there():
    rule = Retreat(window=10, tolerance=3.0, factor=0.1)
    p = SETTLED.beyond_beta(1.0, retreat=rule)
    assert p.at(0.95).retreat is None and p.at(1.0).retreat == rule and SETTLED.retreat is None
    stored = p.settings()["beyond"]
    assert stored == [{"beta": 1.0, "retreat": {"window": 10, "tolerance": 3.0, "factor": 0.1}}]
    assert SETTLED.replace(beyond=stored) == p  # a results file's form reads back as the rule
    assert p.beyond_beta(1.5, retreat=None).at(1.5).retreat is None  # a later change turns it off
    assert p.describe().endswith("; from β = 1: restarting a β at x0.1 if f[q] rises")

    # two β from a nearly exact start (as _retreat_run), Adam at 0.3 raising f[q] where it runs:
    # at both β with the rule from the second on, the first rises unchecked; at the second only
    # (the first at 1e-4, which keeps q near exact), the second restarts
    def run(protocol):
        model = na.models.SpinGlassARNN.from_hamiltonian(_SK, 0.2, k=1)
        vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(_SK.hilbert), model, n_samples=256, seed=0, sampler_seed=1)
        return anneal(
            _SK,
            vs,
            [0.2, 0.25],
            protocol=protocol,
            estimates=FinalEstimates(n_samples=256, observables=()),
            show_progress=False,
        )

    steps = dict(max_steps=60, settle_steps=4, final_factor=0.5, physics_start=True)
    both = run(AnnealProtocol(learning_rate=0.3, **steps).beyond_beta(0.25, retreat=rule))
    assert "retreated_at" not in both[0].extra
    assert both.metadata["protocol"]["beyond"] == [{**stored[0], "beta": 0.25}]
    assert "retreat" not in both.metadata["protocol"]
    second = run(AnnealProtocol(learning_rate=1e-4, **steps).beyond_beta(0.25, learning_rate=0.3, retreat=rule))
    assert "retreated_at" not in second[0].extra and 10 <= second[1].extra["retreated_at"] < 60


def test_a_restored_start_is_written_back_before_the_next_step():
    """A resumed β stopped again before its first step checkpoints the start it was given, unchanged."""
    protocol = AnnealProtocol(max_steps=10, retreat=Retreat(window=4, tolerance=1.0, factor=0.1))
    start = {"parameters": {"a": np.arange(3.0)}, "optimizer_state": {"mu": {"a": np.ones(3)}}}
    saved = {
        "values": np.asarray([1.5, 1.25]),
        "searched": 2,
        "settled": -1,
        "retreat": {"retreated_at": -1, "start_f": np.asarray([2.0, 0.1]), "start": start},
    }
    steps = protocol.steps_callback(1)
    steps.load_state_dict(saved)
    again = steps.state_dict()
    _same_tree(again["retreat"]["start"], start)
    np.testing.assert_array_equal(again["retreat"]["start_f"], [2.0, 0.1])
    assert again["searched"] == 2 and again["values"].tolist() == [1.5, 1.25] and steps.retreated_at is None


def test_resuming_a_beta_keeps_its_start_for_a_later_retreat(tmp_path):
    rule = Retreat(window=10, tolerance=3.0, factor=0.1)
    full, full_rec = _retreat_run(rule)
    back = int(np.argmax(np.asarray(full_rec.factors) < 1.0))
    for stop_at in (back - 3, back + 5):  # before the restart (the start is in the checkpoint) and after it
        count = [0]

        def stop(step, log, driver, stop_at=stop_at, count=count):
            count[0] += 1
            if count[0] == stop_at:
                raise KeyboardInterrupt
            return True

        path = tmp_path / f"r{stop_at}.mpack"
        with pytest.raises(AnnealInterrupted):
            _retreat_run(rule, callback=stop, checkpointing=Checkpointing(path, every=2))
        resumed, rec = _retreat_run(rule, checkpointing=Checkpointing(path, every=2, resume=True))
        assert resumed[0].steps == full[0].steps
        np.testing.assert_array_equal(rec.factors, full_rec.factors[-len(rec.factors) :])
        _same_tree(resumed.driver.state.parameters, full.driver.state.parameters)
        assert resumed[0].free_energy == full[0].free_energy
