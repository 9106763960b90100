"""Square lattices: Kaufman's closed form, the transfer matrix, lattice recognition, the 2D ferromagnet."""

import argparse
import itertools

import netket as nk
import numpy as np
import pytest
from scipy.special import gammaln

import netket_arnn as na
from netket_arnn import exact
from netket_arnn.exact import transfer_matrix

BETA_C = 0.5 * np.log1p(np.sqrt(2.0))
QUANTITIES = ("log_z", "free_energy", "energy", "entropy")


def random_lattice(L, W, periodic, seed, field_scale=1.0):
    """Gaussian couplings on the bonds and Gaussian fields on the sites of an L x W grid."""
    rng = np.random.default_rng(seed)
    graph = nk.graph.Grid(extent=[L, W], pbc=list(periodic))
    return na.from_graph(graph, rng.normal(size=len(graph.edges())), field_scale * rng.normal(size=L * W))


def assert_same_thermo(a, b, rel=1e-12):
    for key in QUANTITIES:
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=rel, abs=rel), key


def onsager_minus_beta_f(K, n=512):
    r"""Onsager's infinite-lattice :math:`-\beta f` by the trapezoidal rule on the periodic integrand."""
    theta = 2 * np.pi * np.arange(n) / n
    c = np.cos(theta)
    integrand = np.log(np.cosh(2 * K) ** 2 - np.sinh(2 * K) * (c[:, None] + c[None, :]))
    return np.log(2.0) + integrand.mean() / 2.0


# --- Kaufman ------------------------------------------------------------------------------


@pytest.mark.parametrize(("L", "W"), [(4, 4), (3, 5), (5, 3)])
@pytest.mark.parametrize("beta", [0.1, 0.3, BETA_C, 0.5, 1.5])
def test_kaufman_is_enumeration(L, W, beta):
    H = na.ferromagnet_2d(L, W, J=0.7)
    k = exact.kaufman_closed_form(L, W, beta, J=0.7)
    assert_same_thermo(k, exact.by_enumeration(H, beta))
    assert np.isnan(k.abs_magnetization)
    assert exact.kaufman_log_z(L, W, beta, J=0.7) == pytest.approx(k.log_z, rel=1e-15)


def test_kaufman_across_the_critical_point_is_smooth_and_e_is_the_derivative():
    # At K_c the fourth product vanishes and changes sign; log Z and e must not notice.
    L = W = 6
    for beta in (BETA_C, np.nextafter(BETA_C, 0), np.nextafter(BETA_C, 1), BETA_C - 1e-9, BETA_C + 1e-9, 0.2, 0.9):
        t = exact.kaufman_closed_form(L, W, beta)
        assert np.isfinite([t.log_z, t.energy, t.entropy]).all()
        step = 1e-5
        derivative = (exact.kaufman_log_z(L, W, beta + step) - exact.kaufman_log_z(L, W, beta - step)) / (2 * step)
        assert t.energy == pytest.approx(-derivative / (L * W), abs=1e-8)
        assert t.entropy >= 0
    below, above = exact.kaufman_closed_form(L, W, BETA_C - 1e-9), exact.kaufman_closed_form(L, W, BETA_C + 1e-9)
    assert above.energy == pytest.approx(below.energy, abs=1e-7)


@pytest.mark.parametrize("beta", [0.3, 0.6])
def test_kaufman_on_a_large_torus_is_onsagers_infinite_lattice(beta):
    # Away from K_c the finite-size corrections on a 128 x 128 torus are exponentially small,
    # except for the two-fold degeneracy of the ordered phase: log Z = N (-beta f) + log 2.
    n = 128 * 128
    t = exact.kaufman_closed_form(128, 128, beta)
    ordered = np.log(2.0) if beta > BETA_C else 0.0
    assert t.log_z == pytest.approx(n * onsager_minus_beta_f(beta) + ordered, abs=1e-8)


