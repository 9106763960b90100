r"""β annealing: the paper's training protocol, with one record per β, saved as it goes.

The protocol of arXiv:2302.08347 (THEORY §6) is the staircase of
:class:`~netket_arnn.driver.StepwiseBeta`: ``warmup_steps + steps_per_beta`` steps at the first
β of the grid, then ``steps_per_beta`` steps at each following β (fewer when an early-stopping
rule fires), the parameters *and* the optimizer state carried over from one β to the next.
After the steps at each β, :math:`f[q]`, the energy, the entropy, :math:`\langle|m|\rangle`
and the importance-weight :math:`\log Z` are estimated from fresh samples. For models whose
exact parameters are known at every β (CW_N, H2ARNN) the training can be replaced by setting
those parameters (``exact_parameters=``).

A long run loses nothing: the records are written after every β (``results_file``, strict
JSON replaced atomically), a checkpoint (``checkpoint=``) is saved after every β and every
``checkpoint_every`` steps, and ``resume=True`` continues from it with the same final
parameters, bit for bit, as a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import netket as nk
import numpy as np
import optax
from netket.utils import struct

from .. import exact as exact_module
from .._validation import check_non_negative_int, check_positive_int
from ..data.proposal import unbiased_observables
from ..observables import estimate, relative_error
from .callbacks import callback_state, fresh_copy, restore_callback_state
from .checkpoint import check_signature, dumps, load_checkpoint, run_signature, save_checkpoint
from .exact_parameters import exact_setter, model_with_beta, rebuilt_state
from .free_energy import VariationalFreeEnergy
from .results import AnnealRecord, AnnealResult, format_header, format_row, optimizer_settings
from .schedules import StepwiseBeta

__all__ = ["AnnealInterrupted", "ESSWarning", "anneal"]


class AnnealInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`anneal`; ``.result`` holds the records finished so far."""

    def __init__(self, result: AnnealResult, message: str):
        super().__init__(message)
        self.result = result


class ESSWarning(UserWarning):
    """The importance-weight ESS looks healthy but the free energy is off: q misses part of p."""


