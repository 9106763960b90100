r"""Results of an annealing run: one record per β, a text table, strict JSON written atomically.

The JSON is strict (``json.loads`` of any standard parser reads it): a value that is not finite
is written as ``null`` and named in the record's ``"non_finite"`` map (``{"log_z": "nan"}``),
from which :meth:`AnnealRecord.from_dict` restores it. Files are written through a temporary
file in the same folder and :func:`os.replace`, so the file at the final path is always a
complete document, even if the process is killed while writing.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import jax
import numpy as np

from .._io import atomic_write

__all__ = [
    "AnnealRecord",
    "AnnealResult",
    "format_header",
    "format_row",
    "load_results",
    "optimizer_settings",
    "write_json_atomic",
]


@dataclass
class AnnealRecord:
    r"""Estimates at one β, from fresh samples after the steps at that β.

    Every quantity is per spin unless its name says otherwise (``log_z_total``) or it is a
    count or fraction (``n_samples``, ``steps``, ``ess_fraction``, ``distinct_fraction``).
    ``n_samples`` counts the fresh samples of the estimates, ``training_samples`` those the
    training drew at this β (its steps times their batch; ``None`` in files written before it).
    ``exact_free_energy`` and ``relative_error`` (:math:`|f[q] - f|/|f|`) are ``None`` when no
    exact value is known, ``exact_entropy`` too. ``log_z_total``/``log_z_total_error`` (the
    total :math:`\log Z`, as :class:`netket_arnn.exact.Thermodynamics` gives it) and
    ``ess_fraction`` (ESS/M) are the importance-weight estimate
    (:func:`netket_arnn.observables.log_z_importance`). ``observables`` holds the per-β
    observables of :class:`~netket_arnn.driver.FinalEstimates` by name, each
    ``{"mean": ..., "error": ...}`` (e.g. ``"specific_heat"``, per spin).

    ESS only measures how uneven the weights :math:`p/q` are on the states that :math:`q`
    samples: a :math:`q` that has collapsed onto a few states of low energy gives equal weights
    and ESS/M close to 1 however wrong it is. ``distinct_fraction`` (distinct samples / M) and,
    where known, the entropy against ``exact_entropy`` are the second opinion
    (see :func:`netket_arnn.driver.anneal`).
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
    log_z_total: float
    log_z_total_error: float
    ess_fraction: float
    n_samples: int
    steps: int
    wall_time: float
    distinct_fraction: float | None = None
    training_samples: int | None = None
    exact_free_energy: float | None = None
    exact_entropy: float | None = None
    relative_error: float | None = None
    observables: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def ess(self) -> float:
        """The effective sample size itself, ``ess_fraction * n_samples`` (a count)."""
        return self.ess_fraction * self.n_samples

    @property
    def log_z(self) -> float:
        """Same as :attr:`log_z_total` (the total log Z, not per spin)."""
        return self.log_z_total

    def as_dict(self) -> dict:
        """Plain values for strict JSON: non-finite floats become ``None``, named in ``non_finite``."""
        out, flags = {}, {}
        for name, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                flags[name] = repr(value)  # "nan", "inf" or "-inf"
                value = None
            out[name] = value
        out["extra"] = _jsonable(out["extra"])
        out["observables"] = _jsonable(out["observables"])
        if flags:
            out["non_finite"] = flags
        return out

    @classmethod
    def from_dict(cls, data: dict) -> AnnealRecord:
        """Inverse of :meth:`as_dict` (fields missing from older files keep their defaults)."""
        data = dict(data)
        for name, text in data.pop("non_finite", {}).items():
            data[_RENAMED.get(name, name)] = float(text)
        for old, new in _RENAMED.items():  # files written before the per-spin naming
            if old in data and new not in data:
                data[new] = data.pop(old)
        if "ess" in data and "ess_fraction" not in data:
            ess = data.pop("ess")
            data["ess_fraction"] = None if ess is None else ess / data["n_samples"]
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_RENAMED = {"log_z": "log_z_total", "log_z_error": "log_z_total_error"}

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
    ("dist/M", "{:>6}", "{:6.3f}"),
    ("steps", "{:>6}", "{:6d}"),
    ("time/s", "{:>7}", "{:7.2f}"),
)


def format_header(observables=()) -> str:
    """Column titles of :func:`format_row`, with a column for each per-β observable that names one."""
    titles = [head.format(name) for name, head, _ in _COLUMNS]
    titles += [_OBSERVABLE_HEAD.format(obs.column) for obs in observables if obs.column]
    return " ".join(titles)


_OBSERVABLE_HEAD, _OBSERVABLE_BODY = "{:>9}", "{:9.4g}"


def format_row(r: AnnealRecord, observables=()) -> str:
    """One line of the per-β table (unknown values show ``-``); ``observables`` as for :func:`format_header`."""
    values = (
        r.beta,
        r.free_energy,
        r.free_energy_error,
        r.exact_free_energy,
        r.relative_error,
        r.energy,
        r.entropy,
        r.abs_magnetization,
        r.ess_fraction,
        r.distinct_fraction,
        r.steps,
        r.wall_time,
    )
    cells = [head.format("-") if v is None else body.format(v) for (_, head, body), v in zip(_COLUMNS, values)]
    for obs in observables:
        if obs.column:
            value = r.observables.get(obs.name, {}).get("mean")
            cells.append(_OBSERVABLE_HEAD.format("-") if value is None else _OBSERVABLE_BODY.format(value))
    return " ".join(cells)