def test_kaufman_at_large_beta_is_the_ground_state():
    # Two ground states of energy -2JN; the cheapest excitation costs 8J.
    t = exact.kaufman_closed_form(5, 7, 40.0, J=2.0)
    assert t.log_z == pytest.approx(40.0 * 2.0 * 2 * 35 + np.log(2.0), rel=1e-15)
    assert t.energy == pytest.approx(-4.0, rel=1e-12)
    assert t.entropy == pytest.approx(np.log(2.0) / 35, abs=1e-10)  # s = beta (e - f) loses ~1e-12


def test_kaufman_bad_input():
    with pytest.raises(ValueError, match="L, W >= 3"):
        exact.kaufman_closed_form(2, 5, 1.0)
    with pytest.raises(ValueError, match="J > 0"):
        exact.kaufman_log_z(4, 4, 1.0, J=-1.0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        exact.kaufman_closed_form(4, 4, 0.0)
    with pytest.raises(ValueError, match="KAUFMAN_MAX_COUPLING"):
        exact.kaufman_closed_form(4, 4, 1e3)


def test_kaufman_parameters_recognise_the_uniform_torus_only():
    assert exact.kaufman_parameters(na.ferromagnet_2d(5, 4, J=0.3)) == (5, 4, 0.3)
    # The same couplings stored densely.
    dense = na.from_couplings(np.asarray(na.ferromagnet_2d(4, 6).couplings))
    assert exact.kaufman_parameters(dense) == (4, 6, 1.0)
    assert exact.kaufman_parameters(na.ferromagnet_2d(5, 4, h=0.1)) is None
    assert exact.kaufman_parameters(na.ferromagnet_2d(5, 4, J=-1.0)) is None
    assert exact.kaufman_parameters(na.ferromagnet_2d(5, 4, periodic=(True, False))) is None
    assert exact.kaufman_parameters(na.edwards_anderson(nk.graph.Grid([4, 4], pbc=True), seed=1)) is None
    # One bond changed by a rounding error is no longer uniform.
    H = na.ferromagnet_2d(4, 4)
    weights = np.ones(H.n_edges)
    weights[3] = np.nextafter(1.0, 2.0)
    assert exact.kaufman_parameters(na.from_graph(nk.graph.Grid([4, 4], pbc=True), weights)) is None


# --- transfer matrix ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("L", "W", "periodic"),
    [
        (L, W, periodic)
        for L, W in [(4, 5), (3, 6), (6, 3), (2, 7), (9, 2), (1, 9)]
        for periodic in itertools.product([False, True], repeat=2)
        if not (periodic[0] and L < 3) and not (periodic[1] and W < 3)  # an extent-2 ring repeats its bond
    ],
)
def test_transfer_matrix_is_enumeration(L, W, periodic):
    H = random_lattice(L, W, periodic, seed=L * 10 + W + 3 * periodic[0] + 7 * periodic[1])
    for beta in (0.4, 2.0):
        t = exact.by_transfer_matrix(H, beta)
        e = exact.by_enumeration(H, beta)
        assert_same_thermo(t, e)
        assert t.abs_magnetization == pytest.approx(e.abs_magnetization, rel=1e-12)
        assert np.isnan(exact.by_transfer_matrix(H, beta, abs_magnetization=False).abs_magnetization)


def test_transfer_matrix_magnetization_beyond_enumeration_is_that_of_exact_samples():
    # 12 x 12 open EA glass with fields: exact independent samples from the exact conditionals
    rng = np.random.default_rng(4)
    graph = nk.graph.Grid(extent=[12, 12], pbc=False)
    H = na.from_graph(graph, rng.choice([-1.0, 1.0], size=len(graph.edges())), 0.2 * rng.normal(size=144))
    beta = 0.8
    t = exact.thermodynamics(H, beta)
    abs_m = np.abs(exact.lattice_conditionals(H, beta).sample(20_000, seed=3).mean(axis=1))
    assert abs(t.abs_magnetization - abs_m.mean()) < 5 * abs_m.std() / np.sqrt(len(abs_m))
    assert np.isnan(exact.thermodynamics(H, beta, abs_magnetization=False).abs_magnetization)


