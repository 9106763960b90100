"""Argument types, shared options and the help layout of the sub-commands."""

from __future__ import annotations

import argparse
import math
import re

from .. import registry

#: The storage of the parameters and of log q (``--param-dtype``), and the network's arithmetic
#: (``--dtype``): the package's precision policy, the same defaults for every net.
DEFAULT_PARAM_DTYPE = "float64"
DEFAULT_DTYPE = "float32"
_DTYPES = ("float64", "float32")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (an option without one says in its help what it falls back to),
    and the description as written."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(~?)([^`]+)`")  # :func:`~netket_arnn.x.y` -> y


def plain(doc: str) -> str:
    """A docstring as help text: without the reStructuredText markup meant for the docs.

    Roles (``:func:`~a.b```, ``:math:`x```) keep their text (the last part of a ``~`` name), inline
    literals lose their backticks, and a literal block's ``::`` becomes ``:``.
    """

    text = _ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2), doc)
    text = text.replace("``", "").replace("`", "")
    return text.replace("::\n", ":\n")


def add_precision_arguments(group) -> None:
    """``--param-dtype`` and ``--dtype``: the package's precision policy, passed to every net's build."""
    group.add_argument(
        "--param-dtype",
        choices=_DTYPES,
        default=DEFAULT_PARAM_DTYPE,
        help="storage of the parameters and accumulation of log q",
    )
    group.add_argument(
        "--dtype",
        choices=_DTYPES,
        default=DEFAULT_DTYPE,
        help="the network's arithmetic (the per-sample pass). Changed meaning: --dtype used to set the "
        "parameters' dtype, which is now --param-dtype",
    )


def precision(args) -> dict:
    """``{"param_dtype": ..., "dtype": ...}`` of the command line, as names (for files)."""
    return {"param_dtype": args.param_dtype, "dtype": args.dtype}


def enable_float64_if_needed(args) -> None:
    """jax computes in float32 unless told otherwise: switch float64 on when either dtype asks for it."""
    import jax

    if "float64" in (args.param_dtype, args.dtype):
        jax.config.update("jax_enable_x64", True)


def jax_precision(args) -> dict:
    """The keywords ``param_dtype=`` and ``dtype=`` of :func:`netket_arnn.build_net`, as jax dtypes."""
    import jax.numpy as jnp

    return {"param_dtype": jnp.dtype(args.param_dtype), "dtype": jnp.dtype(args.dtype)}


def add_plugin_argument(parser) -> None:
    """``--plugin MODULE`` (repeatable): a module or ``.py`` file that registers nets."""
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module (a dotted name or a .py file) before anything else, so that the nets it "
        "registers with netket_arnn.register_net can be named (repeatable)",
    )


def load_plugins(argv: list[str]) -> list[str]:
    """Import the ``--plugin`` modules named in ``argv`` (before the parser lists the nets); their names.

    A plugin that cannot be loaded is a bad input: a ``ValueError`` naming it.
    """
    pre = argparse.ArgumentParser(add_help=False)
    add_plugin_argument(pre)
    known, _ = pre.parse_known_args(argv)
    for module in known.plugin:
        try:
            registry.load_plugin(module)
        except (ImportError, OSError) as error:
            raise ValueError(f"--plugin {module}: {error}") from None
    return known.plugin


def net_help(names) -> str:
    """``name: description`` of each net, from the registry."""
    return "; ".join(f"{name}: {registry.get_net(name).description}" for name in names)


def positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def at_least_two(text: str) -> int:
    return _int_at_least(text, 2)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def non_negative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def fraction_below_one(text: str) -> float:
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value:g}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value
