r"""β annealing: the paper's training protocol, with one record per β.

The protocol of arXiv:2302.08347 (THEORY §6): train at the first β of an increasing grid
for ``warmup_steps + steps_per_beta`` steps, then ``steps_per_beta`` steps at each following
β (or fewer when an early-stopping rule fires), carrying the parameters *and* the optimizer
state over from one β to the next. After the steps at each β, :math:`f[q]`, the energy, the
entropy, :math:`\langle|m|\rangle` and the importance-weight :math:`\log Z` are estimated from
fresh samples. For models whose exact parameters are known at every β (CW_N, H2ARNN) the
training can be replaced by setting those parameters (``exact_parameters=``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import flax
import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
from netket.utils import struct

from .._validation import check_beta
from ..observables import estimate, relative_error
from .free_energy import VariationalFreeEnergy

__all__ = [
    "AnnealRecord",
    "AnnealResult",
    "PlateauStopping",
    "anneal",
    "exact_reference",
]


# -- early stopping --------------------------------------------------------------------------


class _PlateauReached(nk.callbacks.RunFinished):
    """Ends one β's run quietly (a RunFinished is not reported as an early stop)."""


class PlateauStopping(nk.callbacks.AbstractCallback, mutable=True):
    r"""Stop the steps at one β when the free energy stops decreasing.

    After every step the mean of :math:`f` over the last ``window`` steps is compared with
    the best such mean so far; when it has not improved by more than ``min_delta`` (absolute,
    per spin) for ``patience`` consecutive steps, the run ends. The state is reset at the
    start of every run, so one instance serves all the β of :func:`anneal`.

    Args:
        patience: steps without improvement before stopping (>= 1).
        window: number of steps averaged, to smooth the Monte Carlo noise of f (>= 1).
        min_delta: smallest decrease of the windowed mean counted as an improvement.
        min_steps: never stop before this many steps of the run.
    """

    patience: int = struct.field(pytree_node=False)
    window: int = struct.field(pytree_node=False)
    min_delta: float = struct.field(pytree_node=False)
    min_steps: int = struct.field(pytree_node=False)
    _values: list = struct.field(pytree_node=False, serialize=False)
    _best: float = struct.field(pytree_node=False, serialize=False)
    _since_best: int = struct.field(pytree_node=False, serialize=False)

    def __init__(self, patience: int = 100, window: int = 20, min_delta: float = 0.0, min_steps: int = 0):
        for name, value, low in (("patience", patience, 1), ("window", window, 1), ("min_steps", min_steps, 0)):
            if int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not (min_delta >= 0 and math.isfinite(min_delta)):
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        self.patience, self.window, self.min_steps = int(patience), int(window), int(min_steps)
        self.min_delta = float(min_delta)
        self._values, self._best, self._since_best = [], math.inf, 0

    def on_run_start(self, step, driver):
        self._values, self._best, self._since_best = [], math.inf, 0

    def on_step_start(self, step, log_data, driver):
        # Stop *before* the next step: raising in on_step_end would leave the last,
        # already applied and logged, update out of driver.step_count.
        if len(self._values) >= self.min_steps and self._since_best >= self.patience:
            raise _PlateauReached(f"free energy has not improved for {self.patience} steps")

    def on_step_end(self, step, log_data, driver):
        self._values.append(float(np.real(log_data[driver._loss_name].mean)))
        if len(self._values) < self.window:
            return
        smoothed = float(np.mean(self._values[-self.window :]))
        if smoothed < self._best - self.min_delta:
            self._best, self._since_best = smoothed, 0
        else:
            self._since_best += 1

    @property
    def callback_order(self) -> int:
        return 100  # after loggers, like NetKet's own stopping callbacks


# -- records -------------------------------------------------------------------------------------


@dataclass
class AnnealRecord:
    r"""Estimates at one β, from fresh samples after the steps at that β (all per spin).

    ``exact_free_energy`` and ``relative_error`` (:math:`|f[q] - f|/|f|`) are ``None`` when
    no exact value is known. ``log_z``/``log_z_error``/``ess`` are the importance-weight
    estimate (:func:`netket_arnn.observables.log_z_importance`).
    """

    beta: float
    free_energy: float
    free_energy_error: float
    energy: float
    energy_error: float
    entropy: float
    entropy_error: float
    abs_magnetization: float
    abs_magnetization_error: float
    log_z: float
    log_z_error: float
    ess: float
    n_samples: int
    steps: int
    wall_time: float
    exact_free_energy: float | None = None
    relative_error: float | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return _jsonable(asdict(self))