def anneal(
    hamiltonian,
    variational_state: nk.vqs.MCState,
    betas: Sequence[float],
    *,
    optimizer=None,
    preconditioner=None,
    steps_per_beta: int = 1000,
    warmup_steps: int = 0,
    early_stopping: nk.callbacks.AbstractCallback | None = None,
    n_final_samples: int | None = None,
    exact_parameters: Callable[[float], dict] | bool | str | None = None,
    exact: Callable[[float], float] | str | None = "auto",
    overlaps: bool = False,
    on_record: Callable[[AnnealRecord], Any] | None = None,
    out: Iterable | None = None,
    callback=None,
    show_progress: bool | str = True,
    metadata: dict | None = None,
    on_nan: str = "raise",
    max_rollbacks: int = 3,
    results_file: str | os.PathLike | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    unbiased_samples: int = 0,
) -> AnnealResult:
    r"""Anneal a variational state over a β grid (the paper's protocol) and record each β.

    Args:
        hamiltonian: classical Hamiltonian (e.g. :class:`~netket_arnn.PairwiseIsing`).
        variational_state: ``MCState`` of an ARNN with ``ARDirectSampler``; it is trained in place.
        betas: the β grid in the order to visit, strictly increasing (annealing, e.g.
            :func:`~netket_arnn.driver.beta_grid` ``(0.1, 2.0, 0.05)``) or strictly decreasing
            (heating); see :class:`~netket_arnn.driver.StepwiseBeta`.
        optimizer: an optax optimizer; default Adam with learning rate 1e-3 (the paper's), built
            with ``optax.inject_hyperparams`` so that its settings are recorded. Its state is
            carried over from one β to the next.
        preconditioner: e.g. ``nk.optimizer.SR(diag_shift=1e-3)``.
        steps_per_beta: (maximum) number of steps at every β (>= 0).
        warmup_steps: extra steps at the first β (>= 0).
        early_stopping: a callback that may end the steps at a β early, e.g.
            :class:`~netket_arnn.driver.PlateauStopping` or ``nk.callbacks.EarlyStopping``; every β
            gets a fresh copy of it (NetKet's callbacks keep their counters across runs).
        n_final_samples: fresh samples for the estimates at each β, >= 2 (default: the state's
            ``n_samples``; the paper used 20000).
        exact_parameters: instead of training, use exact parameters at every β:

            - a callable ``beta -> variables`` returning a dict of variable collections that
              replace the state's (e.g. ``lambda b: {"fixed": CurieWeissARNN.fixed_variables(b)}``);
            - ``True``: the variables of the model initialised with its ``beta`` field set to each
              β, written into the state (CW_N). It is checked that β enters only through them;
            - ``"rebuild"``: estimate at each β from a fresh state of the model re-built with that
              β (e.g. H2ARNN); the given state is not changed. Each β compiles the sampler anew.
        exact: ``"auto"`` (:func:`netket_arnn.exact.reference_free_energy` decides whether an exact
            reference exists; then :func:`netket_arnn.exact.thermodynamics` gives f and s), a
            callable ``beta -> f``, or ``None``.
        overlaps: also estimate :math:`P(q)` at every β (stored in ``record.extra["overlaps"]``).
        on_record: called with each :class:`AnnealRecord` as soon as it is ready.
        out, callback: NetKet loggers and callbacks passed to every
            :meth:`VariationalFreeEnergy.run`; one logger then holds the whole anneal, step
            numbers continuing across β.
        show_progress: ``True`` (default): print the table of records as they come and show
            NetKet's progress bar during the steps at each β, the warm-up included; ``"table"``:
            the table only; ``False``: nothing.
        metadata: extra plain values stored in the result.
        on_nan, max_rollbacks: what to do when f[q] or its gradient is not finite (see
            :class:`VariationalFreeEnergy`): ``"raise"`` a
            :class:`~netket_arnn.driver.DivergenceError` or ``"rollback"``.
        results_file: write the result as strict JSON to this path after every β, atomically.
        checkpoint: path of the checkpoint file, saved atomically after every β (and every
            ``checkpoint_every`` steps). A fresh run refuses to overwrite the checkpoint of an
            unfinished run: pass ``resume=True`` to continue it, or remove it.
        checkpoint_every: also save the checkpoint every this many training steps (>= 1).
        resume: continue from ``checkpoint``. The checkpoint must be of the same run (model,
            N, Hamiltonian, optimizer, samples, steps; the β grid may be extended), else a
            ``ValueError`` names what differs. The final parameters are bit-identical to those
            of an uninterrupted run with the same seeds.
        unbiased_samples: if > 0, at every β also draw this many samples of :math:`e^{-\beta H}`
            itself by Metropolis with the trained network as an independent proposal
            (:func:`netket_arnn.data.unbiased_observables`): energy, :math:`\langle|m|\rangle`
            and, with ``overlaps``, :math:`P(q)` without the bias of q, and the acceptance rate,
            in ``record.extra["unbiased"]`` next to the importance-weight estimates.

    Returns:
        an :class:`AnnealResult` with one :class:`AnnealRecord` per β.

    Raises:
        AnnealInterrupted: on Ctrl-C (a ``KeyboardInterrupt``), with the finished records in
            ``.result``; the last checkpoint is the one saved before the interruption.
        DivergenceError: when the steps stop being finite (``on_nan="raise"``).

    Limitation of the ESS: the effective sample size of the importance weights only sees the
    states that q samples. A q collapsed onto a few low-energy states has nearly equal weights,
    hence ESS/M close to 1, while it misses most of p. Each record therefore also carries the
    fraction of distinct samples and, where an exact reference exists, the exact entropy; an
    :class:`ESSWarning` is issued when ESS/M > 0.9 although f[q] is off the exact value by more
    than 1% and five error bars.
    """
    plan = StepwiseBeta(betas, steps_per_beta, warmup_steps)
    if show_progress not in (True, False, "table"):
        raise ValueError(f"show_progress must be True, False or 'table', got {show_progress!r}")
    if early_stopping is not None and not isinstance(early_stopping, nk.callbacks.AbstractCallback):
        raise TypeError(
            f"early_stopping must be a NetKet callback such as PlateauStopping, got {type(early_stopping).__name__}"
        )
    if n_final_samples is not None:
        n_final_samples = check_positive_int(n_final_samples, "n_final_samples")
        if n_final_samples < 2:
            raise ValueError(f"n_final_samples must be >= 2 (a mean and its error bar), got {n_final_samples}")
    if checkpoint_every is not None:
        checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
        if checkpoint is None:
            raise ValueError("checkpoint_every needs checkpoint=PATH")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=PATH, the file to continue from")
    unbiased_samples = check_non_negative_int(unbiased_samples, "unbiased_samples")
    reference = _reference(hamiltonian, exact)
    set_exact = exact_setter(variational_state, exact_parameters)
    rebuild = isinstance(exact_parameters, str) and exact_parameters == "rebuild"
    if rebuild:
        model_with_beta(variational_state)
    training = set_exact is None and not rebuild

    if optimizer is None:
        optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    driver = VariationalFreeEnergy(
        hamiltonian,
        optimizer,
        variational_state=variational_state,
        beta=plan.betas[0],
        preconditioner=preconditioner,
        on_nan=on_nan,
        max_rollbacks=max_rollbacks,
    )
    opt_settings = optimizer_settings(driver._optimizer_state) if training else None
    result = AnnealResult(
        driver=driver,
        metadata={
            "model": type(variational_state.model).__name__,
            "n_sites": int(hamiltonian.hilbert.size),
            "n_parameters": int(variational_state.n_parameters),
            "n_samples": int(variational_state.n_samples),
            "n_final_samples": int(n_final_samples or variational_state.n_samples),
            "steps_per_beta": plan.steps_per_beta,
            "warmup_steps": plan.warmup_steps,
            "mode": "trained" if training else "exact_parameters",
            "optimizer": opt_settings,
            "preconditioner": None if preconditioner is None else type(preconditioner).__name__,
            "on_nan": on_nan,
            **(metadata or {}),
        },
    )
    signature = run_signature(
        hamiltonian,
        variational_state,
        optimizer=opt_settings,
        preconditioner=preconditioner if training else None,
        plan=plan,
        settings={"mode": result.metadata["mode"], "n_final_samples": result.metadata["n_final_samples"]},
    )

    start, steps_done, elapsed, stop_state = 0, 0, 0.0, None
    if resume:
        saved = load_checkpoint(checkpoint)
        progress = saved["progress"]
        check_signature(json.loads(saved["signature"]), signature, done=int(progress["index"]), path=checkpoint)
        driver.load_state_dict(saved["driver"])
        result.records = [AnnealRecord.from_dict(r) for r in json.loads(saved["records"])]
        start, steps_done = int(progress["index"]), int(progress["steps_done"])
        elapsed, stop_state = float(progress["elapsed"]), saved.get("callback") or None
    elif checkpoint is not None and os.path.exists(checkpoint):
        previous = load_checkpoint(checkpoint)
        if not previous["progress"].get("finished", False):
            raise FileExistsError(
                f"{os.fspath(checkpoint)} holds the checkpoint of an unfinished run: pass resume=True to "
                "continue it, or remove the file to start over"
            )

    def save(index, done, seconds, stopper, finished=False):
        if checkpoint is None:
            return
        variational_state.reset()  # so the saved random key is the one the next step draws from
        save_checkpoint(
            checkpoint,
            {
                "driver": driver.state_dict(),
                "progress": {"index": index, "steps_done": done, "elapsed": seconds, "finished": finished},
                "callback": {} if stopper is None else callback_state(stopper),
                "records": dumps([r.as_dict() for r in result.records]),
                "metadata": dumps(result.as_dict()["metadata"]),
                "signature": dumps(signature),
            },
        )

    user_callbacks = _as_list(callback)
    bars = show_progress is True
    if show_progress:
        print(format_header(), flush=True)
        for r in result.records:
            print(format_row(r), flush=True)
    try:
        for k in range(start, len(plan.betas)):
            beta = plan.betas[k]
            clock = time.perf_counter() - (elapsed if k == start else 0.0)
            driver.beta = beta
            stopper = None if early_stopping is None else fresh_copy(early_stopping)
            if stopper is not None and k == start and stop_state:
                stopper = restore_callback_state(stopper, stop_state)
            first = driver.step_count - (steps_done if k == start else 0)
            sampled, steps = variational_state, 0
            if set_exact is not None:
                set_exact(beta)
            elif rebuild:
                sampled = rebuilt_state(variational_state, beta, k)
            else:
                n_iter = plan.steps_at(k) - (steps_done if k == start else 0)
                watcher = _Watcher(
                    lambda k=k, first=first, clock=clock, stopper=stopper: save(
                        k, driver.step_count - first, time.perf_counter() - clock, stopper
                    ),
                    checkpoint_every,
                )
                callbacks = [*user_callbacks, watcher, *([] if stopper is None else [stopper])]
                if n_iter > 0:
                    driver.run(n_iter, out=() if out is None else out, callback=callbacks, show_progress=bars)
                if watcher.interrupted:
                    raise KeyboardInterrupt
                steps = driver.step_count - first
            est = estimate(sampled, hamiltonian, beta, n_samples=n_final_samples, overlaps=overlaps)
            jax.block_until_ready(variational_state.parameters)
            record = _record(est, beta, steps, time.perf_counter() - clock, reference)
            if unbiased_samples:
                unbiased = unbiased_observables(
                    hamiltonian, beta, sampled.model, sampled.variables, unbiased_samples, overlaps=overlaps, seed=k
                )
                record.extra["unbiased"] = unbiased.as_dict()
            result.records.append(record)
            save(k + 1, 0, 0.0, None, finished=k + 1 == len(plan.betas))
            if results_file is not None:
                result.to_json(results_file)
            if show_progress:
                print(format_row(record), flush=True)
            if on_record is not None:
                on_record(record)
    except KeyboardInterrupt:
        raise AnnealInterrupted(result, _interrupted_message(result, checkpoint)) from None
    return result


