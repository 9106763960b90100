"""Saving and loading Hamiltonian instances as single ``.npz`` files."""

from __future__ import annotations

import json
import os
import zipfile
import zlib

import netket as nk
import numpy as np

from .._io import atomic_write
from .._validation import check_positive_int
from ._checks import check_pairwise
from .pairwise import PairwiseIsing

_FORMAT = "netket_arnn.PairwiseIsing/1"
_ZIP_MAGIC = b"PK"
_NPY_MAGIC = b"\x93NUMPY"


def save_instance(H: PairwiseIsing, path: str | os.PathLike) -> None:
    """Write ``H`` (couplings, fields, dtype, metadata) to one ``.npz`` file, exactly.

    Sparse operators store their edge list and weights; dense ones the full matrix. The file
    is written under a temporary name and renamed, so ``path`` never holds a partial file.
    """
    check_pairwise(H)
    arrays = {"fields": np.asarray(H.fields)}
    if H.is_sparse:
        arrays["edges"] = np.asarray(H.edges)
        arrays["edge_weights"] = np.asarray(H.edge_weights)
    else:
        arrays["couplings"] = np.asarray(H.couplings)
    header = {"format": _FORMAT, "n_sites": H.n_sites, "dtype": H.dtype.name, "metadata": H.metadata}
    atomic_write(path, lambda f: np.savez(f, header=np.array(json.dumps(header)), **arrays))


def load_instance(path: str | os.PathLike) -> PairwiseIsing:
    """Read an instance written by :func:`save_instance`.

    Raises a ``ValueError`` naming the file and the problem when it is not such an instance
    (another ``.npz``, a ``.npy``, a text file, a truncated file, a header without ``n_sites``).
    """
    with open(path, "rb") as f:
        magic = f.read(len(_NPY_MAGIC))
    if magic.startswith(_NPY_MAGIC):
        raise ValueError(f"{path} holds a single .npy array, not an instance file (an .npz written by save_instance)")
    if not magic.startswith(_ZIP_MAGIC):
        raise ValueError(
            f"{path} is not an instance file: an .npz written by save_instance is a zip archive, "
            f"but this file starts with {magic!r}"
        )
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: the file is damaged or truncated ({type(err).__name__}: {err})") from err
    with data:
        try:
            return _instance_from(data, path)
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise ValueError(f"{path}: the file is damaged or truncated ({type(err).__name__}: {err})") from err


def _instance_from(data, path) -> PairwiseIsing:
    if "header" not in data:
        raise ValueError(f"{path} is not a netket_arnn instance file (no header)")
    try:
        header = json.loads(str(data["header"]))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: the header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header must be a JSON object, got {type(header).__name__}")
    if header.get("format") != _FORMAT:
        raise ValueError(f"{path}: unknown instance format {header.get('format')!r} (expected {_FORMAT!r})")
    missing = [key for key in ("n_sites", "dtype", "metadata") if key not in header]
    if missing:
        raise ValueError(f"{path}: the header lacks {', '.join(missing)}")
    arrays = ["fields", "edges", "edge_weights"] if "edges" in data else ["fields", "couplings"]
    absent = [name for name in arrays if name not in data]
    if absent:
        raise ValueError(f"{path}: the file lacks the array(s) {', '.join(absent)}")
    try:
        n_sites = check_positive_int(header["n_sites"], "n_sites")
        hilbert = nk.hilbert.Spin(0.5, n_sites)
        kwargs = {"dtype": header["dtype"], "metadata": header["metadata"]}
        if "edges" in data:
            return PairwiseIsing(hilbert, data["edge_weights"], data["fields"], edges=data["edges"], **kwargs)
        return PairwiseIsing(hilbert, data["couplings"], data["fields"], **kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a valid instance: {err}") from err
