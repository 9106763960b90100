r"""The registry of named networks: one place where every net of the package has its name.

A :class:`Net` says how to build one network for a Hamiltonian ``H`` at inverse temperature
``beta`` and how the annealing protocol treats β for it. The command line (``anneal``, ``fit``),
the examples and the benchmarks all build their models from here::

    import netket_arnn as na

    model = na.build_net("sk_1rsb", H, beta=0.1)                    # SK_1RSB, default precision
    model = na.build_net("sk_1rsb", H, beta=0.1, dtype=jnp.float64)  # float64 arithmetic too

A user's own net is one call away from the command line, by name::

    na.register_net(na.Net("my_net", "MyNet", "my network", build=my_builder))

where ``my_builder(H, beta, *, param_dtype, dtype, **options)`` returns the flax module. A
module that registers nets when imported is loaded by ``netket-arnn anneal --plugin MODULE``,
or, for an installed package, through the entry-point group ``netket_arnn.nets``.

Every builder takes the package's precision policy (:mod:`netket_arnn.models.precision`):
``param_dtype`` stores the parameters and accumulates :math:`\log q` (default float64),
``dtype`` is the network's arithmetic (default float32).

This module imports neither jax nor NetKet: listing the names (``netket-arnn --help``) is
instant; the models are imported when a net is built.

======================= ==============================================================
name                    net (the paper's label)
======================= ==============================================================
``cw_n``                CW_N, exact Curie–Weiss ARNN, set to its exact variables at every β
``cw_inf``              CW_∞, :math:`N + 2` trained parameters (Curie–Weiss only)
``1p``                  1P, one trained weight per site (Curie–Weiss only)
``1l``                  1L, one masked linear layer
``h2``                  H2ARNN, exact for any pairwise H, set to its exact variables at every β (N <= 20)
``sk_rs``               SK_RS (k = 0 replica-symmetry breaking steps)
``sk_1rsb``             SK_1RSB (k = 1)
``sk_2rsb``             SK_2RSB (k = 2)
``sk_*_sparse``         the same with units only on the frontier pairs of the coupling graph
``sk_*_learned``        the same with a trainable first layer (the couplings), for learning
                        from data: built on a blank Hamiltonian it starts from small random
                        couplings
``frontier``            the exact conditional of a sparse graph with a learned free energy
                        :math:`\Phi_i` of the frontier fields (the recommended net for lattices)
``frontier_learned``    the same with a trainable first layer
``made_dw``             MADE of depth d and width w (21, 22, 23, 32), the paper's activation
======================= ==============================================================
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._validation import check_positive_real, check_real
from .protocols import Retreat

__all__ = [
    "BETA_STAGES",
    "ENTRY_POINT_GROUP",
    "Net",
    "TRAINING_KEYS",
    "build_net",
    "get_net",
    "load_plugin",
    "net_names",
    "nets",
    "register_net",
]

#: How the annealing protocol treats β for a net: ``"train"`` (train at every β),
#: ``"exact"`` (set the model's exact variables at every β, :func:`~netket_arnn.models.exact_variables_at`),
#: ``"rebuild"`` (re-build the model at every β and estimate from a fresh state).
BETA_STAGES = ("train", "exact", "rebuild")
#: What :attr:`Net.training` may set.
TRAINING_KEYS = ("learning_rate", "retreat", "local_balance")

#: Entry-point group through which an installed package registers its nets.
ENTRY_POINT_GROUP = "netket_arnn.nets"


@dataclass(frozen=True)
class Net:
    """How to build one named network.

    Attributes:
        name: the registry key, as typed on the command line (``"sk_1rsb"``).
        label: the name in the paper and in figures (``"SK_1RSB"``).
        description: one line for listings and ``--help``.
        build: ``(H, beta, *, param_dtype, dtype, **options) -> module``; ``options`` are the
            net's own keywords (e.g. ``couplings_init_scale`` of the learned variants).
        beta_stage: how the annealing protocol treats β (one of :data:`BETA_STAGES`).
        learned_couplings: the first layer is trainable and holds the couplings, so that
            :func:`netket_arnn.data.learned_couplings` can read them after a fit.
        reads_couplings: the net is built from the Hamiltonian's couplings (False for a generic
            net such as MADE, which only takes the number of spins). A net that can learn from
            data without knowing the couplings has ``learned_couplings`` or not ``reads_couplings``.
        sample_memory: ``N -> bytes`` one sample needs in the batched pass, for nets whose
            cost grows faster than :math:`N^2`; used to pick a chunk size.
        defaults: the ``options`` this net is built with unless the caller overrides them.
        training: how the command line trains this net under the adaptive protocol unless its
            options say otherwise (keys of :data:`TRAINING_KEYS`): ``learning_rate`` replaces the
            protocol's Adam learning rate (``--lr``), ``retreat`` the factor of a
            :class:`~netket_arnn.driver.Retreat` added to it (``--retreat``), ``local_balance`` is the weight of the
            local-balance term (``--local-balance``; nets with a future free energy). Empty: the
            protocol as it is. The training guide gives the measurements behind the values set here.
    """

    name: str
    label: str
    description: str
    build: Callable = field(repr=False)
    beta_stage: str = "train"
    learned_couplings: bool = False
    reads_couplings: bool = True
    sample_memory: Callable[[int], int] | None = field(default=None, repr=False)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"a net's name must be a non-empty string without spaces, got {self.name!r}")
        if self.beta_stage not in BETA_STAGES:
            raise ValueError(f"beta_stage must be one of {', '.join(BETA_STAGES)}, got {self.beta_stage!r}")
        if not callable(self.build):
            raise TypeError(f"build of net {self.name!r} must be callable")
        unknown = set(self.training) - set(TRAINING_KEYS)
        if unknown:
            raise ValueError(
                f"training of net {self.name!r}: unknown {', '.join(sorted(unknown))} "
                f"(known: {', '.join(TRAINING_KEYS)})"
            )
        where = f"training of net {self.name!r}:"
        if "learning_rate" in self.training:
            check_positive_real(self.training["learning_rate"], f"{where} learning_rate")
        if "retreat" in self.training:
            try:
                Retreat(factor=self.training["retreat"])
            except (TypeError, ValueError) as error:
                raise type(error)(f"{where} retreat: {error}") from None
        if "local_balance" in self.training:
            weight = check_real(self.training["local_balance"], f"{where} local_balance")
            if weight < 0:
                raise ValueError(f"{where} local_balance must be >= 0, got {weight}")

    @property
    def learns_from_data(self) -> bool:
        """Whether the net can be fitted to samples without the couplings (learned first layer, or none)."""
        return self.learned_couplings or not self.reads_couplings

    @property
    def trained(self) -> bool:
        """Whether the annealing protocol trains this net (else its variables are exact)."""
        return self.beta_stage == "train"

    def __call__(self, H, beta: float, *, param_dtype=None, dtype=None, **options):
        """The module of this net for ``H`` at ``beta`` (precision defaults: the package's policy)."""
        from .models.precision import DEFAULT_DTYPE, DEFAULT_PARAM_DTYPE

        return self.build(
            H,
            beta,
            param_dtype=DEFAULT_PARAM_DTYPE if param_dtype is None else param_dtype,
            dtype=DEFAULT_DTYPE if dtype is None else dtype,
            **{**self.defaults, **options},
        )

    def chunk_size(self, n_sites: int, budget: int = 2**29) -> int | None:
        """Largest power of two of samples whose batched pass fits in ``budget`` bytes (None: no need)."""
        if self.sample_memory is None:
            return None
        per_sample = self.sample_memory(n_sites)
        chunk = 1
        while 2 * chunk * per_sample <= budget:
            chunk *= 2
        return chunk


_NETS: dict[str, Net] = {}
#: The registered nets by name (read-only; add with :func:`register_net`).
nets: Mapping[str, Net] = MappingProxyType(_NETS)
_entry_points_loaded = False


def register_net(net: Net, *, overwrite: bool = False) -> Net:
    """Add ``net`` to the registry under ``net.name``; a name already taken needs ``overwrite=True``."""
    if not isinstance(net, Net):
        raise TypeError(f"register_net takes a netket_arnn.Net, got {type(net).__name__}")
    if net.name in _NETS and not overwrite:
        raise ValueError(f"a net called {net.name!r} is already registered; pass overwrite=True to replace it")
    _NETS[net.name] = net
    return net


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        point.load()  # the module registers its nets when imported


def load_plugin(module: str) -> None:
    """Import ``module`` (a dotted name, or a ``.py`` path) so that the nets it registers are available."""
    if module.endswith(".py"):
        if not os.path.isfile(module):
            raise FileNotFoundError(f"plugin file {module} not found")
        name = "netket_arnn_plugin_" + os.path.splitext(os.path.basename(module))[0]
        spec = importlib.util.spec_from_file_location(name, module)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(f"plugin module {module!r} not found ({error})") from None


def net_names() -> list[str]:
    """The names of every registered net, the package's first, in registration order."""
    _load_entry_points()
    return list(_NETS)


def get_net(name: str) -> Net:
    """The net called ``name`` (a ``KeyError`` listing the known names otherwise)."""
    _load_entry_points()
    try:
        return _NETS[name]
    except KeyError:
        raise KeyError(f"unknown net {name!r}; known: {', '.join(_NETS)}") from None


def build_net(name: str, H, beta: float, *, param_dtype=None, dtype=None, **options):
    """The module of the net ``name`` for ``H`` at ``beta``; see :meth:`Net.__call__`."""
    return get_net(name)(H, beta, param_dtype=param_dtype, dtype=dtype, **options)


# -- the package's nets ---------------------------------------------------------------------------


def _physics(cls_name: str, **fixed):
    def build(H, beta, *, param_dtype, dtype, **options):
        from . import models

        return getattr(models, cls_name).from_hamiltonian(
            H, beta, param_dtype=param_dtype, dtype=dtype, **fixed, **options
        )

    return build


def _made(depth: int, width: int):
    def build(H, beta, *, param_dtype, dtype, **options):
        from . import models

        return models.made(H.hilbert, depth, width, param_dtype=param_dtype, dtype=dtype, **options)

    return build


def _frontier(H, beta, *, param_dtype, dtype, features=(16,), **options):
    from .models.frontier import FrontierARNN

    return FrontierARNN.from_hamiltonian(H, beta, features, param_dtype=param_dtype, dtype=dtype, **options)


def _h2_memory(n: int) -> int:
    # The batched pass holds the first-layer fields of every hidden unit: (2^N - 1) x N numbers.
    return 8 * n * 2**n


_KRSB = {0: ("sk_rs", "SK_RS"), 1: ("sk_1rsb", "SK_1RSB"), 2: ("sk_2rsb", "SK_2RSB")}

for _net in (
    Net("cw_n", "CW_N", "CW_N, exact Curie–Weiss ARNN at every β", _physics("CurieWeissARNN"), beta_stage="exact"),
    Net("cw_inf", "CW_∞", "CW_∞, N+2 trained parameters (Curie–Weiss)", _physics("CurieWeissInfARNN")),
    Net("1p", "1P", "1P, one trained weight per site (Curie–Weiss)", _physics("OneParameterARNN")),
    Net("1l", "1L", "1L, one masked linear layer", _physics("SingleLayerARNN"), learned_couplings=True),
    Net(
        "h2",
        "H2ARNN",
        "H2ARNN, exact for any pairwise H (N <= 20), its exact variables at every β",
        _physics("H2ARNN"),
        beta_stage="exact",
        sample_memory=_h2_memory,
    ),
    *(Net(name, label, f"{label} (k = {k})", _physics("SpinGlassARNN", k=k)) for k, (name, label) in _KRSB.items()),
    *(
        Net(
            f"{name}_sparse",
            f"{label} sparse",
            f"{label} (k = {k}), units on the frontier pairs of the coupling graph only",
            _physics("SpinGlassARNN", k=k, sparse=True),
        )
        for k, (name, label) in _KRSB.items()
    ),
    *(
        Net(
            f"{name}_learned",
            f"{label} learned J",
            f"{label} (k = {k}) with a trainable first layer (couplings learned)",
            _physics("SpinGlassARNN", k=k, learn_couplings=True),
            learned_couplings=True,
        )
        for k, (name, label) in _KRSB.items()
    ),
    Net(
        "frontier",
        "Frontier",
        "exact sparse conditional with a learned free energy of the frontier fields (lattices, sparse graphs)",
        _frontier,
        # EA ±J 12 x 12: relative error at β = 2 1.7e-5 against 1.1e-4 at the protocol's 1e-3 without the term;
        # the retreat undoes what the larger rate costs where the net starts nearly exact (training guide)
        training={"learning_rate": 1e-2, "retreat": 0.1, "local_balance": 0.01},
    ),
    Net(
        "frontier_learned",
        "Frontier learned J",
        "the frontier net with a trainable first layer (couplings learned)",
        _frontier,
        learned_couplings=True,
        defaults={"learn_couplings": True},
    ),
    *(
        Net(f"made_{d}{w}", f"MADE_{d}{w}", f"MADE_{d}{w}: depth {d}, width {w}N", _made(d, w), reads_couplings=False)
        for d, w in ((2, 1), (2, 2), (2, 3), (3, 2))
    ),
):
    register_net(_net)
del _net
