"""The exact-parameter modes of :func:`~netket_arnn.driver.anneal`: no training, exact variables at every β."""

from __future__ import annotations

from collections.abc import Callable

import flax
import jax
import jax.numpy as jnp
import netket as nk
import numpy as np

__all__ = ["exact_setter", "model_with_beta", "rebuilt_state"]


def exact_setter(vstate, exact_parameters) -> Callable[[float], None] | None:
    """``beta -> None`` that writes exact variables into ``vstate``, or ``None`` (train, or rebuild)."""
    if exact_parameters is None or exact_parameters is False:
        return None
    if isinstance(exact_parameters, str):
        if exact_parameters != "rebuild":
            raise ValueError(
                f"exact_parameters must be None, True, 'rebuild' or a callable beta -> variables, "
                f"got {exact_parameters!r}"
            )
        return None
    if exact_parameters is True:
        model = model_with_beta(vstate)
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
            if jax.tree.structure(value) != jax.tree.structure(current[name]):
                raise ValueError(f"exact_parameters(beta)[{name!r}] does not match the model's {name!r} tree")
        current.update(new)
        vstate.variables = current

    return set_exact


def model_with_beta(vstate):
    """The state's model, after checking it has a ``beta`` field to re-build it with."""
    model = vstate.model
    if "beta" not in getattr(type(model), "__dataclass_fields__", {}):
        raise TypeError(
            f"exact parameters by re-building the model at each β need a `beta` field, but "
            f"{type(model).__name__} has none; pass a callable beta -> variables"
        )
    return model


def rebuilt_state(vstate, beta: float, k: int) -> nk.vqs.MCState:
    """A fresh state of ``vstate.model`` re-built at ``beta``, sampled from ``vstate``'s RNG stream."""
    model = model_with_beta(vstate).clone(beta=beta)
    return nk.vqs.MCState(
        vstate.sampler,
        model,
        n_samples=vstate.n_samples,
        chunk_size=vstate.chunk_size,
        seed=jax.random.PRNGKey(k),
        sampler_seed=jax.random.fold_in(vstate.sampler_state.key, k),
    )
