"""Deprecated: the named models are the registry of :mod:`netket_arnn.registry`.

``recipes.build(name, H, beta, dtype)`` is ``netket_arnn.build_net(name, H, beta, param_dtype=dtype)``,
``recipes.get(name)`` is ``netket_arnn.get_net(name)`` and ``recipes.RECIPES`` is
``netket_arnn.registry.nets``. The names keep working, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import warnings

from . import registry

__all__ = ["build", "get"]  # and RECIPES, served with a warning by __getattr__


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"netket_arnn.recipes.{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)


def get(name: str) -> registry.Net:
    """Deprecated alias of :func:`netket_arnn.get_net`."""
    _deprecated("get", "netket_arnn.get_net")
    return registry.get_net(name)


def build(name: str, H, beta: float, dtype=None):
    """Deprecated alias of :func:`netket_arnn.build_net` (``dtype`` here was the parameter dtype)."""
    _deprecated("build", "netket_arnn.build_net")
    return registry.build_net(name, H, beta, param_dtype=dtype)


def __getattr__(name: str):
    if name == "RECIPES":
        _deprecated("RECIPES", "netket_arnn.registry.nets")
        return registry.nets
    raise AttributeError(f"module 'netket_arnn.recipes' has no attribute {name!r}")