class _Watcher(nk.callbacks.AbstractCallback, mutable=True):
    """Saves the checkpoint every ``every`` steps; notes a Ctrl-C that NetKet may swallow."""

    _save: Any = struct.field(pytree_node=False, serialize=False)
    _every: Any = struct.field(pytree_node=False, serialize=False)
    _since: int = struct.field(pytree_node=False, serialize=False)
    interrupted: bool = struct.field(pytree_node=False, serialize=False)

    def __init__(self, save, every):
        self._save, self._every = save, every
        self._since, self.interrupted = 0, False

    def on_step_start(self, step, log_data, driver):
        # Between steps the driver is consistent: parameters, optimizer state and random key
        # all belong to the same step count.
        if self._every is not None and self._since >= self._every:
            self._save()
            self._since = 0

    def on_step_end(self, step, log_data, driver):
        self._since += 1

    def on_run_error(self, step, error, driver):
        # In an interactive session NetKet's run() prints "Stopped by user" and returns.
        self.interrupted = isinstance(error, KeyboardInterrupt)


def _interrupted_message(result: AnnealResult, checkpoint) -> str:
    done = f"after β = {result.records[-1].beta:g}" if result.records else "before the first β finished"
    where = "" if checkpoint is None else f"; resume from {os.fspath(checkpoint)}"
    return f"interrupted {done}{where}"


