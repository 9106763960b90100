import netket as nk
import numpy as np
import pytest

import netket_arnn as na


def loop_energy(edges, weights, h, x):
    """H(x) = -Σ_edges J_e x_i x_j - Σ_i h_i x_i by a plain loop over the edge list."""
    e = -x @ h
    for (i, j), w in zip(edges, weights):
        e = e - w * x[:, i] * x[:, j]
    return e


GRAPHS = {
    "chain": nk.graph.Chain(7, pbc=True),
    "square": nk.graph.Hypercube(3, n_dim=2, pbc=False),
    "graph": nk.graph.Graph(edges=[(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)]),
}


@pytest.mark.parametrize("name", list(GRAPHS))
@pytest.mark.parametrize("per_edge", [False, True])
@pytest.mark.parametrize("fields", [None, 0.3, "array"])
def test_from_graph_energies(name, per_edge, fields):
    graph = GRAPHS[name]
    n, edges = graph.n_nodes, np.asarray(graph.edges())
    rng = np.random.default_rng(0)
    couplings = rng.normal(size=len(edges)) if per_edge else -0.7
    h = rng.normal(size=n) if isinstance(fields, str) else fields
    H = na.from_graph(graph, couplings, h)
    assert isinstance(H, na.PairwiseIsing) and H.is_sparse and H.n_sites == n
    weights = np.broadcast_to(couplings, (len(edges),))
    h_full = np.zeros(n) if h is None else np.broadcast_to(h, (n,))
    x = np.asarray(H.hilbert.all_states()) if n <= 9 else rng.choice([-1.0, 1.0], size=(50, n))
    np.testing.assert_allclose(H.energy(x), loop_energy(edges, weights, h_full, x), rtol=1e-12, atol=1e-12)
    assert H.metadata["model"] == "graph"


def test_from_graph_by_edge_color():
    graph = nk.graph.Graph(edges=[(0, 1, 0), (1, 2, 1), (2, 3, 0)])
    H = na.from_graph(graph, {0: 1.0, 1: -2.0})
    np.testing.assert_allclose(np.asarray(H.couplings)[[0, 1, 2], [1, 2, 3]], [1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match=r"edge colors \[1\]"):
        na.from_graph(graph, {0: 1.0})


def test_from_graph_bad_input():
    graph = nk.graph.Chain(4, pbc=False)
    with pytest.raises(ValueError, match=r"one value per edge of the graph, shape \(3,\)"):
        na.from_graph(graph, np.ones(4))
    with pytest.raises(TypeError, match="couplings must be real"):
        na.from_graph(graph, np.ones(3) * 1j)
    with pytest.raises(TypeError, match="couplings must be a real number"):
        na.from_graph(graph, True)
    with pytest.raises(ValueError, match=r"fields must be a scalar or have shape \(4,\)"):
        na.from_graph(graph, 1.0, np.ones(3))
    with pytest.raises(TypeError, match="NetKet graph"):
        na.from_graph([(0, 1)], 1.0)


@pytest.mark.parametrize(
    "cls, J", [(nk.operator.Ising, 1.0), (nk.operator.Ising, -0.6), (nk.operator.IsingNumba, -0.6)]
)
def test_from_ising_has_netket_diagonal(cls, J):
    graph = nk.graph.Hypercube(3, n_dim=2, pbc=True)
    hilbert = nk.hilbert.Spin(0.5, graph.n_nodes)
    op = cls(hilbert, graph, h=0.0, J=J)
    H = na.from_ising(op)
    # NetKet's matrix is the reference: H = J Σ σ^z σ^z, i.e. J_ij = -J in our convention.
    diagonal = np.diag(np.asarray(op.to_dense()))
    np.testing.assert_allclose(H.energy(hilbert.all_states()), diagonal, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.unique(np.asarray(H.edge_weights)), [-J])
    assert H.hilbert == hilbert and H.metadata["J_netket"] == J


def test_from_ising_counts_repeated_edges():
    hilbert = nk.hilbert.Spin(0.5, 3)
    op = nk.operator.Ising(hilbert, [(0, 1), (1, 0), (1, 2)], h=0.0, J=0.5)
    H = na.from_ising(op)
    assert H.n_edges == 2
    np.testing.assert_allclose(H.energy(hilbert.all_states()), np.diag(np.asarray(op.to_dense())), atol=1e-12)


def test_from_ising_refuses_what_it_cannot_represent():
    graph = nk.graph.Chain(4)
    hilbert = nk.hilbert.Spin(0.5, 4)
    with pytest.raises(ValueError, match="transverse field h = 0.5"):
        na.from_ising(nk.operator.Ising(hilbert, graph, h=0.5))
    with pytest.raises(TypeError, match="nk.operator.Ising"):
        na.from_ising(nk.operator.spin.sigmaz(hilbert, 0))
    with pytest.raises(TypeError, match="Spin"):
        na.from_ising(nk.operator.Ising(nk.hilbert.Qubit(4), graph, h=0.0))


def test_from_ising_and_from_graph_agree_and_combine():
    graph = nk.graph.Chain(6)
    hilbert = nk.hilbert.Spin(0.5, 6)
    ising = na.from_ising(nk.operator.Ising(hilbert, graph, h=0.0, J=1.0))
    same = na.from_graph(graph, -1.0)
    x = np.asarray(hilbert.all_states())
    np.testing.assert_allclose(ising.energy(x), same.energy(x), rtol=1e-12)
    assert isinstance(ising - same, na.PairwiseIsing)
    np.testing.assert_allclose((ising - same).energy(x), 0.0, atol=1e-12)
