r"""Exact autoregressive conditionals of a square-lattice Ising system, in the sites' own order.

The transfer matrix of :mod:`~netket_arnn.exact.transfer_matrix` run backwards: for an
:math:`L \times W` lattice in raster order (site ``t = i W + j``) the spins after site
:math:`t` couple to the sampled ones only through the last :math:`W` sampled,
:math:`s^{(t)} = (x_{t-W+1}, \dots, x_t)`. Their partition function given that window,

.. math::

    B_t(s^{(t)}) = \sum_{x_{>t}} \exp\Bigl(\beta \sum_{l > t} x_l \bigl(h_l
                   + \textstyle\sum_{m<l} J_{lm} x_m\bigr)\Bigr),
    \qquad B_{N-1} = 1,

    B_t(s^{(t)}) = \sum_{x_{t+1} = \pm 1} e^{\beta x_{t+1} \phi_{t+1}(s^{(t)})}\, B_{t+1}(s^{(t+1)}),

with :math:`\phi_{t}` the field on site :math:`t` from its earlier neighbours (left, up, and the
row's first spin on the last column of a row periodic along :math:`W`) and its own field, is a
table of :math:`2^W` numbers per site, built in one backward sweep in log space:
:math:`O(N 2^W)` time and memory. The exact conditional (THEORY §1) is then

.. math::

    u_t(x_{<t}) = \log\frac{p(x_t = +1 \mid x_{<t})}{p(x_t = -1 \mid x_{<t})}
                = 2\beta\phi_t(x_{<t}) + \log B_t(\ldots, x_{t-1}, +1) - \log B_t(\ldots, x_{t-1}, -1),

and :math:`\log Z = \log \sum_{x_0} e^{\beta h_0 x_0} B_0(x_0)`. This is the distribution any
ARNN of the sites' order tries to represent: it samples :math:`p` exactly and independently (a
ground truth for samplers and overlap distributions), and it splits the
Kullback–Leibler divergence of a model :math:`q` into the sites' contributions,

.. math::

    \mathrm{KL}(q \,\|\, p) = \sum_t \mathbb{E}_{x \sim q}\, \mathrm{KL}\bigl(q_t(\cdot \mid x_{<t})
    \,\|\, p_t(\cdot \mid x_{<t})\bigr),

a Rao–Blackwellised estimate (each term a sum over :math:`x_t`) of the excess
:math:`\beta N (f[q] - f)`.

The lattice must be open along :math:`L` (a bond from the last row to the first is outside the
window); periodic along :math:`W` is free. The sites' order is fixed (it is the models'
autoregressive order), so the lattice is not transposed to the cheaper direction as
:func:`~netket_arnn.exact.by_transfer_matrix` does: the width is the number of columns.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from .._validation import check_beta, check_positive_int, check_seed, check_spin_configurations
from ..operators import PairwiseIsing
from ..operators._checks import check_pairwise
from .lattice import SquareLattice, lattice_couplings, lattices_of

__all__ = ["MAX_CONDITIONAL_TABLE_BYTES", "LatticeConditionals", "lattice_conditionals"]

MAX_CONDITIONAL_TABLE_BYTES = 2**31
r"""Largest memory (bytes) of the :math:`N \times 2^W` tables :math:`\log B_t` (float64) accepted."""


class LatticeConditionals:
    r"""The exact conditionals :math:`p(x_t \mid x_{<t})` of ``H`` at ``beta`` on a lattice (see the module doc).

    Build it with :func:`lattice_conditionals`. Attributes: ``lattice`` (the
    :class:`~netket_arnn.exact.SquareLattice`), ``beta``, ``log_z``; arrays of spins are ``(B, N)``
    with values :math:`\pm 1`.
    """

    def __init__(self, H: PairwiseIsing, beta: float, lattice: SquareLattice):
        beta = check_beta(beta)
        check_pairwise(H)
        _check_lattice(H, lattice)
        self.beta = beta
        self.lattice = lattice
        self.n_sites = H.n_sites
        W = lattice.W
        right, down, fields = lattice_couplings(H, lattice)
        n = self.n_sites
        # earlier neighbours of each site as (position in the window of the previous site, coupling);
        # position k holds site t - W + k for the window s^(t-1) = (x_{t-W}, ..., x_{t-1})
        self._fields = fields.reshape(n)
        self._earlier: list[list[tuple[int, float]]] = []
        for t in range(n):
            i, j = divmod(t, W)
            pairs = []
            if j >= 1 and right[i, j - 1] != 0:
                pairs.append((W - 1, right[i, j - 1]))  # left: x_{t-1}
            if i >= 1 and down[i - 1, j] != 0:
                pairs.append((0, down[i - 1, j]))  # up: x_{t-W}
            if j == W - 1 and W >= 3 and right[i, W - 1] != 0:
                pairs.append((1, right[i, W - 1]))  # the row's first spin x_{t-W+1} (periodic along W)
            self._earlier.append(pairs)
        self._log_b = self._backward()
        u0 = beta * self._fields[0]
        self.log_z = float(np.logaddexp(u0 + self._log_b[0][0], -u0 + self._log_b[0][1]))

    # -- the window -----------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """:math:`W`, the number of spins in the window (each table has :math:`2^W` entries)."""
        return self.lattice.W

    def _window_spin(self, index: np.ndarray, position: int) -> np.ndarray:
        """Spin (+1 for bit 0) at ``position`` (0 = oldest) of window states ``index``."""
        return 1.0 - 2.0 * ((index >> (self.width - 1 - position)) & 1)

    def _field(self, t: int, previous: np.ndarray) -> np.ndarray:
        r""":math:`\phi_t` for windows ``previous`` of site :math:`t - 1` (any shape of ints)."""
        phi = np.full(previous.shape, self._fields[t])
        for position, coupling in self._earlier[t]:
            phi = phi + coupling * self._window_spin(previous, position)
        return phi

    def _backward(self) -> list[np.ndarray]:
        r""":math:`\log B_t` for every site, each ``(2^W,)`` over the window :math:`s^{(t)}`."""
        n, W, beta = self.n_sites, self.width, self.beta
        log_b = [None] * n
        current = np.zeros(2**W)
        log_b[n - 1] = current
        states = np.arange(2**W)
        for t in range(n - 2, -1, -1):
            # window s^(t) = (oldest, rest): s^(t+1) = (rest, x_{t+1})
            following = current.reshape(2 ** (W - 1), 2)[states & (2 ** (W - 1) - 1)]  # (2^W, 2): x = +1, -1
            phi = beta * self._field(t + 1, states)
            current = np.logaddexp(phi + following[:, 0], -phi + following[:, 1])
            log_b[t] = current
        return log_b

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """``(B, N)`` window state of the sites before each site (the state of site ``t - 1``)."""
        bits = (x < 0).astype(np.int64)
        mask = 2**self.width - 1
        previous = np.zeros(x.shape, dtype=np.int64)
        state = np.zeros(x.shape[0], dtype=np.int64)
        for t in range(self.n_sites):
            previous[:, t] = state
            state = ((state << 1) & mask) | bits[:, t]
        return previous

    def _site_logit(self, t: int, previous: np.ndarray) -> np.ndarray:
        base = (previous << 1) & (2**self.width - 1)
        table = self._log_b[t]
        return 2.0 * self.beta * self._field(t, previous) + table[base] - table[base | 1]

    # -- public ---------------------------------------------------------------------------------
    def _spins(self, x) -> np.ndarray:
        x = np.asarray(check_spin_configurations(x, self.n_sites), dtype=np.float64)
        return x.reshape(-1, self.n_sites)

    def logits(self, x) -> np.ndarray:
        r"""``(B, N)`` exact :math:`u_t(x_{<t})` of the configurations ``x`` ``(B, N)``."""
        x = self._spins(x)
        previous = self._windows(x)
        return np.stack([self._site_logit(t, previous[:, t]) for t in range(self.n_sites)], axis=1)

    def log_prob(self, x) -> np.ndarray:
        r"""``(B,)`` :math:`\log p(x) = \sum_t \log\sigma(x_t u_t)`, equal to :math:`-\beta H(x) - \log Z`."""
        x = self._spins(x)
        return np.sum(log_expit(x * self.logits(x)), axis=1)

    def sample(self, n_samples: int, seed: int) -> np.ndarray:
        """``(n_samples, N)`` independent exact samples of :math:`p` (float64 spins ±1), site by site."""
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = np.random.default_rng(check_seed(seed))
        mask = 2**self.width - 1
        x = np.empty((n_samples, self.n_sites))
        state = np.zeros(n_samples, dtype=np.int64)
        for t in range(self.n_sites):
            u = self._site_logit(t, state)
            minus = rng.random(n_samples) >= expit(u)
            x[:, t] = np.where(minus, -1.0, 1.0)
            state = ((state << 1) & mask) | minus
        return x

    def kl_per_site(self, x, model_logits) -> np.ndarray:
        r"""``(N,)`` :math:`\mathbb E_x\,\mathrm{KL}(q_t \| p_t)` over samples ``x`` ``(B, N)`` of a model :math:`q`.

        ``model_logits`` ``(B, N)`` are the model's :math:`\log q(x_t{=}{+1}|x_{<t}) - \log q(x_t{=}{-1}|x_{<t})`
        at ``x`` (e.g. ``model.apply(variables, x, method=model.logits)``). With ``x`` drawn from
        :math:`q` the sum is an estimate of :math:`\mathrm{KL}(q\|p) = \beta N (f[q] - f)`.
        """
        x = self._spins(x)
        uq = np.asarray(model_logits, dtype=np.float64)
        if uq.shape != x.shape:
            raise ValueError(f"model_logits must have the shape of x, {x.shape}, got {uq.shape}")
        if not np.all(np.isfinite(uq)):
            raise ValueError("model_logits must be finite")
        up = self.logits(x)
        lq_p, lq_m, lp_p, lp_m = log_expit(uq), log_expit(-uq), log_expit(up), log_expit(-up)
        kl = np.exp(lq_p) * (lq_p - lp_p) + np.exp(lq_m) * (lq_m - lp_m)
        return kl.mean(axis=0)


def lattice_conditionals(H: PairwiseIsing, beta: float, *, lattice: SquareLattice | None = None) -> LatticeConditionals:
    r"""The exact conditionals of ``H`` at ``beta`` in the order of its sites (a :class:`LatticeConditionals`).

    Args:
        H: a :class:`~netket_arnn.PairwiseIsing` whose nonzero couplings are nearest-neighbour bonds
            of an :math:`L \times W` lattice in raster order (site ``i * W + j``), open along
            :math:`L`; any couplings and fields.
        beta: inverse temperature, > 0.
        lattice: the :class:`~netket_arnn.exact.SquareLattice`; default the one open along
            :math:`L` with the fewest columns among those that hold the couplings.

    Cost: :math:`O(N 2^W)` time and float64 memory (:data:`MAX_CONDITIONAL_TABLE_BYTES` at most),
    e.g. 12 × 12: 0.6 M numbers, 0.1 s; 16 × 16: 17 M, 0.7 s (2 CPU cores). Sampling and the
    logits cost :math:`O(N)` table look-ups per configuration.
    """
    if lattice is None:
        check_pairwise(H)  # before reading its couplings; the constructor checks the rest
        fitting = lattices_of(H)
        candidates = [lat for lat in fitting if not lat.periodic_L]
        if not candidates:
            why = (
                f"this Hamiltonian is periodic along L on every lattice that fits it "
                f"({', '.join(f'{lat.L} x {lat.W}' for lat in fitting)})"
                if fitting
                else "the couplings of this Hamiltonian are not nearest-neighbour bonds of any square lattice"
            )
            raise ValueError(
                "exact conditionals need the couplings on a square lattice in raster order, open along its "
                f"rows' direction L (a bond from the last row to the first is outside the window of W spins); {why}"
            )
        lattice = min(candidates, key=lambda lat: lat.W)
    return LatticeConditionals(H, beta, lattice)


def _check_lattice(H: PairwiseIsing, lattice: SquareLattice) -> None:
    if lattice.periodic_L:
        raise ValueError(
            f"exact conditionals need a lattice open along L (a bond from the last row to the first is "
            f"outside the window of W spins); got {lattice}"
        )
    table_bytes = 8 * H.n_sites * 2**lattice.W
    if table_bytes > MAX_CONDITIONAL_TABLE_BYTES:
        raise ValueError(
            f"the conditionals of a {lattice.L} x {lattice.W} lattice need N 2^W = {H.n_sites} x 2^{lattice.W} "
            f"float64 numbers ({table_bytes / 2**30:.1f} GiB), above MAX_CONDITIONAL_TABLE_BYTES = "
            f"{MAX_CONDITIONAL_TABLE_BYTES / 2**30:.0f} GiB"
        )