def test_transfer_matrix_magnetization_of_the_torus_and_its_cost_limit(monkeypatch):
    H = na.ferromagnet_2d(6)  # N = 36 on a torus: the traced sweep, resolved by up spins
    cold, hot = exact.by_transfer_matrix(H, 2.0), exact.by_transfer_matrix(H, 1e-7)
    # ordered: one flipped spin (energy 8J, |m| = 1 - 2/N, N ways) is the leading correction
    assert cold.abs_magnetization == pytest.approx(1.0 - 2.0 * np.exp(-16.0), abs=1e-9)
    # at β → 0, |m| of N free spins: E|2K - N|/N with K ~ Binomial(N, 1/2)
    k = np.arange(37)
    free = np.sum(np.exp(gammaln(37) - gammaln(k + 1) - gammaln(37 - k) - 36 * np.log(2)) * np.abs(2 * k - 36)) / 36
    assert hot.abs_magnetization == pytest.approx(free, rel=1e-5)
    monkeypatch.setattr(transfer_matrix, "MAX_MAGNETIZATION_ENTRIES", 37 * 64 * 64 - 1)
    assert np.isnan(exact.by_transfer_matrix(H, 2.0).abs_magnetization)  # beyond the limit: not computed
    assert exact.by_transfer_matrix(H, 2.0).free_energy == cold.free_energy


def test_transfer_matrix_of_the_uniform_torus_is_kaufman_beyond_enumeration():
    H = na.ferromagnet_2d(8, 8)  # N = 64: periodic in both directions, the traced sweep
    for beta in (0.2, BETA_C, 0.7):
        assert_same_thermo(exact.by_transfer_matrix(H, beta), exact.kaufman_closed_form(8, 8, beta))
    H = na.ferromagnet_2d(4, 11, J=0.5)  # rectangular: the transfer runs across the width 4
    assert_same_thermo(exact.by_transfer_matrix(H, 0.9), exact.kaufman_closed_form(4, 11, 0.9, J=0.5))


@pytest.mark.parametrize("periodic", [(False, False), (True, False), (True, True)])
def test_transfer_matrix_energy_is_the_derivative_of_log_z(periodic):
    H = random_lattice(6, 7, periodic, seed=5, field_scale=0.5)
    beta, step = 0.8, 1e-5
    t = exact.by_transfer_matrix(H, beta)
    up, down = exact.by_transfer_matrix(H, beta + step), exact.by_transfer_matrix(H, beta - step)
    assert t.energy == pytest.approx(-(up.log_z - down.log_z) / (2 * step) / H.n_sites, abs=1e-8)
    assert t.entropy >= 0
    assert t.free_energy <= t.energy


def test_transfer_matrix_does_not_overflow_at_large_beta():
    # Open 7 x 9 ferromagnet: 2 ground states of energy -J * bonds; excitations cost >= 4J.
    H = na.ferromagnet_2d(7, 9, J=1.5, periodic=False)
    bonds = 6 * 9 + 7 * 8
    beta = 300.0
    t = exact.by_transfer_matrix(H, beta)
    assert t.log_z == pytest.approx(beta * 1.5 * bonds + np.log(2.0), rel=1e-14)
    assert t.energy == pytest.approx(-1.5 * bonds / 63, rel=1e-12)
    # Random couplings and fields at large beta: finite, and e - f -> 0 (a unique ground state).
    t = exact.by_transfer_matrix(random_lattice(5, 8, (True, True), seed=2), 500.0)
    assert np.isfinite([t.log_z, t.energy]).all()
    assert 0 <= t.entropy < 1e-6