def _record(est, beta, steps, wall, reference) -> AnnealRecord:
    th = est.thermo
    f = float(np.real(th.free_energy.mean))
    f_exact, s_exact = (None, None) if reference is None else reference(beta)
    record = AnnealRecord(
        beta=beta,
        free_energy=f,
        free_energy_error=float(th.free_energy.error_of_mean),
        energy=float(np.real(th.energy.mean)),
        energy_error=float(th.energy.error_of_mean),
        entropy=float(np.real(th.entropy.mean)),
        entropy_error=float(th.entropy.error_of_mean),
        abs_magnetization=float(np.real(th.abs_magnetization.mean)),
        abs_magnetization_error=float(th.abs_magnetization.error_of_mean),
        log_z=est.log_z.log_z,
        log_z_error=est.log_z.log_z_error,
        ess=est.log_z.ess,
        n_samples=th.n_samples,
        steps=int(steps),
        wall_time=wall,
        distinct_fraction=est.distinct_fraction,
        exact_free_energy=f_exact,
        exact_entropy=s_exact,
        relative_error=None if f_exact is None else relative_error(f, f_exact),
        extra={} if est.overlaps is None else {"overlaps": est.overlaps.as_dict()},
    )
    if f_exact is not None and record.ess > 0.9 * record.n_samples:
        gap = abs(f - f_exact)
        if gap > 0.01 * abs(f_exact) and gap > 5 * record.free_energy_error:
            warnings.warn(
                ESSWarning(
                    f"at β = {beta:g} ESS/M = {record.ess / record.n_samples:.2f} looks healthy but f[q] is "
                    f"{record.relative_error:.2g} off the exact value (entropy {record.entropy:.4g} vs exact "
                    f"{s_exact if s_exact is not None else float('nan'):.4g}, "
                    f"{record.distinct_fraction:.3g} of the samples distinct): q misses part of p, "
                    "which the importance weights cannot see"
                ),
                stacklevel=3,
            )
    return record


def _reference(hamiltonian, exact) -> Callable[[float], tuple[float, float | None]] | None:
    """``beta -> (f, s or None)`` of the exact reference chosen by ``exact``, or ``None``."""
    if isinstance(exact, str):
        if exact != "auto":
            raise TypeError(f"exact must be 'auto', None or a callable beta -> f, got {exact!r}")
        if exact_module.reference_free_energy(hamiltonian) is None:
            return None

        def both(beta):
            th = exact_module.thermodynamics(hamiltonian, beta)
            return float(th.free_energy), float(th.entropy)

        return both
    if exact is None:
        return None
    if not callable(exact):
        raise TypeError(f"exact must be 'auto', None or a callable beta -> f, got {exact!r}")
    return lambda beta: (float(exact(beta)), None)


def _as_list(callback) -> list:
    """NetKet's ``callback=`` accepts one callback or several; this normalises to a list."""
    if callback is None:
        return []
    if isinstance(callback, list | tuple):
        return list(callback)
    return [callback]
