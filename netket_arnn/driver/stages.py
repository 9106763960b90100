r"""What the annealing protocol does at each β before it estimates: the per-β stage.

A stage turns "the state after the previous β" into "the state to estimate from at this β":

- :class:`Train` trains the state at β (the paper's protocol; the steps are run by
  :func:`~netket_arnn.driver.anneal`, which owns the driver, its callbacks and checkpoints);
- :class:`SetExactVariables` writes the model's exact variables at β into the state, no training:
  for models that know how β enters their variables (the ``variables_at`` hook of
  :mod:`netket_arnn.models.hooks`, e.g. CW_N), or with a callable ``beta -> variables``;
- :class:`Rebuild` estimates from a fresh state of the model re-built at β (e.g. H2ARNN, whose
  structure depends on β); the given state is not changed.

The registry's nets say which stage they need (:attr:`netket_arnn.Net.beta_stage`), so the
command line and the examples pick it by name: ``anneal(..., stage="exact")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import flax
import jax
import netket as nk

from ..models import hooks

__all__ = ["BetaStage", "SetExactVariables", "Rebuild", "Train", "as_stage"]


class BetaStage:
    """Base of the per-β stages: :meth:`check` once before the run, :meth:`state_at` at every β."""

    #: the stage's name, as the registry and the results files write it
    name: ClassVar[str] = ""
    #: whether :func:`~netket_arnn.driver.anneal` runs training steps at every β
    trains: ClassVar[bool] = False

    def check(self, vstate) -> None:
        """Raise a clear error now if this stage cannot work with ``vstate``'s model."""

    def state_at(self, vstate, beta: float, index: int):
        """The state to estimate from at ``beta`` (the ``index``-th β of the grid)."""
        return vstate


@dataclass(frozen=True)
class Train(BetaStage):
    """Train the state at every β (the steps are run by :func:`~netket_arnn.driver.anneal`)."""

    name: ClassVar[str] = "train"
    trains: ClassVar[bool] = True


@dataclass(frozen=True)
class SetExactVariables(BetaStage):
    """Write exact variables into the state at every β instead of training.

    Args:
        variables_at: ``beta -> dict of variable collections`` (e.g.
            ``{"fixed": ...}``) that replace the state's; default: the model's own
            ``variables_at`` hook (:func:`netket_arnn.models.hooks.exact_variables_at`).
    """

    variables_at: Callable[[float], dict] | None = None
    name: ClassVar[str] = "exact"

    def check(self, vstate) -> None:
        if self.variables_at is None and not isinstance(vstate.model, hooks.ExactVariables):
            raise TypeError(
                f"{type(vstate.model).__name__} does not know its exact variables at a given β (no "
                "`variables_at` method): pass SetExactVariables(variables_at=beta -> variables), or "
                "stage='rebuild' to re-build the model at each β"
            )
        if self.variables_at is not None and not callable(self.variables_at):
            raise TypeError(f"variables_at must be a callable beta -> variables, got {self.variables_at!r}")

    def state_at(self, vstate, beta: float, index: int):
        new = hooks.exact_variables_at(vstate.model, beta) if self.variables_at is None else self.variables_at(beta)
        if not isinstance(new, dict):
            raise TypeError(f"variables_at(beta) must return a dict of variable collections, got {type(new).__name__}")
        current = flax.core.unfreeze(vstate.variables)
        unknown = set(new) - set(current)
        if unknown:
            raise ValueError(
                f"variables_at(beta) returned collections {sorted(unknown)} that the model does not "
                f"have (it has {sorted(current)}); return e.g. {{'params': ...}} or {{'fixed': ...}}"
            )
        for name, value in new.items():
            current[name] = _merged(current[name], flax.core.unfreeze(value), name)
        vstate.variables = current
        return vstate


def _merged(current, new, path: str):
    """``current`` with the entries of ``new`` replaced; each must exist, with the same shape and dtype."""
    if isinstance(new, dict):
        if not isinstance(current, dict) or set(new) - set(current):
            have = sorted(current) if isinstance(current, dict) else type(current).__name__
            raise ValueError(f"variables_at(beta)[{path}] has entries {sorted(new)} the model's {path} lacks ({have})")
        return {**current, **{k: _merged(current[k], v, f"{path}/{k}") for k, v in new.items()}}
    if jax.numpy.shape(new) != jax.numpy.shape(current):
        raise ValueError(
            f"variables_at(beta)[{path}] has shape {jax.numpy.shape(new)}, the model's {jax.numpy.shape(current)}"
        )
    new, dtype = jax.numpy.asarray(new), jax.numpy.asarray(current).dtype
    if new.dtype != dtype:
        raise ValueError(f"variables_at(beta)[{path}] is {new.dtype}, the model's is {dtype}")
    return new


@dataclass(frozen=True)
class Rebuild(BetaStage):
    """Estimate at every β from a fresh state of the model re-built with that β (``model.clone(beta=β)``).

    The state's sampler, sample count and chunk size are kept; the fresh state's random streams
    derive from the state's sampler key and the β index, so a run is reproducible.
    """

    name: ClassVar[str] = "rebuild"

    def check(self, vstate) -> None:
        if "beta" not in getattr(type(vstate.model), "__dataclass_fields__", {}):
            raise TypeError(
                f"re-building the model at each β needs a `beta` field, but {type(vstate.model).__name__} "
                "has none; use SetExactVariables(variables_at=beta -> variables)"
            )

    def state_at(self, vstate, beta: float, index: int):
        return nk.vqs.MCState(
            vstate.sampler,
            vstate.model.clone(beta=beta),
            n_samples=vstate.n_samples,
            chunk_size=vstate.chunk_size,
            seed=jax.random.PRNGKey(index),
            sampler_seed=jax.random.fold_in(vstate.sampler_state.key, index),
        )


_BY_NAME = {"train": Train, "exact": SetExactVariables, "rebuild": Rebuild}


def as_stage(stage) -> BetaStage:
    """A :class:`BetaStage` from ``None`` (:class:`Train`), a name (``"train"``, ``"exact"``, ``"rebuild"``)
    or a stage itself."""
    if stage is None:
        return Train()
    if isinstance(stage, BetaStage):
        return stage
    if isinstance(stage, str) and stage in _BY_NAME:
        return _BY_NAME[stage]()
    raise TypeError(f"stage must be None, one of {', '.join(map(repr, _BY_NAME))} or a BetaStage, got {stage!r}")