def test_transfer_matrix_limits_and_bad_input():
    wide = na.edwards_anderson(nk.graph.Grid([exact.MAX_TRACE_WIDTH + 1, exact.MAX_TRACE_WIDTH + 1], pbc=True), seed=1)
    with pytest.raises(ValueError, match="MAX_TRACE_WIDTH"):
        exact.by_transfer_matrix(wide, 1.0)
    wider = na.ferromagnet_2d(exact.MAX_TRANSFER_WIDTH + 1, periodic=False)
    with pytest.raises(ValueError, match="MAX_TRANSFER_WIDTH"):
        exact.by_transfer_matrix(wider, 1.0)
    with pytest.raises(ValueError, match="not nearest-neighbour bonds of any square lattice"):
        exact.by_transfer_matrix(na.sherrington_kirkpatrick(12, seed=1), 1.0)
    H = na.ferromagnet_2d(4, 6)
    with pytest.raises(ValueError, match="not all bonds"):
        exact.by_transfer_matrix(H, 1.0, lattice=exact.SquareLattice(4, 6, False, True))
    with pytest.raises(ValueError, match="has 20 sites"):
        exact.by_transfer_matrix(H, 1.0, lattice=exact.SquareLattice(4, 5, True, True))
    with pytest.raises(ValueError, match="beta must be > 0"):
        exact.by_transfer_matrix(H, -1.0)


@pytest.mark.slow
def test_transfer_matrix_on_larger_lattices():
    # 10 x 10 torus (traced sweep, 4^10 per site) against Kaufman, and a 14 x 14 open lattice
    # against the derivative of its own log Z.
    for beta in (0.35, BETA_C, 0.55):
        torus = exact.by_transfer_matrix(na.ferromagnet_2d(10), beta)
        assert_same_thermo(torus, exact.kaufman_closed_form(10, 10, beta))
    H = random_lattice(14, 14, (False, False), seed=3, field_scale=0.3)
    t = exact.by_transfer_matrix(H, 1.1)
    step = 1e-5
    up, down = exact.by_transfer_matrix(H, 1.1 + step), exact.by_transfer_matrix(H, 1.1 - step)
    assert t.energy == pytest.approx(-(up.log_z - down.log_z) / (2 * step) / H.n_sites, abs=1e-8)


# --- lattice recognition --------------------------------------------------------------------


def test_find_square_lattice():
    H = random_lattice(4, 6, (True, False), seed=1)
    assert exact.find_square_lattice(H) == exact.SquareLattice(4, 6, True, False)
    # Dense storage of the same couplings gives the same lattice.
    dense = na.from_couplings(np.asarray(H.couplings), np.asarray(H.fields))
    assert exact.find_square_lattice(dense) == exact.SquareLattice(4, 6, True, False)
    right, down, fields = exact.lattice_couplings(H, exact.SquareLattice(4, 6, True, False))
    J = np.asarray(H.couplings)
    assert right[2, 3] == J[2 * 6 + 3, 2 * 6 + 4] and down[3, 5] == J[3 * 6 + 5, 5] and right[1, 5] == 0
    assert np.array_equal(fields.ravel(), np.asarray(H.fields))
    # A 1D chain is a lattice of width 1.
    assert exact.find_square_lattice(na.from_graph(nk.graph.Chain(7, pbc=False), 1.0)) is not None


def test_non_lattices_are_not_recognised():
    assert exact.find_square_lattice(na.sherrington_kirkpatrick(12, seed=1)) is None
    assert exact.find_square_lattice(na.from_graph(na.random_regular_graph(36, 3, seed=1), 1.0)) is None
    # A 6 x 6 lattice plus one diagonal bond.
    graph = nk.graph.Grid([6, 6], pbc=False)
    edges = [*graph.edges(), (0, 7)]
    assert exact.find_square_lattice(na.from_graph(nk.graph.Graph(edges=edges, n_nodes=36), 1.0)) is None
    # The 6 x 6 lattice with its sites relabelled: a lattice graph, but not in raster order.
    perm = np.random.default_rng(0).permutation(36)
    relabelled = [(int(perm[a]), int(perm[b])) for a, b in graph.edges()]
    assert exact.find_square_lattice(na.from_graph(nk.graph.Graph(edges=relabelled, n_nodes=36), 1.0)) is None


