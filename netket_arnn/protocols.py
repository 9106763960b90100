r"""Training protocols: how many steps each β gets, at which learning rate, and when a β is done.

A protocol is a small immutable object that :func:`~netket_arnn.driver.anneal` (and the command
line's ``--protocol``) takes instead of hand-set step counts. At every β of the grid the steps
run in two phases:

1. **search**: the learning rate held at :attr:`AnnealProtocol.learning_rate`, for at least
   ``min_steps`` and at most ``max_steps`` steps (the first β adds ``warmup_steps`` to both). With
   a :class:`Convergence` rule the phase ends as soon as the free energy has stopped decreasing
   beyond its statistical error; without one it always runs ``max_steps``.
2. **settle**: ``settle_steps`` steps with the learning rate decayed along a half cosine from
   ``learning_rate`` to ``learning_rate * final_factor``. A stochastic optimizer at a constant
   learning rate leaves the parameters fluctuating around the optimum, which raises
   :math:`f[q]` by an amount that grows with the rate; the decay removes most of that excess
   before the estimates of the β are taken, and the next β starts again at the full rate.

Named protocols (:func:`get_protocol`):

- ``"paper"``: the protocol of arXiv:2302.08347 (THEORY §6) unchanged: Adam at 1e-3, 5000
  warm-up steps, 1020 steps at every β, no decay, no early end (with the paper's grid
  0.1, 0.15, …, 2.0 and batch 2000: 44,780 steps, 8.96e7 samples);
- ``"adaptive"``: the package's default (see :data:`ADAPTIVE` for its values and the training guide
  for the measurements that chose them): the physics start of the model and its shift from β to
  β, a convergence test per β and a settle phase, for at most a tenth of the paper's training
  samples on its grid;
- ``"settled"``: the adaptive protocol's start, shift, learning rate and budget, spent at every β
  as a short search (27 steps) and a long decay (80 steps; :data:`SETTLED`): the protocol that
  reaches the paper's published :math:`f[q]` on its SK instances beyond β ≈ 0.65, where the
  adaptive protocol's 20-step decay leaves Adam's fluctuations in :math:`f[q]`;
- ``"tracking"``: ``"settled"`` up to β = 1, and from β = 1 on (:attr:`AnnealProtocol.beyond`) three
  times its learning rate with the previous β's change carried forward, in four times the steps of
  a quarter of the batch up to β = 1.5 and twice the steps of half the batch beyond
  (:data:`TRACKING`): in the SK spin-glass phase the optimum drifts from β to β faster than the
  settled protocol follows (measured at N = 100; at N = 200 these rates diverge);
- ``"natural"``: natural-gradient steps (NetKet's ``SR`` with the dense Jacobian QGT, or the
  same update through the sample kernel, :class:`~netket_arnn.driver.SampleSpaceSR`, for nets
  with more parameters than samples) of a fixed fraction of the Newton step of the KL divergence,
  the same physics start, shift and step budget (:data:`NATURAL`): measured on the small nets
  (CW_∞, 1P), where it reaches the net's own optimum at every β.

This module imports neither jax nor NetKet (the command line names protocols before jax starts);
the callback that runs a protocol's steps is :class:`~netket_arnn.driver.BetaSteps`.

**Natural-gradient steps.** With ``preconditioner="sr"`` the optimizer is SGD on the gradient
preconditioned by NetKet's quantum geometric tensor :math:`S`, and ``learning_rate`` is the
fraction :math:`\varepsilon` of a Newton step of :math:`\mathrm{KL}(q\|p) = \beta N (f[q] - f)`
in the Fisher metric. For an ARNN NetKet's :math:`S` is the covariance of
:math:`\partial_\theta \log\psi = \tfrac12 \partial_\theta \log q`, a quarter of the Fisher matrix
:math:`F`, and the driver's gradient is that of :math:`f = F/N`, so the SGD learning rate that
gives :math:`\delta\theta = -\varepsilon F^{-1}\nabla_\theta \mathrm{KL}` is

.. math:: \eta = \varepsilon\,\beta N / 4 ,

set at every β (:meth:`AnnealProtocol.step_scale`). Near the optimum :math:`F` is the Hessian of
the KL divergence, so the steps are Newton steps in every parameter direction at once, whatever
the parameters' scales: a net whose parameters differ by a factor :math:`N` in scale (CW_∞'s
:math:`w_0` multiplies :math:`M_i = O(N)`, its :math:`w^1_i` a sign) converges at the same rate
in all of them, where Adam's per-parameter steps of the learning rate's size are too small for
one and too noisy for the other.

The learning rate is applied as a factor on the optimizer's updates
(:attr:`~netket_arnn.driver.VariationalFreeEnergy.learning_rate_factor`), so any optax
optimizer whose update is proportional to its learning rate works, and its state is the same
object across the β grid (the optimizer state carries over from one β to the next).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ._validation import check_non_negative_int, check_positive_int, check_positive_real, check_real

__all__ = [
    "ADAPTIVE",
    "NATURAL",
    "PAPER",
    "PER_BETA_FIELDS",
    "SETTLED",
    "TRACKING",
    "AnnealProtocol",
    "Convergence",
    "Retreat",
    "get_protocol",
    "protocol_names",
]


def _check_window_and_tolerance(rule) -> None:
    """The checks a windowed test's settings share (a frozen dataclass with ``window`` and ``tolerance``)."""
    window = check_positive_int(rule.window, "window")
    if window < 2:
        raise ValueError(f"window must be >= 2 (a standard deviation needs two values), got {window}")
    object.__setattr__(rule, "tolerance", check_positive_real(rule.tolerance, "tolerance"))