_COLUMNS = (
    ("beta", "{:>6}", "{:6.3f}"),
    ("f[q]", "{:>13}", "{:13.8f}"),
    ("± err", "{:>9}", "{:9.2e}"),
    ("f exact", "{:>13}", "{:13.8f}"),
    ("rel.err", "{:>9}", "{:9.2e}"),
    ("e", "{:>10}", "{:10.5f}"),
    ("s", "{:>8}", "{:8.5f}"),
    ("<|m|>", "{:>7}", "{:7.4f}"),
    ("ESS/M", "{:>6}", "{:6.3f}"),
    ("steps", "{:>6}", "{:6d}"),
    ("time/s", "{:>7}", "{:7.2f}"),
)


def format_header() -> str:
    """Column titles of :func:`format_row`."""
    return " ".join(head.format(name) for name, head, _ in _COLUMNS)


def format_row(r: AnnealRecord) -> str:
    """One line of the per-β table (exact columns show ``-`` when unknown)."""
    values = (
        r.beta,
        r.free_energy,
        r.free_energy_error,
        r.exact_free_energy,
        r.relative_error,
        r.energy,
        r.entropy,
        r.abs_magnetization,
        r.ess / r.n_samples,
        r.steps,
        r.wall_time,
    )
    cells = []
    for (_, head, body), v in zip(_COLUMNS, values):
        cells.append(head.format("-") if v is None else body.format(v))
    return " ".join(cells)


@dataclass
class AnnealResult:
    """The per-β records of one annealing run, with a table and JSON view.

    Attributes:
        records: one :class:`AnnealRecord` per β, in the order run.
        metadata: plain values describing the run (model, system, settings).
        driver: the :class:`VariationalFreeEnergy` that ran it (to continue training or save a
            checkpoint); not part of the JSON.
    """

    records: list[AnnealRecord] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    driver: Any = field(default=None, repr=False, compare=False)

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, i):
        return self.records[i]

    def column(self, name: str) -> np.ndarray:
        """One field over all β as an array (``None`` becomes ``nan``)."""
        return np.array([np.nan if getattr(r, name) is None else getattr(r, name) for r in self.records])

    @property
    def betas(self) -> np.ndarray:
        return self.column("beta")

    def table(self) -> str:
        """The per-β table as text."""
        return "\n".join([format_header(), *(format_row(r) for r in self.records)])

    def as_dict(self) -> dict:
        return {"metadata": _jsonable(self.metadata), "records": [r.as_dict() for r in self.records]}

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int = 1) -> str:
        """The JSON text of :meth:`as_dict`; also written to ``path`` if given."""
        text = json.dumps(self.as_dict(), indent=indent)
        if path is not None:
            with open(path, "w") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_dict(cls, data: dict) -> AnnealResult:
        return cls(records=[AnnealRecord(**r) for r in data["records"]], metadata=dict(data["metadata"]))

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> AnnealResult:
        with open(path) as f:
            return cls.from_dict(json.load(f))


# -- exact references --------------------------------------------------------------------------


def exact_reference(hamiltonian, *, max_enumeration_sites: int = 20) -> Callable[[float], float] | None:
    r"""A function ``beta -> f`` (exact free energy per spin) when one is available, else ``None``.

    Curie–Weiss Hamiltonians use the closed form at any N
    (:func:`netket_arnn.exact.curie_weiss`); other :class:`~netket_arnn.PairwiseIsing`
    systems with :math:`N \le` ``max_enumeration_sites`` use exact enumeration.
    """
    from .. import exact
    from ..operators import PairwiseIsing, curie_weiss_parameters

    if not isinstance(hamiltonian, PairwiseIsing):
        return None
    n = hamiltonian.n_sites
    if curie_weiss_parameters(hamiltonian) is None and n > max_enumeration_sites:
        return None
    # log_partition_function picks the closed form or enumeration itself.
    return lambda beta: -exact.log_partition_function(hamiltonian, beta) / (beta * n)


# -- the protocol ----------------------------------------------------------------------------------