# --- the 2D ferromagnet constructor and the command line --------------------------------------


def test_ferromagnet_2d():
    H = na.ferromagnet_2d(4, 5, J=0.5, h=0.2)
    assert H.n_sites == 20 and H.n_edges == 40 and H.is_sparse
    up = np.ones((1, 20))
    assert float(H.energy(up)[0]) == pytest.approx(-0.5 * 40 - 0.2 * 20)
    assert H.metadata["model"] == "ferromagnet_2d" and H.metadata["periodic_L"] and H.metadata["periodic_W"]
    assert na.ferromagnet_2d(3).n_sites == 9
    assert na.ferromagnet_2d(4, 5, periodic=False).n_edges == 3 * 5 + 4 * 4
    assert na.ferromagnet_2d(2, 5, periodic=(False, True)).n_edges == 5 + 2 * 5
    assert exact.find_square_lattice(na.ferromagnet_2d(5, 6, periodic=(False, True))) == exact.SquareLattice(
        5, 6, False, True
    )
    # The bonds of nk.graph.Grid with the same extent and boundaries.
    for L, W, periodic in [(3, 4, (True, True)), (5, 3, (False, True)), (4, 4, (True, False)), (2, 6, (False, True))]:
        grid = nk.graph.Grid(extent=[L, W], pbc=list(periodic))
        edges = np.sort(np.asarray(na.ferromagnet_2d(L, W, periodic=periodic).edges), axis=1)
        assert sorted(map(tuple, edges.tolist())) == sorted(tuple(sorted(e)) for e in grid.edges())
    with pytest.raises(ValueError, match="L >= 3"):
        na.ferromagnet_2d(2, 5)
    with pytest.raises(TypeError, match="periodic must be a bool or a pair"):
        na.ferromagnet_2d(4, periodic="yes")


def test_ferro2d_on_the_command_line():
    from netket_arnn.cli._system import add_system_arguments, build_system

    parser = argparse.ArgumentParser()
    add_system_arguments(parser, default="cw")
    H, label = build_system(parser.parse_args(["--system", "ferro2d", "--lattice", "5", "--pbc", "--J", "0.5"]))
    assert exact.kaufman_parameters(H) == (5, 5, 0.5) and "5x5 periodic" in label
    H, _ = build_system(parser.parse_args(["--system", "ferro2d", "--lattice", "3", "7"]))
    assert exact.find_square_lattice(H) == exact.SquareLattice(3, 7, False, False)
    with pytest.raises(ValueError, match="--lattice L or --lattice L W"):
        build_system(parser.parse_args(["--system", "ferro2d", "--lattice", "3", "3", "3"]))


def test_log_z_and_f_alone_skip_the_magnetization_sweep(monkeypatch):
    from netket_arnn.driver.annealing import _reference

    def refuse(*args):
        raise AssertionError("the magnetisation sweep ran")

    monkeypatch.setattr(transfer_matrix, "_open_abs_magnetization", refuse)
    H = random_lattice(6, 6, (False, False), seed=5)  # N = 36: beyond enumeration, the transfer matrix
    exact.log_partition_function(H, 0.7)
    exact.reference_free_energy(H)(0.7)
    exact.thermodynamics(H, 0.7, abs_magnetization=False)
    _reference(H, "auto")(0.7)  # what anneal records: f and s only
    with pytest.raises(AssertionError, match="magnetisation sweep"):
        exact.thermodynamics(H, 0.7)
