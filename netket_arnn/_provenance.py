"""Where a result came from: package versions, time, command line and precision, for every file written.

Kept free of heavy imports (versions are read from the installed metadata), so that the command
line can record its provenance before jax starts.
"""

from __future__ import annotations

import datetime
import sys
from importlib import metadata

__all__ = ["provenance"]

_PACKAGES = ("netket-arnn", "netket", "jax", "jaxlib", "flax", "optax", "numpy")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def provenance(**extra) -> dict:
    """Versions of the package and its numerical stack, UTC time, Python and the command line.

    ``extra`` (e.g. ``param_dtype="float64", dtype="float32"``) is added as given.
    """
    return {
        "versions": {name: _version(name) for name in _PACKAGES},
        "python": sys.version.split()[0],
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": list(sys.argv),
        **extra,
    }