def anneal(
    hamiltonian,
    variational_state: nk.vqs.MCState,
    betas: Sequence[float],
    *,
    optimizer=None,
    preconditioner=None,
    steps_per_beta: int = 1000,
    warmup_steps: int = 0,
    early_stopping: PlateauStopping | None = None,
    n_final_samples: int | None = None,
    exact_parameters: Callable[[float], dict] | bool | None = None,
    exact: Callable[[float], float] | str | None = "auto",
    overlaps: bool = False,
    on_record: Callable[[AnnealRecord], Any] | None = None,
    out: Iterable | None = None,
    callback=None,
    show_progress: bool = False,
    metadata: dict | None = None,
) -> AnnealResult:
    r"""Anneal a variational state over a β grid (the paper's protocol) and record each β.

    Args:
        hamiltonian: classical Hamiltonian (e.g. :class:`~netket_arnn.PairwiseIsing`).
        variational_state: ``MCState`` of an ARNN with ``ARDirectSampler``; it is trained in place.
        betas: the β grid, in the order to visit (usually increasing, e.g.
            :func:`~netket_arnn.driver.schedules.beta_grid` ``(0.1, 2.0, 0.05)``).
        optimizer: an optax optimizer; default ``nk.optimizer.Adam(1e-3)`` (the paper's).
            Its state is carried over from one β to the next.
        preconditioner: e.g. ``nk.optimizer.SR(diag_shift=1e-3)``.
        steps_per_beta: (maximum) number of steps at every β.
        warmup_steps: extra steps at the first β.
        early_stopping: a :class:`PlateauStopping` that may end the steps at a β early.
        n_final_samples: fresh samples for the estimates at each β (default: the state's
            ``n_samples``; the paper used 20000).
        exact_parameters: instead of training, use exact parameters at every β:

            - a callable ``beta -> variables`` returning a dict of variable collections that replace
              the state's (e.g. ``lambda b: {"fixed": curie_weiss_exact_parameters(N, b)}``);
            - ``True``: the variables of the model initialised with its ``beta`` field set to each
              β, written into the state (CW_N). It is checked that the model then computes the
              same as the re-built one, i.e. that β enters only through the variables;
            - ``"rebuild"``: estimate at each β from a fresh state of the model re-built with that
              β (e.g. H2ARNN, whose fixed hidden weights are generated from its ``beta`` field);
              the given state is not changed. Each β compiles the sampler anew.
        exact: ``"auto"`` (closed form or enumeration, see :func:`exact_reference`), a callable
            ``beta -> f``, or ``None``.
        overlaps: also estimate :math:`P(q)` at every β (stored in ``record.extra["overlaps"]``).
        on_record: called with each :class:`AnnealRecord` as soon as it is ready (live tables).
        out, callback, show_progress: passed to every :meth:`VariationalFreeEnergy.run`; one
            logger then holds the whole anneal, step numbers continuing across β.
        metadata: extra plain values stored in the result.

    Returns:
        an :class:`AnnealResult` with one :class:`AnnealRecord` per β.
    """
    betas = [check_beta(b, "betas[i]") for b in np.atleast_1d(np.asarray(betas, dtype=np.float64))]
    if not betas:
        raise ValueError("betas must contain at least one inverse temperature")
    for name, value in (("steps_per_beta", steps_per_beta), ("warmup_steps", warmup_steps)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if early_stopping is not None and not isinstance(early_stopping, nk.callbacks.AbstractCallback):
        raise TypeError(f"early_stopping must be a PlateauStopping, got {type(early_stopping).__name__}")
    if exact == "auto":
        exact = exact_reference(hamiltonian)
    elif exact is not None and not callable(exact):
        raise TypeError(f"exact must be 'auto', None or a callable beta -> f, got {exact!r}")
    set_exact = _exact_setter(variational_state, exact_parameters)
    rebuild = isinstance(exact_parameters, str) and exact_parameters == "rebuild"
    if rebuild:
        _model_with_beta(variational_state)

    if optimizer is None:
        optimizer = nk.optimizer.Adam(learning_rate=1e-3)
    driver = VariationalFreeEnergy(
        hamiltonian,
        optimizer,
        variational_state=variational_state,
        beta=betas[0],
        preconditioner=preconditioner,
    )
    out = () if out is None else out
    callbacks = [] if callback is None else list(nk.utils.iterators.to_iterable(callback))
    if early_stopping is not None:
        callbacks.append(early_stopping)

    result = AnnealResult(
        driver=driver,
        metadata={
            "model": type(variational_state.model).__name__,
            "n_sites": int(hamiltonian.hilbert.size),
            "n_parameters": int(variational_state.n_parameters),
            "n_samples": int(variational_state.n_samples),
            "steps_per_beta": int(steps_per_beta),
            "warmup_steps": int(warmup_steps),
            "mode": "exact_parameters" if set_exact is not None or rebuild else "trained",
            "optimizer": None if set_exact is not None or rebuild else repr(optimizer),
            "preconditioner": None if preconditioner is None else type(preconditioner).__name__,
            **(metadata or {}),
        },
    )
    for k, beta in enumerate(betas):
        start = time.perf_counter()
        driver.beta = beta
        steps = 0
        sampled = variational_state
        if set_exact is not None:
            set_exact(beta)
        elif rebuild:
            sampled = _rebuilt_state(variational_state, beta, k)
        else:
            n_iter = int(steps_per_beta) + (int(warmup_steps) if k == 0 else 0)
            if n_iter > 0:
                first = driver.step_count
                driver.run(n_iter, out=out, callback=callbacks, show_progress=show_progress)
                steps = driver.step_count - first
        est = estimate(sampled, hamiltonian, beta, n_samples=n_final_samples, overlaps=overlaps)
        jax.block_until_ready(variational_state.parameters)
        wall = time.perf_counter() - start
        th = est.thermo
        f_exact = None if exact is None else float(exact(beta))
        record = AnnealRecord(
            beta=beta,
            free_energy=float(np.real(th.free_energy.mean)),
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
            exact_free_energy=f_exact,
            relative_error=None if f_exact is None else relative_error(float(np.real(th.free_energy.mean)), f_exact),
            extra={} if est.overlaps is None else {"overlaps": est.overlaps.as_dict()},
        )
        result.records.append(record)
        if on_record is not None:
            on_record(record)
    return result


def _exact_setter(vstate, exact_parameters) -> Callable[[float], None] | None:
    """``beta -> None`` that writes exact variables into ``vstate``, or ``None`` to train."""
    if exact_parameters is None or exact_parameters is False or exact_parameters == "rebuild":
        return None
    if exact_parameters is True:
        model = _model_with_beta(vstate)
        x0 = jnp.ones((1, vstate.hilbert.size), dtype=jnp.float64)
        probe = jnp.asarray(vstate.hilbert.random_state(jax.random.PRNGKey(0), 16), dtype=jnp.float64)

        def variables_at(beta):
            rebuilt = model.clone(beta=beta)
            variables = {k: v for k, v in rebuilt.init(jax.random.PRNGKey(0), x0).items() if k != "cache"}
            # The state keeps its own model (with the first β in its fields): this only works
            # if the model's output depends on β through its variables alone.
            if not np.allclose(model.apply(variables, probe), rebuilt.apply(variables, probe), rtol=1e-10, atol=1e-12):
                raise ValueError(
                    f"{type(model).__name__} depends on its `beta` field beyond its variables, so "
                    "exact_parameters=True cannot set it through the state; use "
                    "exact_parameters='rebuild' (a fresh state of the model re-built at each β)"
                )
            return variables

    elif callable(exact_parameters):
        variables_at = exact_parameters
    else:
        raise TypeError(
            f"exact_parameters must be None, True, 'rebuild' or a callable beta -> variables, got {exact_parameters!r}"
        )

    def set_exact(beta):
        new = variables_at(beta)
        if not isinstance(new, dict):
            raise TypeError(
                f"exact_parameters(beta) must return a dict of variable collections, got {type(new).__name__}"
            )
        current = flax.core.unfreeze(vstate.variables)
        unknown = set(new) - set(current)
        if unknown:
            raise ValueError(
                f"exact_parameters(beta) returned collections {sorted(unknown)} that the model does not "
                f"have (it has {sorted(current)}); return e.g. {{'params': ...}} or {{'fixed': ...}}"
            )
        for name, value in new.items():
            old_struct = jax.tree.structure(current[name])
            if jax.tree.structure(value) != old_struct:
                raise ValueError(f"exact_parameters(beta)[{name!r}] does not match the model's {name!r} tree")
        current.update(new)
        vstate.variables = current

    return set_exact


def _model_with_beta(vstate):
    model = vstate.model
    if "beta" not in getattr(type(model), "__dataclass_fields__", {}):
        raise TypeError(
            f"exact parameters by re-building the model at each β need a `beta` field, but "
            f"{type(model).__name__} has none; pass a callable beta -> variables"
        )
    return model


def _rebuilt_state(vstate, beta: float, k: int) -> nk.vqs.MCState:
    """A fresh state of ``vstate.model`` re-built at ``beta``, sampled from ``vstate``'s RNG stream."""
    model = _model_with_beta(vstate).clone(beta=beta)
    return nk.vqs.MCState(
        vstate.sampler,
        model,
        n_samples=vstate.n_samples,
        chunk_size=vstate.chunk_size,
        seed=jax.random.PRNGKey(k),
        sampler_seed=jax.random.fold_in(vstate.sampler_state.key, k),
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray | jax.Array):
        return _jsonable(np.asarray(value).tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no nan/inf
    return value
