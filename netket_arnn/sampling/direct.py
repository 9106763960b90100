r"""NetKet's autoregressive direct sampler, with the random numbers of a whole pass drawn at once.

:class:`netket.sampler.ARDirectSampler` samples :math:`x_i \sim q(x_i \mid x_{<i})` site after site
and draws the random numbers of every site inside its loop: a key split and a uniform draw per
site, each a small Threefry computation whose fixed cost dominates a cheap model's step (for CW_N
at N = 800 it was about 60% of the sampling time on a CPU).

:class:`ARDirectSampler` here is the same sampler (a subclass: same state, same
``return_log_probabilities``, same ``reorder`` and cache protocol, accepted wherever NetKet's is)
that draws one ``(N, B)`` block of uniforms per pass and picks each site's value by the inverse
of its cumulative distribution, :math:`x_i = s_k` with :math:`k = \#\{j < K-1 : \sum_{j' \le j}
q(s_{j'}) < u_i\}`. The samples are exact and independent, as with NetKet's sampler (only the
stream of random numbers differs, so the same seed gives other samples).

A model may plan the whole pass itself: if it has a ``direct_sample(uniforms)`` method
(``(N, B)`` uniforms in site order -> ``(B, N)`` values and ``(B,)`` log-probabilities, e.g.
:meth:`netket_arnn.models.CurieWeissARNN.direct_sample`), the sampler calls it once instead of
``conditional`` at every site; given the same uniforms it must return the same samples.
"""

from __future__ import annotations

from functools import partial

import flax
import jax
import jax.numpy as jnp
import netket as nk
from jax.sharding import NamedSharding, PartitionSpec
from netket.utils import wrap_afun

from ..models.hooks import direct_sampler_of

__all__ = ["ARDirectSampler"]


class ARDirectSampler(nk.sampler.ARDirectSampler):
    """:class:`netket.sampler.ARDirectSampler` drawing the uniforms of a pass in one call (module doc).

    Args:
        hilbert: the Hilbert space to sample.
        dtype: dtype of the samples (default: NetKet's, ``float64``; ``jnp.int8`` saves memory).
    """

    def reset(self, machine, parameters, state=None):
        """The state to sample from after a change of parameters: the same random key.

        A direct sampler keeps no chains, so there is no ``σ`` to reset or to shard: NetKet's
        :meth:`netket.sampler.Sampler.reset` looks for ``state.σ`` on every sampler and, on several
        devices, warns that the ``None`` it finds "is not sharded across devices". The samples
        themselves are sharded by :meth:`_sample_chain`, whose output the drivers use.
        """
        if state is None:
            state = self.init_state(machine, parameters)
        return self._reset(wrap_afun(machine), parameters, state)

    @partial(jax.jit, static_argnames=("model", "chain_length", "return_log_probabilities"))
    def _sample_chain(self, model, variables, state, chain_length, return_log_probabilities: bool = False):
        if "cache" in variables:
            variables, _ = flax.core.pop(variables, "cache")
        n, batch = self.hilbert.size, self.n_batches * chain_length
        new_key, key_init, key_uniform = jax.random.split(state.key, 3)

        σ = jnp.zeros((batch, n), dtype=self.dtype)
        uniforms = jax.random.uniform(key_uniform, (n, batch))  # row t: the site sampled at step t
        if nk.config.netket_sharding:
            mesh = jax.sharding.get_abstract_mesh()
            σ = jax.lax.with_sharding_constraint(σ, NamedSharding(mesh, PartitionSpec("S")))
            uniforms = jax.lax.with_sharding_constraint(uniforms, NamedSharding(mesh, PartitionSpec(None, "S")))
        planned = direct_sampler_of(model)
        if planned is not None:  # the model's own planned pass
            values, log_prob = planned(variables, uniforms)
            σ = values.astype(self.dtype).reshape((self.n_batches, chain_length, n))
            new_state = state.replace(key=new_key)
            if return_log_probabilities:
                return (σ, log_prob.reshape((self.n_batches, chain_length))), new_state
            return σ, new_state

        cache = self._init_cache(model, σ, key_init)
        indices = model.apply(variables, jnp.arange(n), method=model.reorder)
        local_states = jnp.asarray(self.hilbert.local_states, dtype=self.dtype)

        def step(carry, inputs):
            σ, cache, log_prob = carry
            index, u = inputs
            full = {**variables, "cache": cache} if cache else variables
            p, mutables = model.apply(full, σ, index, method=model.conditional, mutable=["cache"])
            cache = mutables.get("cache")
            below = jnp.cumsum(p[:, :-1], axis=-1) < u[:, None].astype(p.dtype)
            choice = jnp.sum(below, axis=-1)  # the inverse of the cumulative distribution
            σ = σ.at[:, index].set(local_states[choice])
            if return_log_probabilities:
                step_log_p = jnp.log(jnp.take_along_axis(p, choice[:, None], axis=-1)[:, 0])
                log_prob = log_prob + step_log_p.astype(log_prob.dtype)
            return (σ, cache, log_prob), None

        # log q is accumulated in the model's param_dtype (the precision policy), float64 for a model without one
        log_prob = jnp.zeros((batch,), getattr(model, "param_dtype", jnp.float64)) if return_log_probabilities else None
        (σ, _, log_prob), _ = jax.lax.scan(step, (σ, cache, log_prob), (indices, uniforms))
        σ = σ.reshape((self.n_batches, chain_length, n))
        new_state = state.replace(key=new_key)
        if return_log_probabilities:
            return (σ, log_prob.reshape((self.n_batches, chain_length))), new_state
        return σ, new_state
