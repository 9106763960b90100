"""A test-only ARNN whose distribution is an exact table: q(x) = p(x) for a given p."""

from __future__ import annotations

import jax.numpy as jnp
import netket as nk
import numpy as np
from jax.nn.initializers import zeros
from netket.utils import HashableArray
from scipy.special import logsumexp


class TabulatedARNN(nk.models.AbstractARNN):
    """Autoregressive factorisation of a tabulated distribution over ``hilbert.all_states()``.

    ``log_p[k]`` is the log-probability of ``hilbert.all_states()[k]``. The conditionals
    are ratios of prefix marginals, ``q(x_i | x_<i) = m_{i+1}(x_<=i) / m_i(x_<i)``, so
    ``q = p`` exactly. One unused scalar parameter keeps ``MCState`` happy.
    """

    log_p: HashableArray
    machine_pow: int = 2

    def setup(self):
        self.unused = self.param("unused", zeros, (), jnp.float64)

    def _marginals(self):
        n = self.hilbert.size
        log_p = np.asarray(self.log_p, dtype=np.float64)
        return [jnp.asarray(logsumexp(log_p.reshape(2**k, 2 ** (n - k)), axis=1)) for k in range(n + 1)]

    def conditionals_log_psi(self, inputs):
        n = self.hilbert.size
        idx = self.hilbert.states_to_local_indices(inputs).astype(jnp.int32)  # 0 <-> +1 (local_states order)
        marg = self._marginals()
        out = []
        prefix = jnp.zeros(idx.shape[0], dtype=jnp.int32)
        for i in range(n):
            both = jnp.stack([marg[i + 1][2 * prefix], marg[i + 1][2 * prefix + 1]], axis=-1)
            out.append(both - marg[i][prefix][:, None])
            prefix = 2 * prefix + idx[:, i]
        return 0.5 * jnp.stack(out, axis=1) + 0.0 * self.unused