@dataclass(frozen=True)
class Convergence:
    r"""Has the free energy stopped decreasing? A two-window test on the per-step :math:`f[q]`.

    With :math:`\bar f_1` and :math:`\bar f_2` the means of the per-step :math:`f[q]` over the
    ``window`` steps before the last ``window`` and over the last ``window``, and :math:`s_1, s_2`
    their sample standard deviations, the β has converged when the decrease is within
    ``tolerance`` standard errors of zero:

    .. math:: \bar f_1 - \bar f_2 \le \text{tolerance}\,\sqrt{(s_1^2 + s_2^2)/w}.

    The spread of the per-step values holds both the Monte Carlo noise of each step's estimate
    and the optimizer's fluctuations, so the test needs no separate error model. A larger
    ``window`` sees slower drifts (and costs at least ``2 * window`` steps per β); a larger
    ``tolerance`` stops earlier.

    Args:
        window: steps per window (>= 2).
        tolerance: standard errors of the decrease that still count as "no decrease" (> 0).
    """

    window: int = 50
    tolerance: float = 1.0

    def __post_init__(self):
        _check_window_and_tolerance(self)

    def converged(self, values: Sequence[float]) -> bool:
        """Whether the per-step values ``values`` (oldest first) have stopped decreasing."""
        w = self.window
        if len(values) < 2 * w:
            return False
        values = np.asarray(values[-2 * w :], dtype=np.float64)
        before, last = values[:w], values[w:]
        decrease = before.mean() - last.mean()
        error = math.sqrt((before.var(ddof=1) + last.var(ddof=1)) / w)
        return bool(decrease <= self.tolerance * error)


