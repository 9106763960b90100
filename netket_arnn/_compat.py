"""The few NetKet internals the package relies on, in one place.

Each name here has no public route in NetKet 3.23; ``tests/test_compat.py`` imports every one
of them, so a NetKet upgrade that moves or removes one fails that test loudly instead of
silently disabling a feature.

- ``get_forward_operator``: the dispatch function through which
  :class:`netket.callbacks.AutoChunkSize` finds the operator a driver evaluates. NetKet's own
  documentation of ``AutoChunkSize`` tells custom drivers to register with it from this
  private path.
- :func:`sample_with_log_prob`: ``MCState.sample`` has no way to return the log-probabilities
  that ``ARDirectSampler`` computes while sampling (``return_log_probabilities``), so this does
  what ``MCState.sample`` does with that flag set and stores the samples where
  ``MCState.samples`` finds them (the private ``_samples``).
- :data:`AR_DIRECT_SAMPLER_HOOKS`: the private methods of :class:`netket.sampler.ARDirectSampler`
  that :class:`netket_arnn.sampling.ARDirectSampler` overrides or calls: ``_sample_chain`` (the
  jitted pass that ``sample`` calls, overridden to draw a pass's uniforms at once and to run a
  model's planned pass), ``_init_cache`` and ``_reset`` (called as NetKet's own pass does).
"""

from __future__ import annotations

import jax
import netket as nk
from netket._src.callbacks.auto_chunk_size import get_forward_operator

__all__ = ["AR_DIRECT_SAMPLER_HOOKS", "get_forward_operator", "sample_with_log_prob"]

#: name -> the parameters (after ``self``) each private method of ``nk.sampler.ARDirectSampler``
#: has where the package's sampler overrides or calls it
AR_DIRECT_SAMPLER_HOOKS = {
    "_sample_chain": ("model", "variables", "state", "chain_length", "return_log_probabilities"),
    "_init_cache": ("model", "σ", "key"),
    "_reset": ("model", "variables", "state"),
}


def sample_with_log_prob(vstate) -> tuple[jax.Array, jax.Array]:
    """Fresh samples of an ``MCState`` with a direct sampler, and their log-probabilities.

    ``vstate.sampler`` must be an :class:`netket.sampler.ARDirectSampler` (or a subclass), the one
    sampler that returns log-probabilities. Returns ``(samples, log_q)`` with shapes ``(n_chains, chain_length, N)`` and
    ``(n_chains, chain_length)``; afterwards ``vstate.samples`` returns the same samples, as
    after ``vstate.sample()``.
    """
    sampler = vstate.sampler
    if not isinstance(sampler, nk.sampler.ARDirectSampler):
        raise TypeError(
            f"sample_with_log_prob needs a direct sampler (nk.sampler.ARDirectSampler), got {type(sampler).__name__}: "
            "only a direct sampler returns the log-probabilities of its samples"
        )
    # NetKet's ARDirectSampler._reset leaves the state (its random key) as it is, and the public
    # reset() only adds a check of the chains' `state.σ`, which a direct sampler does not have:
    # on several devices it warns that this missing σ "is not sharded". Reset only a sampler that
    # does reset something.
    if type(sampler)._reset is not nk.sampler.ARDirectSampler._reset:
        vstate.sampler_state = sampler.reset(vstate.model, vstate.variables, vstate.sampler_state)
    (samples, log_q), vstate.sampler_state = sampler.sample(
        vstate.model,
        vstate.variables,
        state=vstate.sampler_state,
        chain_length=vstate.chain_length,
        return_log_probabilities=True,
    )
    vstate._samples = samples
    return samples, log_q
