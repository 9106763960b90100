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
"""

from __future__ import annotations

import jax
from netket._src.callbacks.auto_chunk_size import get_forward_operator

__all__ = ["get_forward_operator", "sample_with_log_prob"]


def sample_with_log_prob(vstate) -> tuple[jax.Array, jax.Array]:
    """Fresh samples of an ``MCState`` with a direct sampler, and their log-probabilities.

    Returns ``(samples, log_q)`` with shapes ``(n_chains, chain_length, N)`` and
    ``(n_chains, chain_length)``; afterwards ``vstate.samples`` returns the same samples, as
    after ``vstate.sample()``.
    """
    sampler = vstate.sampler
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
