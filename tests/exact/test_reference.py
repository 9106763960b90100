import pkgutil
import types

import netket as nk
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import exact

QUANTITIES = ("log_z", "free_energy", "energy", "entropy", "abs_magnetization")


def test_no_submodule_is_shadowed_and_every_public_name_exists():
    for module in pkgutil.iter_modules(exact.__path__):
        assert isinstance(getattr(exact, module.name), types.ModuleType), module.name
    for name in exact.__all__:
        assert hasattr(exact, name), name
    # The Hamiltonian constructor and the exact references have distinct names.
    assert isinstance(na.curie_weiss(4), na.PairwiseIsing)
    assert not hasattr(exact, "curie_weiss") or isinstance(exact.curie_weiss, types.ModuleType)


@pytest.mark.parametrize("n", [5, 40, 3000])
def test_thermodynamics_of_curie_weiss_is_the_closed_form_at_any_n(n):
    th = exact.thermodynamics(na.curie_weiss(n, J=0.8, h=0.1), 1.4)
    closed = exact.curie_weiss_closed_form(n, 1.4, J=0.8, h=0.1)
    assert th == closed
    assert exact.log_partition_function(na.curie_weiss(n, J=0.8, h=0.1), 1.4) == pytest.approx(closed.log_z, rel=1e-14)


def test_thermodynamics_of_other_systems_is_enumeration():
    H = na.edwards_anderson(nk.graph.Hypercube(3, n_dim=2), seed=1, h=0.05)
    th = exact.thermodynamics(H, 0.9)
    enum = exact.by_enumeration(H, 0.9)
    for key in QUANTITIES:
        assert getattr(th, key) == getattr(enum, key)
    # An independent check of the dispatch: f from the probabilities of all states.
    x = np.asarray(H.hilbert.all_states())
    log_p = np.asarray(exact.log_prob(H, x, 0.9))
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-12)


def test_beyond_the_enumeration_limit_there_is_no_reference():
    big = na.sherrington_kirkpatrick(exact.MAX_ENUMERATION_SITES + 1, seed=1)
    for call in (
        lambda: exact.thermodynamics(big, 1.0),
        lambda: exact.log_partition_function(big, 1.0),
        lambda: exact.log_prob(big, np.ones((1, big.n_sites)), 1.0),
    ):
        with pytest.raises(ValueError, match=f"no exact reference.*N <= {exact.MAX_ENUMERATION_SITES}"):
            call()
    assert exact.reference_free_energy(big) is None


def test_reference_free_energy():
    cw = na.curie_weiss(500, J=1.0, h=0.02)
    f = exact.reference_free_energy(cw)
    assert f(1.3) == pytest.approx(exact.curie_weiss_closed_form(500, 1.3, h=0.02).free_energy, rel=1e-14)
    sk = na.sherrington_kirkpatrick(12, seed=2)
    f = exact.reference_free_energy(sk)
    assert f(0.7) == pytest.approx(exact.by_enumeration(sk, 0.7).free_energy, rel=1e-14)
    # max_sites limits enumeration only: the closed form needs no enumeration.
    assert exact.reference_free_energy(sk, max_sites=11) is None
    assert exact.reference_free_energy(cw, max_sites=1) is not None
    # Operators that are not PairwiseIsing have no reference.
    assert exact.reference_free_energy(nk.operator.Ising(nk.hilbert.Spin(0.5, 4), nk.graph.Chain(4), h=1.0)) is None
    with pytest.raises(ValueError, match="max_sites must be <= MAX_ENUMERATION_SITES"):
        exact.reference_free_energy(sk, max_sites=exact.MAX_ENUMERATION_SITES + 1)
    with pytest.raises(ValueError, match="beta must be > 0"):
        exact.reference_free_energy(sk)(0.0)


def test_exact_functions_need_a_pairwise_ising():
    op = nk.operator.Ising(nk.hilbert.Spin(0.5, 4), nk.graph.Chain(4), h=0.0)
    for call in (
        lambda: exact.thermodynamics(op, 1.0),
        lambda: exact.by_enumeration(op, 1.0),
        lambda: exact.log_partition_function(op, 1.0),
        lambda: exact.log_prob(op, np.ones((1, 4)), 1.0),
    ):
        with pytest.raises(TypeError, match="must be a netket_arnn.PairwiseIsing.*from_ising"):
            call()


def assert_same_method(a, b):
    """Bit-identical results of the same method (``nan`` where no magnetisation is computed)."""
    for key in ("log_z", "free_energy", "energy", "entropy"):
        assert getattr(a, key) == getattr(b, key), key
    assert a.abs_magnetization == b.abs_magnetization or np.isnan([a.abs_magnetization, b.abs_magnetization]).all()


def test_square_lattices_get_kaufman_or_the_transfer_matrix_beyond_enumeration():
    beta = 0.47
    # The uniform periodic ferromagnet: Kaufman's closed form at any size beyond enumeration.
    torus = na.ferromagnet_2d(8, 7, J=0.9)
    th = exact.thermodynamics(torus, beta)
    assert_same_method(th, exact.kaufman_closed_form(8, 7, beta, J=0.9))
    assert np.isnan(th.abs_magnetization)
    assert exact.log_partition_function(torus, beta) == exact.kaufman_log_z(8, 7, beta, J=0.9)
    assert exact.reference_free_energy(na.ferromagnet_2d(200))(beta) == pytest.approx(
        exact.kaufman_closed_form(200, 200, beta).free_energy, rel=1e-14
    )
    # Any couplings and fields on a lattice: the transfer matrix.
    for H in (
        na.edwards_anderson(nk.graph.Grid([6, 7], pbc=[False, True]), seed=3, h=0.1),
        na.ferromagnet_2d(6, 7, h=0.05),  # a field rules out Kaufman
        na.edwards_anderson(nk.graph.Grid([7, 5], pbc=True), couplings="pm1", seed=2),
    ):
        th = exact.thermodynamics(H, beta)
        assert_same_method(th, exact.by_transfer_matrix(H, beta))
        assert exact.log_partition_function(H, beta) == th.log_z
        assert exact.reference_free_energy(H)(beta) == pytest.approx(th.free_energy, rel=1e-14)
    # Small lattices keep enumeration, with its <|m|>.
    small = na.ferromagnet_2d(4, 5)
    th = exact.thermodynamics(small, beta)
    assert th == exact.by_enumeration(small, beta) and np.isfinite(th.abs_magnetization)
    # max_sites skips enumeration, not the cheap lattice methods.
    assert exact.reference_free_energy(small, max_sites=10)(beta) == pytest.approx(
        exact.kaufman_closed_form(4, 5, beta).free_energy, rel=1e-14
    )
    ea = na.edwards_anderson(nk.graph.Grid([4, 5], pbc=False), seed=1)
    assert exact.reference_free_energy(ea, max_sites=10)(beta) == pytest.approx(
        exact.by_transfer_matrix(ea, beta).free_energy, rel=1e-14
    )


def test_lattices_beyond_the_transfer_matrix_width_have_no_reference():
    side = exact.MAX_TRACE_WIDTH + 1
    wide = na.edwards_anderson(nk.graph.Grid([side, side], pbc=True), seed=1)
    assert exact.reference_free_energy(wide) is None
    with pytest.raises(ValueError, match=f"no exact reference.*{side} x {side} lattice.*N <= 30"):
        exact.thermodynamics(wide, 1.0)
    # The same lattice open in one direction is within reach: the transfer runs along it.
    assert exact.reference_free_energy(na.edwards_anderson(nk.graph.Grid([side, side], pbc=[True, False]), seed=1))
