"""Checks shared by the ARNN model tests: cached sampling passes, exact q, chi-square."""

from __future__ import annotations

import jax
import jax.extend.core as jex
import jax.numpy as jnp
import numpy as np
import scipy.stats


def perturb(variables, key, scale=0.1, collections=("params", "fixed")):
    """Add N(0, scale^2) noise to every floating leaf of the given collections."""
    chosen = {name: variables[name] for name in collections if name in variables}
    leaves, tree = jax.tree.flatten(chosen)

    @jax.jit
    def noisy(leaves, key):
        keys = jax.random.split(key, max(len(leaves), 1))
        return [leaf + scale * jax.random.normal(k, leaf.shape, leaf.dtype) for leaf, k in zip(leaves, keys)]

    return {**variables, **jax.tree.unflatten(tree, noisy(leaves, key))}


def log_q(model, variables, x) -> np.ndarray:
    """log q(x) = machine_pow * log psi(x) (machine_pow = 2), evaluated under jit."""
    return np.asarray(model.machine_pow * jax.jit(model.apply)(variables, jnp.asarray(x)))


def evaluate(model, variables, x) -> dict:
    """log psi, conditionals and conditionals_log_psi of a batch in one jitted call."""

    @jax.jit
    def run(variables, x):
        return {
            "log_psi": model.apply(variables, x),
            "conditionals": model.apply(variables, x, method=model.conditionals),
            "conditionals_log_psi": model.apply(variables, x, method=model.conditionals_log_psi),
        }

    return {k: np.asarray(v) for k, v in run(variables, jnp.asarray(x)).items()}


def cached_sampling_pass(model, variables, n_samples: int, seed: int = 0):
    """Ancestral sampling driven by hand, exactly as ARDirectSampler does it.

    Starts from an all-zero buffer, creates the cache with ``model.init(..., method=conditional)``
    and calls ``conditional(x, i)`` with ``mutable=["cache"]`` for i = 0..N-1 (one jitted step).
    Returns the samples ``(B, N)`` and the cached conditionals ``(B, N, 2)`` that produced them.
    """
    n = model.hilbert.size
    local_states = jnp.asarray(model.hilbert.local_states, dtype=jnp.float64)
    x = jnp.zeros((n_samples, n))
    init = jax.jit(lambda key, x: model.init(key, x, 0, method=model.conditional)["cache"])
    cache = init(jax.random.key(seed), x)
    base = {k: v for k, v in variables.items() if k != "cache"}

    @jax.jit
    def step(cache, x, index, key):
        p, mutables = model.apply({**base, "cache": cache}, x, index, method=model.conditional, mutable=["cache"])
        choice = jax.random.categorical(key, jnp.log(p), axis=-1)
        return p, mutables["cache"], x.at[:, index].set(local_states[choice])

    probs = []
    key = jax.random.key(seed + 1)
    for i in range(n):  # test driver: the loop is outside the model
        key, sub = jax.random.split(key)
        p, cache, x = step(cache, x, i, sub)
        probs.append(p)
    return np.asarray(x), np.stack([np.asarray(p) for p in probs], axis=1)


def chi_square_pvalue(samples: np.ndarray, hilbert, probabilities: np.ndarray, min_expected: float = 5.0):
    """Chi-square goodness-of-fit p-value of ``samples`` against ``probabilities`` over all states.

    ``probabilities`` are ordered like ``hilbert.all_states()``. States whose expected count is
    below ``min_expected`` are pooled into one bin so the chi-square approximation holds.
    """
    index = np.asarray(hilbert.states_to_numbers(jnp.asarray(samples)))
    counts = np.bincount(index, minlength=hilbert.n_states).astype(np.float64)
    expected = probabilities * len(samples)
    small = expected < min_expected
    obs = np.append(counts[~small], counts[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    exp = exp * obs.sum() / exp.sum()  # remove round-off in sum(p) = 1
    return scipy.stats.chisquare(obs, exp).pvalue


def equations(jaxpr):
    """Every equation of ``jaxpr`` and of the jaxprs nested in it (scan, cond, pjit, custom_jvp, ...)."""
    for eqn in jaxpr.eqns:
        yield eqn
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple | list) else (value,):
                if isinstance(sub, jex.ClosedJaxpr):
                    yield from equations(sub.jaxpr)
                elif isinstance(sub, jex.Jaxpr):
                    yield from equations(sub)
