import csv
import hashlib
from pathlib import Path

import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

import netket_arnn as na

DATA = Path(__file__).parents[1] / "data"


def published_checksums():
    with open(DATA / "sk_instance_checksums.csv") as f:
        return {(int(r["N"]), int(r["seed"])): r["sha256_float32_lower_tri_rowmajor"] for r in csv.DictReader(f)}


@pytest.mark.parametrize("n, seed", [(50, 1), (100, 4), (200, 10)])
def test_sk_instances_match_published_checksums(n, seed):
    published = published_checksums()[(n, seed)]
    rows, cols = np.tril_indices(n, -1)
    # The instance is stored as float32, and its stored bytes (no cast) are the published ones.
    lower = na.sherrington_kirkpatrick_couplings(n, seed)
    assert lower.dtype == np.float32
    assert hashlib.sha256(np.ascontiguousarray(lower[rows, cols]).tobytes()).hexdigest() == published
    # A float32 operator holds exactly those bytes.
    H32 = na.sherrington_kirkpatrick(n, seed=seed, dtype=jnp.float32)
    stored = np.asarray(H32.couplings)[rows, cols]
    assert stored.dtype == np.float32
    assert hashlib.sha256(stored.tobytes()).hexdigest() == published
    # The float64 operator holds the same values, exactly: float32 -> float64 is exact.
    H = na.sherrington_kirkpatrick(n, seed=seed)
    stored64 = np.asarray(H.couplings)[rows, cols]
    assert stored64.dtype == np.float64
    assert (
        hashlib.sha256(stored64.tobytes()).hexdigest()
        == hashlib.sha256(lower[rows, cols].astype(np.float64).tobytes()).hexdigest()
    )
    assert H.metadata["seed"] == seed and not H.is_sparse


def test_sk_statistics_and_scaling():
    H = na.sherrington_kirkpatrick(400, J=2.0, h=0.3, seed=7)
    J = np.asarray(H.couplings)[np.triu_indices(400, 1)]
    # J_ij ~ N(0, J^2/N): the sample variance of 79800 draws is within a few percent.
    assert abs(J.var() * 400 / 4.0 - 1.0) < 0.03
    np.testing.assert_array_equal(np.asarray(H.fields), 0.3)
    other = na.sherrington_kirkpatrick(400, seed=8)
    assert not np.array_equal(np.asarray(other.couplings), np.asarray(H.couplings) / 2)


def test_curie_weiss_structure():
    H = na.curie_weiss(7, J=1.5, h=-0.2)
    J = np.asarray(H.couplings)
    assert H.n_edges == 21
    np.testing.assert_allclose(J[~np.eye(7, dtype=bool)], 1.5 / 7)
    assert na.curie_weiss_parameters(H) == pytest.approx((1.5, -0.2))
    assert na.curie_weiss_parameters(na.sherrington_kirkpatrick(7, seed=1)) is None
    # Energy from the closed form: H = -(J/N)(M^2 - N)/2 - hM.
    x = np.array([[1, 1, -1, 1, -1, 1, 1]])
    M = x.sum()
    np.testing.assert_allclose(H.energy(x), -(1.5 / 7) * (M**2 - 7) / 2 + 0.2 * M, rtol=1e-13)


@pytest.mark.parametrize(
    "graph",
    [
        nk.graph.Hypercube(length=4, n_dim=2, pbc=True),
        nk.graph.Graph(edges=[(0, 1), (1, 2), (2, 3), (0, 3), (1, 3)]),
        na.random_regular_graph(20, 3, seed=5),
    ],
)
@pytest.mark.parametrize("kind", ["gaussian", "pm1"])
def test_edwards_anderson_on_graphs(graph, kind):
    H = na.edwards_anderson(graph, kind, seed=2)
    assert H.is_sparse and H.n_sites == graph.n_nodes
    edges = {tuple(sorted(e)) for e in graph.edges()}
    assert {tuple(map(int, e)) for e in np.asarray(H.edges)} == edges
    w = np.asarray(H.edge_weights)
    if kind == "pm1":
        assert set(np.unique(w)) <= {-1.0, 1.0}
    same = na.edwards_anderson(graph, kind, seed=2)
    np.testing.assert_array_equal(np.asarray(same.edge_weights), w)


def test_random_regular_graph_is_simple_and_regular():
    g = na.random_regular_graph(30, 4, seed=0)
    edges = np.asarray(g.edges())
    assert np.all(np.bincount(edges.ravel(), minlength=30) == 4)
    assert len({tuple(sorted(e)) for e in edges}) == len(edges)
    with pytest.raises(ValueError, match="regular graph"):
        na.random_regular_graph(5, 3, seed=0)


@pytest.mark.parametrize("sparse", [False, True])
def test_instance_round_trip(tmp_path, sparse):
    if sparse:
        H = na.edwards_anderson(nk.graph.Hypercube(3, n_dim=2), "gaussian", seed=1, h=0.1, dtype=jnp.float32)
    else:
        H = na.sherrington_kirkpatrick(20, h=0.05, seed=3)
    path = tmp_path / "instance.npz"
    na.save_instance(H, path)
    G = na.load_instance(path)
    assert G.is_sparse == H.is_sparse and G.dtype == H.dtype and G.metadata == H.metadata
    np.testing.assert_array_equal(np.asarray(G.couplings), np.asarray(H.couplings))
    np.testing.assert_array_equal(np.asarray(G.fields), np.asarray(H.fields))
    np.testing.assert_array_equal(np.asarray(G.edges), np.asarray(H.edges))


def test_load_rejects_foreign_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a netket_arnn instance"):
        na.load_instance(path)
