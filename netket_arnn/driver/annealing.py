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

import flax
import jax
import netket as nk
import numpy as np
import optax
from netket.utils import struct

from .. import exact as exact_module
from .._provenance import provenance
from ..models import hooks
from ..observables import estimate, relative_error
from ..protocols import AnnealProtocol, get_protocol
from ..sampling.proposal import unbiased_observables
from .callbacks import BetaSteps, callback_state, fresh_copy, restore_callback_state
from .checkpoint import (
    check_signature,
    dumps,
    load_checkpoint,
    preconditioner_settings,
    run_signature,
    save_checkpoint,
)
from .free_energy import VariationalFreeEnergy
from .options import Checkpointing, FinalEstimates, SampleBatch
from .results import AnnealRecord, AnnealResult, format_header, format_row, optimizer_settings
from .schedules import StepwiseBeta
from .stages import BetaStage, Rebuild, SetExactVariables, as_stage

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
    protocol: AnnealProtocol | str | None = None,
    steps_per_beta: int | None = None,
    warmup_steps: int | None = None,
    early_stopping: nk.callbacks.AbstractCallback | None = None,
    stage: BetaStage | str | None = None,
    estimates: FinalEstimates | None = None,
    checkpointing: Checkpointing | None = None,
    exact: Callable[[float], float] | str | None = "auto",
    on_nan: str = "raise",
    max_rollbacks: int = 3,
    local_balance: float = 0.0,
    on_record: Callable[[AnnealRecord], Any] | None = None,
    out: Iterable | None = None,
    callback=None,
    show_progress: bool | str = True,
    metadata: dict | None = None,
    results_file: str | os.PathLike | None = None,
    **deprecated,
) -> AnnealResult:
    r"""Anneal a variational state over a β grid (the paper's protocol) and record each β.

    At every β of the grid the ``stage`` prepares the state (trains it, or sets its exact
    variables, or re-builds the model), then :math:`f[q]`, :math:`e`, :math:`s`,
    :math:`\langle|m|\rangle`, the importance-weight :math:`\log Z` and the per-β observables of
    ``estimates`` are estimated from fresh samples, recorded, written and shown.

    Args:
        hamiltonian: classical Hamiltonian (e.g. :class:`~netket_arnn.PairwiseIsing`).
        variational_state: ``MCState`` of an ARNN with ``ARDirectSampler``; it is trained in place.
        betas: the β grid in the order to visit, strictly increasing (annealing, e.g.
            :func:`~netket_arnn.driver.beta_grid` ``(0.1, 2.0, 0.05)``) or strictly decreasing
            (heating); see :class:`~netket_arnn.driver.StepwiseBeta`.
        optimizer: an optax optimizer; default Adam with learning rate 1e-3 (the paper's), built
            with ``optax.inject_hyperparams`` so that its settings are recorded. Its state is
            carried over from one β to the next. With a ``protocol``: the protocol's optimizer.
        preconditioner: e.g. ``nk.optimizer.SR(diag_shift=1e-3)``. With a protocol that has its
            own (``"natural"``): the protocol's.
        protocol: a training protocol (:mod:`netket_arnn.protocols`): ``"paper"``,
            ``"adaptive"``, ``"natural"`` or an :class:`~netket_arnn.driver.AnnealProtocol`. It sets
            the steps at every β, when a β is done and the learning rate along the way, and replaces
            ``steps_per_beta``, ``warmup_steps`` and ``early_stopping`` (and ``preconditioner`` if it
            has one; an error if both are given); the state's own ``n_samples`` is used.
        steps_per_beta: without a protocol, the (maximum) number of steps at every β (>= 0,
            default 1000).
        warmup_steps: without a protocol, extra steps at the first β (>= 0, default 0).
        early_stopping: a callback that may end the steps at a β early, e.g.
            :class:`~netket_arnn.driver.PlateauStopping` or ``nk.callbacks.EarlyStopping``; every β
            gets a fresh copy of it (NetKet's callbacks keep their counters across runs).
        stage: what happens at each β before the estimates (:mod:`netket_arnn.driver.stages`):
            ``None`` or ``"train"`` (:class:`~netket_arnn.driver.Train`), ``"exact"`` (the model's
            exact variables at every β, :class:`~netket_arnn.driver.SetExactVariables`, e.g. CW_N),
            ``"rebuild"`` (:class:`~netket_arnn.driver.Rebuild`, e.g. H2ARNN), or a stage object.
            A registry net names its own: ``stage=na.get_net("cw_n").beta_stage``.
        estimates: :class:`~netket_arnn.driver.FinalEstimates`: fresh samples per β, P(q), the
            unbiased Monte Carlo estimates, the per-β observables (default: the state's
            ``n_samples`` and the specific heat).
        checkpointing: :class:`~netket_arnn.driver.Checkpointing`: the checkpoint file, saved
            after every β (and every ``every`` steps), and ``resume``.
        exact: ``"auto"`` (:func:`netket_arnn.exact.reference_free_energy` decides whether an exact
            reference exists; then :func:`netket_arnn.exact.thermodynamics` gives f and s), a
            callable ``beta -> f``, or ``None``.
        on_nan, max_rollbacks: what to do when f[q] or its gradient is not finite (see
            :class:`VariationalFreeEnergy`): ``"raise"`` a
            :class:`~netket_arnn.driver.DivergenceError` or ``"rollback"``.
        local_balance: weight of the local-balance term in the gradient (see
            :class:`VariationalFreeEnergy`; 0, the default, is the plain variational gradient).
        on_record: called with each :class:`AnnealRecord` as soon as it is ready.
        out, callback: NetKet loggers and callbacks passed to every
            :meth:`VariationalFreeEnergy.run`; one logger then holds the whole anneal, step
            numbers continuing across β.
        show_progress: ``True`` (default): print the table of records as they come and show
            NetKet's progress bar during the steps at each β, the warm-up included; ``"table"``:
            the table only; ``False``: nothing.
        metadata: extra plain values stored in the result.
        results_file: write the result as strict JSON to this path after every β, atomically.

    The keywords of earlier versions (``n_final_samples``, ``overlaps``, ``unbiased_samples``,
    ``exact_parameters``, ``checkpoint``, ``checkpoint_every``, ``resume``) still work, with a
    ``DeprecationWarning`` naming their replacement.

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
    stage, estimates, checkpointing = _from_deprecated(deprecated, stage, estimates, checkpointing)
    if protocol is not None:
        protocol = get_protocol(protocol)
        given = [
            n
            for n, v in (
                ("steps_per_beta", steps_per_beta),
                ("warmup_steps", warmup_steps),
                ("early_stopping", early_stopping),
                ("optimizer", optimizer),
                ("preconditioner", preconditioner if protocol.preconditioner is not None else None),
            )
            if v is not None
        ]
        if given:
            raise TypeError(
                f"protocol={protocol.name!r} sets the steps, the stopping rule and the optimizer; "
                f"do not also pass {', '.join(given)} (make an AnnealProtocol with the values you want)"
            )
        plan = StepwiseBeta(betas, protocol.max_steps + protocol.settle_steps, protocol.warmup_steps)
        optimizer = protocol.build_optimizer()
        if protocol.preconditioner is not None:
            preconditioner = protocol.build_preconditioner(variational_state.n_parameters, variational_state.n_samples)
    else:
        plan = StepwiseBeta(
            betas, 1000 if steps_per_beta is None else steps_per_beta, 0 if warmup_steps is None else warmup_steps
        )
    if show_progress not in (True, False, "table"):
        raise ValueError(f"show_progress must be True, False or 'table', got {show_progress!r}")
    if jax.process_index() != 0:
        show_progress = False  # every process computes the same records: one of them shows them
    if early_stopping is not None and not isinstance(early_stopping, nk.callbacks.AbstractCallback):
        raise TypeError(
            f"early_stopping must be a NetKet callback such as PlateauStopping, got {type(early_stopping).__name__}"
        )
    stage = as_stage(stage)
    stage.check(variational_state)
    estimates = FinalEstimates() if estimates is None else estimates
    if not isinstance(estimates, FinalEstimates):
        raise TypeError(f"estimates must be a FinalEstimates, got {type(estimates).__name__}")
    if checkpointing is not None and not isinstance(checkpointing, Checkpointing):
        raise TypeError(f"checkpointing must be a Checkpointing, got {type(checkpointing).__name__}")
    reference = _reference(hamiltonian, exact)

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
        local_balance=local_balance,
    )
    opt_settings = optimizer_settings(optimizer.init(variational_state.parameters)) if stage.trains else None
    n_train = int(variational_state.n_samples)  # a protocol's batch_factor scales this one
    n_final = int(estimates.n_samples or n_train)
    model = variational_state.model
    result = AnnealResult(
        driver=driver,
        metadata={
            "model": type(model).__name__,
            "n_sites": int(hamiltonian.hilbert.size),
            "n_parameters": int(variational_state.n_parameters),
            "n_samples": int(variational_state.n_samples),
            "n_final_samples": n_final,
            "steps_per_beta": plan.steps_per_beta,
            "warmup_steps": plan.warmup_steps,
            "stage": stage.name,
            "protocol": None if protocol is None else protocol.settings(),
            "estimates": estimates.settings(),
            "precision": precision_of(model),
            "optimizer": opt_settings,
            "preconditioner": preconditioner_settings(preconditioner),
            "local_balance": driver.local_balance,
            "on_nan": on_nan,
            "provenance": provenance(),
            **(metadata or {}),
        },
    )
    signature = run_signature(
        hamiltonian,
        variational_state,
        optimizer=opt_settings,
        preconditioner=preconditioner if stage.trains else None,
        plan=plan,
        settings={
            "stage": stage.name,
            "n_final_samples": n_final,
            **({"local_balance": driver.local_balance} if driver.local_balance else {}),
            **({} if protocol is None else {"protocol": protocol.settings()}),
        },
    )
    checkpoint = None if checkpointing is None else checkpointing.path
    checkpoint_every = None if checkpointing is None else checkpointing.every

    start, steps_done, elapsed, stop_state = 0, 0, 0.0, None
    keep_start = protocol is not None and protocol.extrapolates
    beta_start = None  # the parameters the current β's training began from (for extrapolate_start)
    if checkpointing is not None and checkpointing.resume:
        saved = load_checkpoint(checkpoint)
        progress = saved["progress"]
        check_signature(json.loads(saved["signature"]), signature, done=int(progress["index"]), path=checkpoint)
        driver.load_state_dict(saved["driver"])
        result.records = [AnnealRecord.from_dict(r) for r in json.loads(saved["records"])]
        start, steps_done = int(progress["index"]), int(progress["steps_done"])
        elapsed, stop_state = float(progress["elapsed"]), saved.get("callback") or None
        if saved.get("beta_start") is not None:
            beta_start = flax.serialization.from_state_dict(variational_state.parameters, saved["beta_start"])
    elif checkpoint is not None and os.path.exists(checkpoint):
        previous = load_checkpoint(checkpoint)
        if not previous["progress"].get("finished", False):
            raise FileExistsError(
                f"{os.fspath(checkpoint)} holds the checkpoint of an unfinished run: pass "
                "Checkpointing(..., resume=True) to continue it, or remove the file to start over"
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
                **({"beta_start": flax.serialization.to_state_dict(beta_start)} if beta_start is not None else {}),
                "metadata": dumps(result.as_dict()["metadata"]),
                "signature": dumps(signature),
            },
        )

    user_callbacks = _as_list(callback)
    bars = show_progress is True
    columns = estimates.observables
    if show_progress:
        print(format_header(columns), flush=True)
        for r in result.records:
            print(format_row(r, columns), flush=True)
    try:
        for k in range(start, len(plan.betas)):
            beta = plan.betas[k]
            clock = time.perf_counter() - (elapsed if k == start else 0.0)
            resumed_mid_beta = k == start and steps_done > 0
            fresh_run = k == 0 and not resumed_mid_beta
            if protocol is not None and protocol.physics_start and fresh_run and stage.trains:
                variational_state.parameters = hooks.start_at(model, variational_state.parameters, beta)
            if protocol is not None and k > 0 and stage.trains and not resumed_mid_beta:
                trained = variational_state.parameters
                if protocol.shift_start:
                    variational_state.parameters = hooks.shift_to_beta(model, trained, plan.betas[k - 1], beta)
                carry = protocol.at(beta).extrapolate_start
                if carry and k > 1:
                    variational_state.parameters = jax.tree.map(
                        lambda now, end, begin, c=carry: now + c * (end - begin),
                        variational_state.parameters,
                        trained,
                        beta_start,
                    )
            if keep_start and stage.trains and not resumed_mid_beta:
                beta_start = variational_state.parameters
            driver.beta = beta
            steps = 0
            if stage.trains:
                if protocol is not None:
                    batch = protocol.batch_at(beta, n_train)
                    if variational_state.n_samples != batch:
                        variational_state.n_samples = batch
                    stopper = protocol.steps_callback(k, beta)
                else:
                    stopper = None if early_stopping is None else fresh_copy(early_stopping)
                if stopper is not None and k == start and stop_state:
                    stopper = restore_callback_state(stopper, stop_state)
                first = driver.step_count - (steps_done if k == start else 0)
                n_iter = (plan.steps_at(k) if protocol is None else protocol.max_steps_at(k, beta)) - (
                    steps_done if k == start else 0
                )
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
            sampled = stage.state_at(variational_state, beta, k)
            record = _estimate_record(sampled, hamiltonian, beta, estimates, reference, k, n_final)
            jax.block_until_ready(variational_state.parameters)
            record.steps, record.wall_time = int(steps), time.perf_counter() - clock
            record.training_samples = int(steps) * int(variational_state.n_samples)
            if stage.trains and isinstance(stopper, BetaSteps) and stopper.retreated_at is not None:
                record.extra["retreated_at"] = stopper.retreated_at
            result.records.append(record)
            save(k + 1, 0, 0.0, None, finished=k + 1 == len(plan.betas))
            if results_file is not None:
                result.to_json(results_file)
            if show_progress:
                print(format_row(record, columns), flush=True)
            if on_record is not None:
                on_record(record)
    except KeyboardInterrupt:
        raise AnnealInterrupted(result, _interrupted_message(result, checkpoint)) from None
    finally:
        driver.learning_rate_factor = 1.0  # a protocol's schedule ends with the run
        if variational_state.n_samples != n_train:
            variational_state.n_samples = n_train  # and so does its batch
    return result


_DEPRECATED = {
    "n_final_samples": "estimates=FinalEstimates(n_samples=...)",
    "overlaps": "estimates=FinalEstimates(overlaps=...)",
    "unbiased_samples": "estimates=FinalEstimates(unbiased_samples=...)",
    "exact_parameters": "stage='exact' / 'rebuild' or SetExactVariables(variables_at=...)",
    "checkpoint": "checkpointing=Checkpointing(path)",
    "checkpoint_every": "checkpointing=Checkpointing(path, every=...)",
    "resume": "checkpointing=Checkpointing(path, resume=True)",
}


def _from_deprecated(old: dict, stage, estimates, checkpointing):
    """The option groups from the flat keywords of earlier versions (with a DeprecationWarning each)."""
    unknown = set(old) - set(_DEPRECATED)
    if unknown:
        raise TypeError(f"anneal() got unexpected keyword arguments {sorted(unknown)}")
    for name in old:
        warnings.warn(f"anneal({name}=...) is deprecated; use {_DEPRECATED[name]}", DeprecationWarning, stacklevel=3)
    if {"n_final_samples", "overlaps", "unbiased_samples"} & set(old):
        if estimates is not None:
            raise TypeError("pass either estimates=FinalEstimates(...) or the deprecated keywords, not both")
        estimates = FinalEstimates(
            n_samples=old.get("n_final_samples"),
            overlaps=old.get("overlaps", False),
            unbiased_samples=old.get("unbiased_samples", 0),
        )
    if "exact_parameters" in old:
        if stage is not None:
            raise TypeError("pass either stage=... or the deprecated exact_parameters=..., not both")
        value = old["exact_parameters"]
        if value is None or value is False:
            stage = None
        elif value is True:
            stage = SetExactVariables()
        elif isinstance(value, str):
            if value != "rebuild":
                raise ValueError(f"exact_parameters must be None, True, 'rebuild' or a callable, got {value!r}")
            stage = Rebuild()
        elif callable(value):
            stage = SetExactVariables(variables_at=value)
        else:
            raise TypeError(f"exact_parameters must be None, True, 'rebuild' or a callable, got {value!r}")
    if {"checkpoint", "checkpoint_every", "resume"} & set(old):
        if checkpointing is not None:
            raise TypeError("pass either checkpointing=Checkpointing(...) or the deprecated keywords, not both")
        path = old.get("checkpoint")
        if path is None:
            if old.get("resume"):
                raise ValueError("resume=True needs checkpoint=PATH, the file to continue from")
            if old.get("checkpoint_every") is not None:
                raise ValueError("checkpoint_every needs checkpoint=PATH")
        else:
            checkpointing = Checkpointing(path, every=old.get("checkpoint_every"), resume=bool(old.get("resume")))
    return stage, estimates, checkpointing


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


def _estimate_record(
    sampled, hamiltonian, beta, estimates: FinalEstimates, reference, index, n_samples: int
) -> AnnealRecord:
    """The record of one β: the estimates of ``estimates`` on ``n_samples`` fresh samples of ``sampled``."""
    est = estimate(sampled, hamiltonian, beta, n_samples=n_samples, overlaps=estimates.overlaps)
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
        log_z_total=est.log_z.log_z,
        log_z_total_error=est.log_z.log_z_error,
        ess_fraction=est.log_z.ess_fraction,
        n_samples=th.n_samples,
        steps=0,
        wall_time=0.0,
        distinct_fraction=est.distinct_fraction,
        exact_free_energy=f_exact,
        exact_entropy=s_exact,
        relative_error=None if f_exact is None else relative_error(f, f_exact),
        extra={} if est.overlaps is None else {"overlaps": est.overlaps.as_dict()},
    )
    if estimates.observables:
        batch = SampleBatch(est.samples, est.log_q, hamiltonian.energy(est.samples), beta)
        for observable in estimates.observables:
            value, error = observable(batch)
            record.observables[observable.name] = {"mean": value, "error": error}
    if estimates.unbiased_samples:
        unbiased = unbiased_observables(
            hamiltonian,
            beta,
            sampled.model,
            sampled.variables,
            estimates.unbiased_samples,
            overlaps=estimates.overlaps,
            seed=index,
        )
        record.extra["unbiased"] = unbiased.as_dict()
    if f_exact is not None and record.ess_fraction > 0.9:
        gap = abs(f - f_exact)
        if gap > 0.01 * abs(f_exact) and gap > 5 * record.free_energy_error:
            warnings.warn(
                ESSWarning(
                    f"at β = {beta:g} ESS/M = {record.ess_fraction:.2f} looks healthy but f[q] is "
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
            th = exact_module.thermodynamics(hamiltonian, beta, abs_magnetization=False)  # not recorded
            return float(th.free_energy), float(th.entropy)

        return both
    if exact is None:
        return None
    if not callable(exact):
        raise TypeError(f"exact must be 'auto', None or a callable beta -> f, got {exact!r}")
    return lambda beta: (float(exact(beta)), None)


def precision_of(model) -> dict:
    """The model's ``param_dtype`` and ``dtype`` by name (see :mod:`netket_arnn.models.precision`)."""

    def name(value):
        return None if value is None else np.dtype(value).name

    return {"param_dtype": name(getattr(model, "param_dtype", None)), "dtype": name(getattr(model, "dtype", None))}


def _as_list(callback) -> list:
    """NetKet's ``callback=`` accepts one callback or several; this normalises to a list."""
    if callback is None:
        return []
    if isinstance(callback, list | tuple):
        return list(callback)
    return [callback]