@dataclass(frozen=True)
class Retreat:
    r"""Has training raised the free energy above where the β began? Then start the β again, slower.

    With :math:`f_0 \pm \sigma_0` the per-step :math:`f[q]` of the β's first step (its estimate and
    error of the mean) and :math:`\bar f, s` the mean and sample standard deviation of the last
    ``window`` steps of the search phase, training has made :math:`q` worse when

    .. math:: \bar f - f_0 > \text{tolerance}\,\sqrt{\sigma_0^2 + s^2/w}.

    :math:`f[q] \ge f` is what training lowers, so a rise beyond its statistical error means the
    steps are too large for this β: e.g. a net that starts a β nearly exact (a physics start at
    high temperature, or its shift from the previous β), where the gradient is mostly noise and
    Adam still moves every parameter by about the learning rate per step. The β then restarts
    from the parameters and optimizer state it began with, at ``factor`` times the learning
    rate for the rest of the β (search and settle phases), at most once per β; the steps already
    spent count against the β's budget. The next β starts at the full rate again.

    Args:
        window: steps of the search phase averaged (>= 2).
        tolerance: standard errors above :math:`f_0` that count as a rise (> 0).
        factor: the learning rate after a restart, as a fraction of the phase's (0 < factor < 1).
    """

    window: int = 20
    tolerance: float = 3.0
    factor: float = 0.1

    def __post_init__(self):
        _check_window_and_tolerance(self)
        factor = check_real(self.factor, "factor")
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {self.factor!r}")
        object.__setattr__(self, "factor", factor)

    def risen(self, start: float, start_error: float, values: Sequence[float]) -> bool:
        """Whether the last ``window`` of ``values`` (oldest first) lie significantly above ``start``."""
        w = self.window
        if len(values) < w:
            return False
        last = np.asarray(values[-w:], dtype=np.float64)
        error = math.sqrt(float(start_error) ** 2 + last.var(ddof=1) / w)
        return bool(last.mean() - float(start) > self.tolerance * error)


_OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD"}

#: The fields :attr:`AnnealProtocol.beyond` may change from a β on: those read afresh at every β.
#: (The optimizer, the preconditioner, the warm-up and the starts are the whole run's.)
PER_BETA_FIELDS = (
    "learning_rate",
    "max_steps",
    "min_steps",
    "settle_steps",
    "final_factor",
    "extrapolate_start",
    "batch_factor",
    "retreat",
)
_BETA_TOLERANCE = 1e-9  # grids are built by adding steps: β = 1.0 may arrive as 0.9999999999999999


def _describe_change(name: str, value) -> str:
    """One change of :attr:`AnnealProtocol.beyond` in words."""
    if name == "retreat":
        return "no retreat" if value is None else f"restarting a β at x{value.factor:g} if f[q] rises"
    return f"{name} {value:g}"


def _checked_beyond(protocol, beyond) -> tuple:
    """``beyond`` as a tuple of ``(β, ((name, value), ...))`` in strictly increasing β (hashable, as the
    protocol is), each change checked by building the protocol at its β; a results file's list of
    ``{"beta": β, name: value}`` is read too."""
    if isinstance(beyond, str | bytes) or not isinstance(beyond, Sequence):
        raise TypeError(f"beyond must be a sequence of (beta, {{name: value}}) pairs, got {beyond!r}")
    entries, merged = [], {}
    for entry in beyond:
        if isinstance(entry, dict):
            values = dict(entry)
            if "beta" not in values:
                raise ValueError(f"an entry of beyond given as a mapping needs a 'beta' key, got {entry!r}")
            start = values.pop("beta")
        else:
            try:
                start, values = entry
                values = dict(values)
            except (TypeError, ValueError):
                raise TypeError(f"an entry of beyond must be a (beta, {{name: value}}) pair, got {entry!r}") from None
        start = check_positive_real(start, "the β of a change in beyond")
        unknown = sorted(set(values) - set(PER_BETA_FIELDS))
        if unknown:
            raise ValueError(
                f"beyond may change only the per-β fields {', '.join(PER_BETA_FIELDS)}; got {', '.join(unknown)}"
            )
        if not values:
            raise ValueError(f"the change of beyond at β = {start:g} changes nothing")
        if isinstance(values.get("retreat"), dict):  # as a results file stores it
            values["retreat"] = Retreat(**values["retreat"])
        if entries and start <= entries[-1][0]:
            raise ValueError(f"the β of beyond must increase: {start:g} after {entries[-1][0]:g}")
        merged.update(values)
        try:  # the protocol at this β is valid, or the error says where
            protocol.replace(beyond=(), **merged)
        except (TypeError, ValueError) as error:
            raise type(error)(f"beyond, from β = {start:g}: {error}") from None
        entries.append((start, tuple(values.items())))
    return tuple(entries)