@dataclass(frozen=True)
class _StoredColumn:
    """A per-β observable known only by its name in the records (the column shows the name)."""

    name: str

    @property
    def column(self) -> str:
        from .options import PerBetaObservable

        known = {cls.name: cls.column for cls in PerBetaObservable.__subclasses__()}
        return known.get(self.name) or self.name[:9]


@dataclass
class AnnealResult:
    """The per-β records of one annealing run, with a table and JSON view.

    Attributes:
        records: one :class:`AnnealRecord` per β, in the order run.
        metadata: plain values describing the run (model, system, settings).
        driver: the :class:`~netket_arnn.VariationalFreeEnergy` that ran it (to continue
            training or save it); not part of the JSON.
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
        """One field over all β as a float array (``None`` becomes ``nan``)."""
        return np.array([np.nan if getattr(r, name) is None else getattr(r, name) for r in self.records], dtype=float)

    @property
    def betas(self) -> np.ndarray:
        return self.column("beta")

    def table(self) -> str:
        """The per-β table as text (with a column for each per-β observable the records hold)."""
        names = list(dict.fromkeys(name for r in self.records for name in r.observables))
        columns = [_StoredColumn(name) for name in names]
        return "\n".join([format_header(columns), *(format_row(r, columns) for r in self.records)])

    def as_dict(self) -> dict:
        return {"metadata": _jsonable(self.metadata), "records": [r.as_dict() for r in self.records]}

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int = 1) -> str:
        """Strict JSON text of :meth:`as_dict`; also written atomically to ``path`` if given."""
        if path is not None:
            write_json_atomic(path, self.as_dict(), indent=indent)
        return json.dumps(self.as_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict) -> AnnealResult:
        return cls(records=[AnnealRecord.from_dict(r) for r in data["records"]], metadata=dict(data["metadata"]))

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> AnnealResult:
        with open(path) as f:
            return cls.from_dict(json.load(f))


def load_results(path: str | os.PathLike) -> dict[str, AnnealResult]:
    """Read the results of one run or of the ``netket-arnn anneal`` command, as ``name -> result``.

    Accepts a file written by :meth:`AnnealResult.to_json` (one model; named by its metadata's
    ``"name"`` or ``"model"``) or the command's ``anneal.json`` (its ``"runs"``, possibly
    unfinished: the records written so far).
    """
    with open(path) as f:
        data = json.load(f)
    if "runs" in data:
        return {name: AnnealResult.from_dict(run) for name, run in data["runs"].items()}
    if "records" in data:
        result = AnnealResult.from_dict(data)
        return {str(result.metadata.get("name", result.metadata.get("model", "model"))): result}
    raise ValueError(f"{os.fspath(path)} holds neither an annealing result nor the runs of `netket-arnn anneal`")


def write_json_atomic(path: str | os.PathLike, data, *, indent: int | None = 1) -> None:
    """Write ``data`` as strict JSON to ``path`` through a temporary file and :func:`os.replace`.

    A reader never sees a partly written file at ``path``: it finds the previous complete
    version or the new one. ``data`` must already be JSON-able without NaN or infinity.
    """
    text = json.dumps(data, indent=indent, allow_nan=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def optimizer_settings(optimizer_state) -> dict:
    """What can be read of an optax optimizer as data, from a state of it: its transformations and hyperparameters.

    An optax ``GradientTransformation`` is a pair of functions and keeps its settings in
    closures; only those injected with :func:`optax.inject_hyperparams` live in its state.
    Returns ``{"transformations": [names], "hyperparams": {name: value} or None}``, the names
    read from the state's types (``ScaleByAdamState`` -> ``"adam"``). Build the optimizer with
    ``optax.inject_hyperparams`` (as :func:`~netket_arnn.driver.anneal`'s default and the
    command line do) to have its learning rate recorded; pass ``optimizer.init(params)``.
    """
    names, hyper = [], {}
    for node in _state_nodes(optimizer_state):
        name = _transformation_name(type(node).__name__)
        if name is not None:
            names.append(name)
        hp = getattr(node, "hyperparams", None)
        if isinstance(hp, dict):
            hyper.update({k: _jsonable(v) for k, v in hp.items()})
    return {"transformations": names, "hyperparams": hyper or None}


def _transformation_name(state_type: str) -> str | None:
    """``ScaleByAdamState`` -> ``"adam"``; the bookkeeping states (empty, injected hyperparameters) -> None."""
    if state_type in ("EmptyState", "InjectHyperparamsState", "InjectStatefulHyperparamsState", "MaskedState"):
        return None
    name = state_type.removesuffix("State").removeprefix("ScaleBy")
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _state_nodes(state):
    """The named-tuple nodes of an optax state (not descending into parameter dicts)."""
    if hasattr(state, "_fields"):
        yield state
        for value in state:
            yield from _state_nodes(value)
    elif isinstance(state, tuple | list):
        for value in state:
            yield from _state_nodes(value)


def _jsonable(value):
    """Plain JSON values: arrays to lists, numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray | jax.Array):
        return _jsonable(np.asarray(value).tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no nan/inf
    return value
