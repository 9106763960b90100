import netket as nk
import numpy as np
import pytest

import netket_arnn as na


def sym(n, seed=0):
    J = np.triu(np.random.default_rng(seed).normal(size=(n, n)), 1)
    return J + J.T


@pytest.mark.parametrize(
    "J, kwargs, match",
    [
        (np.zeros((3, 4)), {}, "square"),
        (np.zeros(3), {}, "square"),
        (np.triu(np.ones((4, 4)), 1), {}, "symmetric"),
        (np.where(np.eye(4, dtype=bool), 0.0, np.nan), {}, "finite"),
        (sym(4) + np.diag([0, 0, 1.0, 0]), {}, "zero diagonal"),
        (sym(4), {"triangular": True}, "triangular"),
    ],
)
def test_bad_dense_couplings(J, kwargs, match):
    with pytest.raises(ValueError, match=match):
        na.from_couplings(J, **kwargs)


def test_triangular_option_builds_the_symmetric_matrix():
    L = np.tril(np.random.default_rng(1).normal(size=(5, 5)), -1)
    H = na.from_couplings(L, triangular=True)
    np.testing.assert_array_equal(np.asarray(H.couplings), L + L.T)
    np.testing.assert_array_equal(np.asarray(na.from_couplings(L.T, triangular=True).couplings), L + L.T)


def test_bad_fields():
    with pytest.raises(ValueError, match=r"h must be a scalar or have shape \(4,\)"):
        na.from_couplings(sym(4), np.zeros(3))
    with pytest.raises(ValueError, match="fields must have shape"):
        na.PairwiseIsing(nk.hilbert.Spin(0.5, 4), sym(4), np.zeros(3))
    with pytest.raises(ValueError, match="h must be finite"):
        na.from_couplings(sym(4), np.array([0, np.inf, 0, 0]))


@pytest.mark.parametrize(
    "edges, weights, match",
    [
        ([(0, 0)], [1.0], "self-loop"),
        ([(0, 1), (1, 0)], [1.0, 2.0], "repeated pair"),
        ([(0, 5)], [1.0], r"\[0, 4\)"),
        ([(0, 1)], [1.0, 2.0], "one weight per edge"),
        ([(0, 1)], [np.nan], "finite"),
        (np.zeros((2, 3), dtype=int), [1.0, 1.0], r"\(E, 2\)"),
    ],
)
def test_bad_edges(edges, weights, match):
    with pytest.raises(ValueError, match=match):
        na.PairwiseIsing(nk.hilbert.Spin(0.5, 4), np.asarray(weights), edges=np.asarray(edges))


@pytest.mark.parametrize(
    "hilbert, exc, match",
    [
        (nk.hilbert.Fock(3, 4), TypeError, "Spin"),
        (nk.hilbert.Spin(1.0, 4), ValueError, "spin-1/2"),
        (nk.hilbert.Spin(0.5, 4, total_sz=0), ValueError, "constrained"),
        (nk.hilbert.Spin(0.5, 5), ValueError, "5 sites"),
    ],
)
def test_bad_hilbert(hilbert, exc, match):
    with pytest.raises(exc, match=match):
        na.PairwiseIsing(hilbert, sym(4))


@pytest.mark.parametrize("beta", [0.0, -1.0, np.inf, np.nan])
def test_bad_beta_everywhere(beta):
    H = na.curie_weiss(6)
    for call in (
        lambda: na.exact.by_enumeration(H, beta),
        lambda: na.exact.curie_weiss_closed_form(6, beta),
        lambda: na.exact.curie_weiss_thermo_limit(beta),
        lambda: na.exact.log_prob(H, np.ones((1, 6)), beta),
        lambda: na.exact.sk_replica_symmetric(beta),
    ):
        with pytest.raises(ValueError, match="beta"):
            call()


def test_enumeration_limits_are_stated():
    big = na.sherrington_kirkpatrick(na.exact.MAX_ENUMERATION_SITES + 1, seed=1)
    with pytest.raises(ValueError, match=f"N <= {na.exact.MAX_ENUMERATION_SITES}"):
        na.exact.by_enumeration(big, 1.0)
    with pytest.raises(ValueError, match=f"N <= {na.exact.MAX_SITES_PROBABILITIES}"):
        na.exact.by_enumeration(
            na.sherrington_kirkpatrick(na.exact.MAX_SITES_PROBABILITIES + 1, seed=1),
            1.0,
            return_probabilities=True,
        )
    with pytest.raises(ValueError, match="no exact reference"):
        na.exact.log_prob(big, np.ones((1, big.n_sites)), 1.0)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="positive integer"):
        na.curie_weiss(0)
    with pytest.raises(ValueError, match="'gaussian' or 'pm1'"):
        na.edwards_anderson(nk.graph.Chain(4), "uniform", seed=0)
    with pytest.raises(TypeError, match="NetKet graph"):
        na.edwards_anderson([(0, 1)], seed=0)


@pytest.mark.parametrize(
    "J, exc, match",
    [
        (sym(4) * 1j, TypeError, "complex"),
        (sym(4) + 0j, TypeError, "complex"),
        (sym(4) != 0, TypeError, "boolean"),
        (sym(4).astype(object), TypeError, "dtype object"),
        (np.array([["0", "1"], ["1", "0"]]), TypeError, "numeric"),
    ],
)
def test_couplings_of_the_wrong_kind_are_refused(J, exc, match):
    with pytest.raises(exc, match=f"J must .*{match}|{match}"):
        na.from_couplings(J)
    with pytest.raises(exc, match=f"couplings must .*{match}|{match}"):
        na.PairwiseIsing(nk.hilbert.Spin(0.5, J.shape[0]), J)