@dataclass(frozen=True)
class AnnealProtocol:
    r"""How a net is trained across the β grid (see the module doc for the two phases of a β).

    Args:
        name: the protocol's name, as results files write it.
        learning_rate: the optimizer's learning rate in the search phase (> 0); with
            ``preconditioner="sr"`` the fraction :math:`\varepsilon` of the Newton step of the KL
            divergence (the module doc).
        warmup_steps: extra steps of the search phase at the first β (>= 0).
        max_steps: most steps of the search phase at every β (>= 0).
        min_steps: fewest steps of the search phase before ``convergence`` may end it
            (default: ``max_steps`` without a convergence rule, else ``2 * window``).
        convergence: the rule that ends the search phase early, or ``None`` (fixed steps).
        settle_steps: steps of the decayed learning rate after the search phase (>= 0).
        final_factor: the learning rate at the end of the settle phase, as a fraction of
            ``learning_rate`` (0 < final_factor <= 1).
        n_samples: samples per training step the protocol was measured with (the paper: 2000),
            or ``None``; :func:`~netket_arnn.driver.anneal` uses the state's own ``n_samples``
            and records both.
        batch_factor: the samples per training step as a multiple of the state's own
            ``n_samples`` (> 0; the batch is rounded to an integer, at least 1). With a change from
            a β on (:meth:`beyond_beta`), e.g. ``batch_factor=0.25`` with four times the steps: the
            same training samples spent in more, noisier steps, which follow an optimum that
            drifts from β to β better than fewer exact ones. The final estimates keep their own
            number of samples.
        optimizer: ``"adam"`` (default) or ``"sgd"``, built by :meth:`build_optimizer`.
        ramp_steps: the learning rate rises linearly from ``learning_rate / ramp_steps`` to
            ``learning_rate`` over the first ``ramp_steps`` steps of the run (>= 0). Adam's
            first updates move every parameter by about the full learning rate whatever its
            gradient, which undoes a good start (e.g. a model's physics start); the ramp lets its
            moment estimates settle first.
        physics_start: begin the run from the model's physics start at the first β
            (:func:`netket_arnn.models.hooks.start_at`, e.g. the decoupled start of SK_kRSB),
            whatever the model's own initialisation; models without one keep their parameters.
        shift_start: at every new β, move the parameters by the change of the model's physics
            start between the two β (:func:`netket_arnn.models.hooks.shift_to_beta`; models
            without a start are carried over unchanged).
        extrapolate_start: at every new β from the third on, also move the parameters by this
            multiple :math:`c \ge 0` of what training changed at the previous β,
            :math:`\theta^{\rm start}_{k+1} = S_{k \to k+1}(\theta_k) + c\,(\theta_k -
            \theta^{\rm start}_k)` with :math:`S` the shift (or the identity): a linear
            extrapolation of the trained parameters along the grid, so that a β whose optimum
            drifts the way the last one did starts nearer to it. The first β's change (its warm-up
            from the start) is never carried. 0 (the default) turns it off.
        preconditioner: ``None`` or ``"sr"``: natural-gradient steps, with NetKet's ``SR`` and the
            dense Jacobian QGT for nets with fewer parameters than samples, else the same update
            through the sample kernel (:meth:`build_preconditioner`). Needs ``optimizer="sgd"``.
        diag_shift: the ``SR`` diagonal shift (> 0), added to :math:`S`.
        retreat: the rule that restarts a β whose training has raised :math:`f[q]` above where
            the β began, at a lower learning rate (:class:`Retreat`), or ``None``; a per-β field
            (``beyond_beta(1.0, retreat=Retreat(factor=0.1))``: from β = 1 on only).
        beyond: changes of the per-β fields (:data:`PER_BETA_FIELDS`) from a β on, as pairs
            ``(beta, {name: value})`` in increasing β (made by :meth:`beyond_beta`): at every β
            of the grid the protocol is :meth:`at` that β, the base fields with the changes of
            every pair whose β it has reached. E.g. a higher learning rate in a spin glass's
            low-temperature phase, where the optimum drifts faster with β than above it.
    """

    name: str = "custom"
    learning_rate: float = 1e-3
    warmup_steps: int = 0
    max_steps: int = 1000
    min_steps: int | None = None
    convergence: Convergence | None = None
    settle_steps: int = 0
    final_factor: float = 1.0
    n_samples: int | None = None
    batch_factor: float = 1.0
    optimizer: str = "adam"
    ramp_steps: int = 0
    physics_start: bool = False
    shift_start: bool = False
    extrapolate_start: float = 0.0
    preconditioner: str | None = None
    diag_shift: float = 1e-4
    retreat: Retreat | None = None
    beyond: tuple = ()
    #: set by __post_init__: the resolved fewest steps of the search phase
    _min: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "learning_rate", check_positive_real(self.learning_rate, "learning_rate"))
        check_non_negative_int(self.warmup_steps, "warmup_steps")
        check_non_negative_int(self.max_steps, "max_steps")
        check_non_negative_int(self.settle_steps, "settle_steps")
        check_non_negative_int(self.ramp_steps, "ramp_steps")
        if self.convergence is not None and not isinstance(self.convergence, Convergence):
            raise TypeError(f"convergence must be a Convergence or None, got {type(self.convergence).__name__}")
        if self.min_steps is None:
            low = self.max_steps if self.convergence is None else min(2 * self.convergence.window, self.max_steps)
        else:
            low = check_non_negative_int(self.min_steps, "min_steps")
            if low > self.max_steps:
                raise ValueError(f"min_steps ({low}) must be <= max_steps ({self.max_steps})")
        object.__setattr__(self, "_min", low)
        final = check_real(self.final_factor, "final_factor")
        if not 0 < final <= 1:
            raise ValueError(f"final_factor must be in (0, 1], got {self.final_factor!r}")
        object.__setattr__(self, "final_factor", final)
        if self.n_samples is not None:
            check_positive_int(self.n_samples, "n_samples")
        object.__setattr__(self, "batch_factor", check_positive_real(self.batch_factor, "batch_factor"))
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.preconditioner not in (None, "sr"):
            raise ValueError(f"preconditioner must be None or 'sr', got {self.preconditioner!r}")
        if self.preconditioner == "sr" and self.optimizer != "sgd":
            # Adam would rescale the natural-gradient direction parameter by parameter
            raise ValueError(
                f"preconditioner='sr' takes natural-gradient steps: it needs optimizer='sgd', got {self.optimizer!r}"
            )
        object.__setattr__(self, "diag_shift", check_positive_real(self.diag_shift, "diag_shift"))
        carry = check_real(self.extrapolate_start, "extrapolate_start")
        if carry < 0:
            raise ValueError(f"extrapolate_start must be >= 0, got {self.extrapolate_start!r}")
        object.__setattr__(self, "extrapolate_start", carry)
        if self.retreat is not None and not isinstance(self.retreat, Retreat):
            raise TypeError(f"retreat must be a Retreat or None, got {type(self.retreat).__name__}")
        object.__setattr__(self, "beyond", _checked_beyond(self, self.beyond))

    # -- changes along the grid ---------------------------------------------------------------
    def beyond_beta(self, beta: float, **changes) -> AnnealProtocol:
        """A copy whose per-β fields take the values ``changes`` from ``beta`` on (after the changes
        already set, at a larger β than theirs), e.g.
        ``SETTLED.beyond_beta(1.0, learning_rate=3e-3, extrapolate_start=1.0)``."""
        return self.replace(beyond=(*self.beyond, (beta, changes)))

    def at(self, beta: float) -> AnnealProtocol:
        """The protocol that trains at inverse temperature ``beta``: the base fields with the changes
        of :attr:`beyond` whose β is <= ``beta`` (and no further changes), or the protocol itself."""
        if not self.beyond:
            return self
        changes = {}
        for start, values in self.beyond:
            if start <= float(beta) + _BETA_TOLERANCE:
                changes.update(dict(values))
        return self.replace(beyond=(), **changes)

    @property
    def extrapolates(self) -> bool:
        """Whether ``extrapolate_start`` is on at some β (so the start of every β must be kept)."""
        return bool(self.extrapolate_start) or any(dict(values).get("extrapolate_start") for _, values in self.beyond)

    # -- the plan -----------------------------------------------------------------------------
    def max_steps_at(self, index: int, beta: float | None = None) -> int:
        """Most steps at the ``index``-th β (of value ``beta``, where :attr:`beyond` changes the steps):
        search (the warm-up at the first) and settle."""
        here = self if beta is None else self.at(beta)
        return here.max_steps + here.settle_steps + (self.warmup_steps if index == 0 else 0)

    def batch_at(self, beta: float, n_samples: int) -> int:
        """Samples per training step at inverse temperature ``beta`` for a state of ``n_samples``:
        ``round(n_samples * batch_factor)`` of the protocol :meth:`at` that β, at least 1."""
        return max(1, round(check_positive_int(n_samples, "n_samples") * self.at(beta).batch_factor))

    def max_total_samples(self, betas: Sequence[float] | np.ndarray, n_samples: int) -> int:
        """Most training samples of a run over the grid ``betas`` for a state of ``n_samples``: the
        steps of every β times its batch (:meth:`batch_at`)."""
        return sum(self.max_steps_at(k, float(b)) * self.batch_at(float(b), n_samples) for k, b in enumerate(betas))

    def max_total_steps(self, betas: int | Sequence[float] | np.ndarray) -> int:
        """Most steps of a run over the grid ``betas`` (or over that many β values, where no change of
        :attr:`beyond` touches the steps): the budget the protocol may spend."""
        if np.ndim(betas) == 1:
            return sum(self.max_steps_at(k, float(b)) for k, b in enumerate(betas))
        if any({"max_steps", "settle_steps"} & set(dict(values)) for _, values in self.beyond):
            raise ValueError(f"protocol {self.name!r} changes its steps from a β on: pass the β grid, not its length")
        return self.warmup_steps + check_non_negative_int(betas, "betas") * (self.max_steps + self.settle_steps)

    def ramp_factor(self, step: int) -> float:
        """The factor on :attr:`learning_rate` at step ``step`` (from 0) of the first β's search phase."""
        if step >= self.ramp_steps:
            return 1.0
        return (max(step, 0) + 1) / self.ramp_steps

    def learning_rate_factor(self, settle_step: int) -> float:
        """The factor on :attr:`learning_rate` at step ``settle_step`` of the settle phase (half cosine)."""
        if self.settle_steps == 0:
            return 1.0
        t = min(max(settle_step, 0), self.settle_steps) / self.settle_steps
        return self.final_factor + (1.0 - self.final_factor) * 0.5 * (1.0 + math.cos(math.pi * t))

    def step_scale(self, beta: float, n_sites: int) -> float:
        r"""The factor on :attr:`learning_rate` set by the protocol at inverse temperature ``beta`` for
        ``n_sites`` spins: :math:`\beta N / 4` for natural-gradient steps (the module doc), else 1."""
        if self.preconditioner == "sr":
            return float(beta) * int(n_sites) / 4.0
        return 1.0

    def build_preconditioner(self, n_parameters: int | None = None, n_samples: int | None = None):
        """The preconditioner of ``preconditioner``, or ``None``.

        For ``"sr"``: NetKet's ``SR`` with the dense Jacobian QGT, or, for a net with more
        parameters than samples per step, :class:`~netket_arnn.driver.SampleSpaceSR`, the same
        update through the ``(M, M)`` sample kernel (its cost is linear in the parameters where
        the dense QGT's is cubic).
        """
        if self.preconditioner is None:
            return None
        if self._in_sample_space(n_parameters, n_samples):
            from .driver.natural_gradient import SampleSpaceSR

            return SampleSpaceSR(self.diag_shift)
        import netket as nk  # here, so that naming a protocol (the command line's --help) does not import jax

        return nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTJacobianDense, diag_shift=self.diag_shift)

    @staticmethod
    def _in_sample_space(n_parameters: int | None, n_samples: int | None) -> bool:
        return n_parameters is not None and n_samples is not None and int(n_parameters) > int(n_samples)

    def describe(
        self, *, learning_rate: str | None = None, n_parameters: int | None = None, n_samples: int | None = None
    ) -> str:
        """The training in one line, as the command line and the gallery's figures print it, e.g.
        ``Adam 0.001, 300 warm-up + 40–87 steps/β (until f[q] stops decreasing, window 20) + 20 settle steps``.

        Args:
            learning_rate: another text for the learning rate (e.g. a schedule's).
            n_parameters, n_samples: the net's parameters and samples per step; with both, a
                natural-gradient protocol names the form of SR :meth:`build_preconditioner`
                builds for that net.
        """
        rate = learning_rate or f"{self.learning_rate:g}"
        if self.preconditioner == "sr":
            form = ""
            if n_parameters is not None and n_samples is not None:
                form = " in sample space" if self._in_sample_space(n_parameters, n_samples) else " (dense QGT)"
            text = f"SR{form}, diagonal shift {self.diag_shift:g}, at {rate} of the Newton step"
        else:
            text = f"{_OPTIMIZER_NAMES[self.optimizer]} {rate}"
        low = self._min
        steps = f"{low}–{self.max_steps}" if low != self.max_steps else f"{self.max_steps}"
        text += f", {self.warmup_steps} warm-up + {steps} steps/β"
        if self.convergence is not None:
            text += f" (until f[q] stops decreasing, window {self.convergence.window})"
        if self.settle_steps:
            text += f" + {self.settle_steps} settle steps"
        if self.ramp_steps:
            text += f", {self.ramp_steps}-step ramp"
        if self.extrapolate_start:
            text += f", x{self.extrapolate_start:g} the last β's change carried forward"
        if self.batch_factor != 1:
            text += f", x{self.batch_factor:g} the batch"
        if self.retreat is not None:
            text += ", " + _describe_change("retreat", self.retreat)
        for start, values in self.beyond:
            text += f"; from β = {start:g}: " + ", ".join(_describe_change(name, value) for name, value in values)
        return text

    def build_optimizer(self):
        """The optax optimizer at :attr:`learning_rate` (its hyper-parameters kept in its state, so results
        record them)."""
        import optax  # here, so that naming a protocol (the command line's --help) does not import jax

        factory = {"adam": optax.adam, "sgd": optax.sgd}[self.optimizer]
        return optax.inject_hyperparams(factory)(learning_rate=self.learning_rate)

    def steps_callback(self, index: int, beta: float | None = None):
        """The :class:`~netket_arnn.driver.BetaSteps` callback that runs the two phases at the ``index``-th β
        (of value ``beta``, where :attr:`beyond` changes the fields; a fresh one per β)."""
        from .driver.callbacks import BetaSteps

        here = self if beta is None else self.at(beta)
        extra = self.warmup_steps if index == 0 else 0
        # the optimizer is built once at the base rate: a β's own rate is a factor on its updates
        rate = here.learning_rate / self.learning_rate
        return BetaSteps(here, here._min + extra, here.max_steps + extra, ramp=index == 0, rate=rate)

    def settings(self) -> dict:
        """The protocol as plain values (results files, checkpoint signatures); ``retreat`` only where
        it is set, so that runs stored before it existed resume."""
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        d["min_steps"] = self._min
        if d["retreat"] is None:
            del d["retreat"]
        if not d["extrapolate_start"]:
            del d["extrapolate_start"]
        if d["batch_factor"] == 1:
            del d["batch_factor"]
        if self.beyond:
            d["beyond"] = [
                {"beta": start, **{k: asdict(v) if isinstance(v, Retreat) else v for k, v in values}}
                for start, values in self.beyond
            ]
        else:
            del d["beyond"]
        return d

    def replace(self, **changes) -> AnnealProtocol:
        """A copy with some fields changed (e.g. ``PAPER.replace(max_steps=102)``)."""
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        if isinstance(d.get("convergence"), dict):
            d["convergence"] = self.convergence
        if isinstance(d.get("retreat"), dict):
            d["retreat"] = self.retreat
        d["beyond"] = self.beyond
        d.update(changes)
        return AnnealProtocol(**d)


