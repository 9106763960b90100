"""Checkpoints of anneal(): resumed runs are bit-identical, and checkpoints of other runs are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn.driver import AnnealInterrupted, PlateauStopping, anneal
from netket_arnn.driver.checkpoint import load_checkpoint

BETAS = [0.3, 0.6, 0.9, 1.2]

# One definition of the run, executed here and in a fresh process.
RUN = textwrap.dedent(
    """
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import netket as nk
    import netket_arnn as na

    def run(checkpoint, *, resume=False, callback=None, checkpoint_every=None, n=8):
        H = na.curie_weiss(n)
        model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64)
        vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=64, seed=3, sampler_seed=4)
        return na.anneal(
            H, vs, [0.3, 0.6, 0.9, 1.2], optimizer=nk.optimizer.Adam(2e-2), steps_per_beta=6, warmup_steps=4,
            n_final_samples=64, early_stopping=na.PlateauStopping(patience=2, window=2, min_delta=0.05),
            callback=callback, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
            show_progress=False,
        )
    """
)


def _run_here():
    namespace = {}
    exec(RUN, namespace)
    return namespace["run"]


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _resume_in_fresh_process(*checkpoints):
    """Resume each checkpoint (in turn, in one new process); their final parameters and steps."""
    out = [f"{c}.npz" for c in checkpoints]
    script = RUN + textwrap.dedent(
        f"""
        import numpy as np, jax
        for checkpoint, out in zip({[str(c) for c in checkpoints]!r}, {out!r}):
            result = run(checkpoint, resume=True)
            leaves = [np.asarray(x) for x in jax.tree.leaves(result.driver.state.parameters)]
            np.savez(out, *leaves, steps=np.array([r.steps for r in result]))
        """
    )
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = []
    for path in out:
        data = np.load(path)
        results.append(([data[f"arr_{i}"] for i in range(len(data.files) - 1)], list(data["steps"])))
    return results


def test_resume_in_a_fresh_process_is_bit_identical(tmp_path):
    run = _run_here()
    full = run(None)
    full_params = _leaves(full.driver.state.parameters)

    # Stopped between two β (after 2 records) ...
    def stop_after_two(step, log, driver):
        if driver.beta == 0.9:
            raise KeyboardInterrupt
        return True

    with pytest.raises(AnnealInterrupted) as info:
        run(tmp_path / "a.mpack", callback=stop_after_two)
    assert [r.beta for r in info.value.result] == [0.3, 0.6]
    assert "after β = 0.6" in str(info.value)

    # ... and in the middle of a β, from a checkpoint saved every 2 steps (the plateau rule's
    # counters restored too: the number of steps at that β must come out the same).
    count = [0]

    def stop_mid_beta(step, log, driver):
        count[0] += 1
        if count[0] == 11:  # the third step at β = 0.9, after the checkpoint saved at its second
            raise KeyboardInterrupt
        return True

    with pytest.raises(AnnealInterrupted):
        run(tmp_path / "b.mpack", callback=stop_mid_beta, checkpoint_every=2)
    progress = load_checkpoint(tmp_path / "b.mpack")["progress"]
    assert (progress["index"], progress["steps_done"]) == (2, 2)  # mid-β

    for params, steps in _resume_in_fresh_process(tmp_path / "a.mpack", tmp_path / "b.mpack"):
        assert steps == [r.steps for r in full]
        for x, y in zip(params, full_params, strict=True):
            np.testing.assert_array_equal(x, y)


def _state(H, *, layers=1, seed=0):
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=layers, features=2, param_dtype=jnp.float64)
    return nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=32, seed=seed, sampler_seed=1)


def _interrupted_checkpoint(path, H, **kwargs):
    def stop(step, log, driver):
        if driver.beta > 0.3:
            raise KeyboardInterrupt
        return True

    with pytest.raises(AnnealInterrupted):
        anneal(
            H, _state(H), [0.3, 0.6], steps_per_beta=2, callback=stop, checkpoint=path, show_progress=False, **kwargs
        )


def test_checkpoint_of_another_run_is_refused_with_what_differs(tmp_path):
    path = tmp_path / "c.mpack"
    H = na.curie_weiss(10)
    _interrupted_checkpoint(path, H)

    def resume(H, vs=None, **kwargs):
        vs = _state(H) if vs is None else vs
        kwargs = {"steps_per_beta": 2, **kwargs}
        return anneal(H, vs, [0.3, 0.6], checkpoint=path, resume=True, show_progress=False, **kwargs)

    with pytest.raises(ValueError, match="number of spins N: 10 in the checkpoint, 8 in this run"):
        resume(na.curie_weiss(8))
    with pytest.raises(ValueError, match="number of parameters"):
        resume(H, _state(H, layers=2))
    with pytest.raises(ValueError, match="model"):
        resume(
            H,
            nk.vqs.MCState(
                nk.sampler.ARDirectSampler(H.hilbert), na.models.OneParameterARNN.from_hamiltonian(H, 0.3), n_samples=32
            ),
        )
    with pytest.raises(ValueError, match="optimizer"):
        resume(H, optimizer=nk.optimizer.Sgd(0.1))
    with pytest.raises(ValueError, match="learning_rate"):
        import optax

        resume(H, optimizer=optax.inject_hyperparams(optax.adam)(learning_rate=0.5))
    with pytest.raises(ValueError, match="Hamiltonian"):
        resume(na.curie_weiss(10, J=0.5))
    with pytest.raises(ValueError, match="steps_per_beta"):
        resume(H, steps_per_beta=3)
    with pytest.raises(ValueError, match="β grid"):
        anneal(H, _state(H), [0.4, 0.6], steps_per_beta=2, checkpoint=path, resume=True, show_progress=False)
    # the same run resumes, and may extend the grid
    result = anneal(H, _state(H), [0.3, 0.6, 0.9], steps_per_beta=2, checkpoint=path, resume=True, show_progress=False)
    assert [r.beta for r in result] == [0.3, 0.6, 0.9]


def test_driver_restore_checks_shapes(tmp_path):
    # Restoring a driver of N = 10 into one of N = 8 used to succeed silently.
    make = lambda n: na.VariationalFreeEnergy(  # noqa: E731
        na.curie_weiss(n), nk.optimizer.Adam(1e-2), variational_state=_state(na.curie_weiss(n)), beta=1.0
    )
    big = make(10)
    big.save(tmp_path / "d.mpack")
    with pytest.raises(ValueError, match=r"params/.*float64\[10, .*\] in the checkpoint but float64\[8, "):
        make(8).restore(tmp_path / "d.mpack")


def test_fresh_run_does_not_overwrite_an_unfinished_checkpoint(tmp_path):
    path = tmp_path / "e.mpack"
    H = na.curie_weiss(6)
    _interrupted_checkpoint(path, H)
    with pytest.raises(FileExistsError, match="resume=True"):
        anneal(H, _state(H), [0.3, 0.6], steps_per_beta=2, checkpoint=path, show_progress=False)
    (tmp_path / "junk.mpack").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a netket-arnn checkpoint"):
        anneal(H, _state(H), [0.3], checkpoint=tmp_path / "junk.mpack", resume=True, show_progress=False)
    # a finished run's checkpoint may be replaced by a new run
    anneal(H, _state(H), [0.3], steps_per_beta=1, checkpoint=tmp_path / "f.mpack", show_progress=False)
    anneal(H, _state(H), [0.3], steps_per_beta=1, checkpoint=tmp_path / "f.mpack", show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.mpack", "f.mpack", "junk.mpack"]


def test_plateau_state_round_trips():
    stop = PlateauStopping(patience=2, window=2)
    stop._recent, stop._seen, stop._best, stop._since_best = [1.0, 2.0], 5, 0.5, 1
    again = PlateauStopping(patience=2, window=2)
    again.load_state_dict(json.loads(json.dumps({k: np.asarray(v).tolist() for k, v in stop.state_dict().items()})))
    assert (again._recent, again._seen, again._best, again._since_best) == ([1.0, 2.0], 5, 0.5, 1)


def test_the_beta_in_progress_must_start_the_resumed_grid(tmp_path):
    # interrupted during the second β, one step into it: the finished β (0.3) and the one in
    # progress (0.6) must both begin the grid of the run that resumes it
    path = tmp_path / "c.mpack"
    H = na.curie_weiss(10)
    seen = []

    def stop(step, log, driver):
        if driver.beta > 0.3:
            seen.append(step)
            if len(seen) == 2:
                raise KeyboardInterrupt
        return True

    with pytest.raises(AnnealInterrupted):
        anneal(H, _state(H), [0.3, 0.6, 0.9], steps_per_beta=3, callback=stop, checkpoint=path, show_progress=False)
    with pytest.raises(ValueError, match="β grid"):
        anneal(H, _state(H), [0.3, 0.7, 0.9], steps_per_beta=3, checkpoint=path, resume=True, show_progress=False)
    result = anneal(H, _state(H), [0.3, 0.6], steps_per_beta=3, checkpoint=path, resume=True, show_progress=False)
    assert [r.beta for r in result] == [0.3, 0.6]


def test_sr_preconditioner_has_the_same_signature_in_a_fresh_process():
    """A resumed run compares its settings with the checkpoint's: an SR preconditioner must read the
    same in another process (its solver and QGT are functions, whose repr holds a memory address)."""
    from netket_arnn.driver.checkpoint import preconditioner_settings

    code = (
        "import json, netket as nk; from netket_arnn.driver.checkpoint import preconditioner_settings; "
        "sr = nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTJacobianDense, diag_shift=1e-4); "
        "print(json.dumps(preconditioner_settings(sr)))"
    )
    here = preconditioner_settings(nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTJacobianDense, diag_shift=1e-4))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(here))
    assert "QGTJacobianDense" in here["qgt_constructor"] and "cg" in here["solver"]
    other = preconditioner_settings(nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTOnTheFly, diag_shift=1e-4))
    assert other != here  # a different QGT is a different run