@pytest.mark.parametrize("h", [np.ones(4) * 1j, np.ones(4, dtype=bool), 0.5j, True, "0.1"])
def test_fields_of_the_wrong_kind_are_refused(h):
    with pytest.raises(TypeError, match="h must"):
        na.from_couplings(sym(4), h)


@pytest.mark.parametrize("beta", ["1", True, np.bool_(True), 1 + 0j, None, [1.0]])
def test_beta_must_be_a_real_number(beta):
    H = na.curie_weiss(4)
    for call in (
        lambda: na.exact.thermodynamics(H, beta),
        lambda: na.exact.by_enumeration(H, beta),
        lambda: na.exact.curie_weiss_closed_form(4, beta),
        lambda: na.exact.sk_one_step_rsb(beta),
    ):
        with pytest.raises(TypeError, match="beta must be a real number"):
            call()


def test_beta_accepts_numpy_and_jax_scalars():
    import jax.numpy as jnp

    expected = na.exact.curie_weiss_closed_form(5, 0.5).free_energy
    for beta in (np.float32(0.5), np.float64(0.5), jnp.asarray(0.5), np.array(0.5)):
        assert na.exact.curie_weiss_closed_form(5, beta).free_energy == expected


@pytest.mark.parametrize("seed, exc", [(None, TypeError), (1.5, TypeError), (True, TypeError), (-1, ValueError)])
def test_instance_seeds_must_be_integers(seed, exc):
    for make in (
        lambda: na.sherrington_kirkpatrick(6, seed=seed),
        lambda: na.sherrington_kirkpatrick_couplings(6, seed),
        lambda: na.edwards_anderson(nk.graph.Chain(4), seed=seed),
        lambda: na.random_regular_graph(6, 3, seed=seed),
    ):
        with pytest.raises(exc, match="seed must be"):
            make()


def test_energy_needs_spins_plus_minus_one():
    H = na.sherrington_kirkpatrick(6, seed=1)
    bits = np.array([[0, 1, 1, 0, 0, 1]])
    with pytest.raises(ValueError, match="x must hold spins -1 and \\+1"):
        H.energy(bits)
    with pytest.raises(ValueError, match="x must hold spins"):
        na.exact.log_prob(H, bits, 1.0)
    with pytest.raises(ValueError, match="x must hold spins"):
        H.energy(np.full((2, 6), 0.5))
    # Spins are accepted in any integer or float dtype, and the shape (..., N) is kept.
    spins = 1 - 2 * np.stack([bits, bits])
    assert H.energy(spins.astype(np.int8)).shape == (2, 1)


@pytest.mark.parametrize("sparse", [False, True])
def test_wrong_number_of_spins_names_both_sizes(sparse):
    H = na.edwards_anderson(nk.graph.Chain(8), seed=0) if sparse else na.sherrington_kirkpatrick(8, seed=1)
    x = np.ones((3, 6))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 8\).*N = 8.*6 spins"):
        H.energy(x)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 8\).*6 spins"):
        na.exact.log_prob(H, x, 1.0)
    with pytest.raises(ValueError, match="scalar"):
        H.energy(1.0)


def test_load_instance_errors_name_the_file_and_the_problem(tmp_path):
    good = tmp_path / "good.npz"
    na.save_instance(na.sherrington_kirkpatrick(10, seed=1), good)
    data = good.read_bytes()
    cases = {}
    cases["truncated.npz"] = (data[: len(data) // 2], "damaged or truncated")
    cases["text.npz"] = (b"J = [[0, 1], [1, 0]]\n", "not an instance file.*zip")
    import io
    import json

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    cases["array.npy"] = (buffer.getvalue(), "single .npy array")
    header = {"format": "netket_arnn.PairwiseIsing/1", "dtype": "float64", "metadata": {}}
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array(json.dumps(header)), fields=np.zeros(3), couplings=np.zeros((3, 3)))
    cases["no_n_sites.npz"] = (buffer.getvalue(), "header lacks n_sites")
    buffer = io.BytesIO()
    header["n_sites"] = 4
    np.savez(buffer, header=np.array(json.dumps(header)), fields=np.zeros(3), couplings=np.zeros((3, 3)))
    cases["wrong_size.npz"] = (buffer.getvalue(), "not a valid instance")
    for name, (content, match) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=match) as info:
            na.load_instance(path)
        assert name in str(info.value)


def test_save_instance_leaves_no_partial_file(tmp_path):
    path = tmp_path / "instance.npz"
    na.save_instance(na.curie_weiss(5), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instance.npz"]
    with pytest.raises(TypeError, match="PairwiseIsing"):
        na.save_instance(nk.operator.Ising(nk.hilbert.Spin(0.5, 3), nk.graph.Chain(3), h=1.0), tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_chunk_size_and_integer_arguments_are_checked():
    H = na.sherrington_kirkpatrick(6, seed=1)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        na.exact.by_enumeration(H, 1.0, chunk_size=0)
    with pytest.raises(TypeError, match="N must be a positive integer"):
        na.curie_weiss(True)
    with pytest.raises(ValueError, match="N must be a positive integer"):
        na.sherrington_kirkpatrick(4.5, seed=1)
    with pytest.raises(TypeError, match="N must be a positive integer"):
        na.exact.curie_weiss_closed_form("8", 1.0)