#: The protocol of arXiv:2302.08347 (THEORY §6), unchanged.
PAPER = AnnealProtocol(name="paper", learning_rate=1e-3, warmup_steps=5000, max_steps=1020, n_samples=2000)

#: The package's default protocol (the training guide gives the measurements that chose it): the
#: paper's learning rate, a tenth of its steps on its grid (300 + 39 × (87 + 20) = 4,473 at most),
#: spent where the convergence test says they are needed, the physics start and its shift.
ADAPTIVE = AnnealProtocol(
    name="adaptive",
    learning_rate=1e-3,
    warmup_steps=300,
    max_steps=87,
    convergence=Convergence(window=20, tolerance=1.0),
    settle_steps=20,
    final_factor=0.05,
    n_samples=2000,
    physics_start=True,
    shift_start=True,
)

#: Natural-gradient steps: SR with SGD at a tenth of the Newton step of the KL divergence (in sample
#: space for nets with more parameters than samples), the physics start and its shift, 87 + 20 steps
#: at every β: the same budget as :data:`ADAPTIVE` (4,473 steps on the paper's grid), spent at every
#: β. The training guide gives what it reaches on CW_∞, 1P, SK_1RSB and FrontierARNN.
NATURAL = ADAPTIVE.replace(
    name="natural",
    learning_rate=0.1,
    convergence=None,
    optimizer="sgd",
    preconditioner="sr",
    diag_shift=1e-4,
)

