"""Saving and loading Hamiltonian instances as single ``.npz`` files."""

from __future__ import annotations

import json
import os

import netket as nk
import numpy as np

from .pairwise import PairwiseIsing

_FORMAT = "netket_arnn.PairwiseIsing/1"


def save_instance(H: PairwiseIsing, path: str | os.PathLike) -> None:
    """Write ``H`` (couplings, fields, dtype, metadata) to one ``.npz`` file, exactly.

    Sparse operators store their edge list and weights; dense ones the full matrix.
    """
    if not isinstance(H, PairwiseIsing):
        raise TypeError(f"save_instance expects a PairwiseIsing, got {type(H).__name__}")
    arrays = {"fields": np.asarray(H.fields)}
    if H.is_sparse:
        arrays["edges"] = np.asarray(H.edges)
        arrays["edge_weights"] = np.asarray(H.edge_weights)
    else:
        arrays["couplings"] = np.asarray(H.couplings)
    header = {"format": _FORMAT, "n_sites": H.n_sites, "dtype": H.dtype.name, "metadata": H.metadata}
    with open(path, "wb") as f:
        np.savez(f, header=np.array(json.dumps(header)), **arrays)


def load_instance(path: str | os.PathLike) -> PairwiseIsing:
    """Read an instance written by :func:`save_instance`."""
    with np.load(path, allow_pickle=False) as data:
        if "header" not in data:
            raise ValueError(f"{path} is not a netket_arnn instance file (no header)")
        header = json.loads(str(data["header"]))
        if header.get("format") != _FORMAT:
            raise ValueError(f"{path}: unknown instance format {header.get('format')!r}")
        hilbert = nk.hilbert.Spin(0.5, int(header["n_sites"]))
        kwargs = {"dtype": header["dtype"], "metadata": header["metadata"]}
        if "edges" in data:
            return PairwiseIsing(hilbert, data["edge_weights"], data["fields"], edges=data["edges"], **kwargs)
        return PairwiseIsing(hilbert, data["couplings"], data["fields"], **kwargs)