#: The paper's learning rate with a short search and a long decay at every β: 27 steps at the full
#: rate, then 80 steps along a half cosine to 1/20 of it (300 + 39 × 107 = 4,473 steps on the
#: paper's grid, as :data:`ADAPTIVE` at most), the physics start and its shift. On the SK nets
#: Adam's fluctuations at a held rate, not a lack of steps, keep :math:`f[q]` above the paper's from
#: β ≈ 0.7 on: the long decay removes them (the training guide's time to solution).
SETTLED = ADAPTIVE.replace(name="settled", max_steps=27, convergence=None, settle_steps=80)

#: :data:`SETTLED` up to β = 1, and from β = 1 on (the SK model's spin-glass phase, :math:`T_c = J`)
#: three times its learning rate, the previous β's trained change carried forward
#: (``extrapolate_start=1``) and the same samples in more, smaller steps: four times the steps of
#: a quarter of the batch from β = 1 (108 + 320 steps of ``batch_factor=0.25``), twice the steps of
#: half the batch from β = 1.5 (54 + 160 of ``batch_factor=0.5``). There the optimum drifts from β
#: to β faster than Adam at 1e-3 follows within 107 steps, and the extrapolated start and the extra
#: steps keep nearer to it; a quarter of the batch beyond β = 1.5 lets Adam's noise back in. The
#: same training samples as :data:`SETTLED` (4,473 steps of the full batch on the paper's grid);
#: the training guide gives the measurements. Chosen at N = 100: at N = 200 its rates from β = 1
#: make :math:`f[q]` diverge within 20 steps (train N = 200 with :data:`SETTLED`).
TRACKING = (
    SETTLED.replace(name="tracking")
    .beyond_beta(1.0, learning_rate=3e-3, extrapolate_start=1.0, batch_factor=0.25, max_steps=108, settle_steps=320)
    .beyond_beta(1.5, batch_factor=0.5, max_steps=54, settle_steps=160)
)

_PROTOCOLS = {p.name: p for p in (PAPER, ADAPTIVE, NATURAL, SETTLED, TRACKING)}


def protocol_names() -> list[str]:
    """Names of the built-in protocols."""
    return list(_PROTOCOLS)


def get_protocol(protocol: AnnealProtocol | str) -> AnnealProtocol:
    """The protocol named ``protocol`` (``"paper"``, ``"adaptive"``, ``"natural"``, ``"settled"``,
    ``"tracking"``), or the protocol itself."""
    if isinstance(protocol, AnnealProtocol):
        return protocol
    if isinstance(protocol, str) and protocol in _PROTOCOLS:
        return _PROTOCOLS[protocol]
    raise ValueError(f"unknown protocol {protocol!r}: choose one of {', '.join(_PROTOCOLS)} or pass an AnnealProtocol")
