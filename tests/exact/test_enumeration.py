import netket as nk
import numpy as np
import pytest
from scipy.special import logsumexp

import netket_arnn as na
from netket_arnn.exact import enumeration as enumeration_module

QUANTITIES = ("log_z", "free_energy", "energy", "entropy", "abs_magnetization")


def brute_force(H, beta):
    """log Z, p(x), <E>, <|M|> from all states listed by NetKet, with numpy only."""
    x = np.asarray(H.hilbert.all_states(), dtype=np.float64)
    J, h = np.asarray(H.couplings), np.asarray(H.fields)
    E = -0.5 * np.einsum("bi,ij,bj->b", x, J, x) - x @ h
    log_z = logsumexp(-beta * E)
    p = np.exp(-beta * E - log_z)
    return log_z, p, p @ E, p @ np.abs(x.sum(1))


def assert_matches_brute_force(got, H, beta):
    n = H.n_sites
    log_z, p, e, m = brute_force(H, beta)
    np.testing.assert_allclose(got.log_z, log_z, rtol=1e-12)
    np.testing.assert_allclose(got.energy * n, e, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.abs_magnetization * n, m, rtol=1e-10)
    np.testing.assert_allclose(got.free_energy, -log_z / (beta * n), rtol=1e-12)
    # s = β(e - f) = -Σ p log p / N, from the brute-force distribution.
    np.testing.assert_allclose(got.entropy, -(p @ np.log(p)) / n, rtol=1e-9)
    if got.probabilities is not None:
        np.testing.assert_allclose(got.probabilities, p, rtol=1e-10)
        assert got.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    return p


def random_dense(n, seed):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(size=(n, n)), 1)
    return na.from_couplings(J + J.T, rng.normal(size=n))


@pytest.mark.parametrize("n", [1, 5, 11, 17])
@pytest.mark.parametrize("beta", [0.3, 1.7])
def test_enumeration_matches_brute_force(n, beta):
    H = random_dense(n, n)
    got = na.exact.by_enumeration(H, beta, return_probabilities=n <= 11)
    assert_matches_brute_force(got, H, beta)


@pytest.mark.parametrize("n, low_sites, chunk_size", [(5, 2, 1), (9, 3, 4), (12, 4, 8), (12, 5, 3)])
@pytest.mark.parametrize("beta", [0.4, 1.9])
def test_enumeration_over_many_chunks_matches_brute_force(monkeypatch, n, low_sites, chunk_size, beta):
    # A small low block makes the high block, scanned in chunks, large at small N: every
    # running average is then combined across 2^(n - low_sites) / chunk_size chunks.
    monkeypatch.setattr(enumeration_module, "_MAX_LOW_SITES", low_sites)
    H = random_dense(n, 100 + n)
    got = na.exact.by_enumeration(H, beta, return_probabilities=True, chunk_size=chunk_size)
    assert 2 ** (n - low_sites) // chunk_size >= 4
    assert_matches_brute_force(got, H, beta)


def test_enumeration_with_two_chunks_at_n17_matches_brute_force():
    # With the production block sizes, N = 17 leaves one high spin: chunk_size=1 gives two chunks.
    H = random_dense(17, 7)
    assert_matches_brute_force(na.exact.by_enumeration(H, 1.1, chunk_size=1), H, 1.1)


def split_enumeration(H, beta, n_rows, block=256):
    """log Z, <E>, <|M|> over all 2^N states, numpy only: the first ``n_rows`` spins index rows,
    the others columns; per-row log-sums and row-normalised sums are combined at the end."""
    n = H.n_sites
    J, h = np.asarray(H.couplings), np.asarray(H.fields)

    def spins(k):
        bits = (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)) & 1
        return 1.0 - 2.0 * bits

    a, b = slice(0, n_rows), slice(n_rows, n)
    xa, xb = spins(n_rows), spins(n - n_rows)
    ea = -0.5 * np.einsum("ci,ij,cj->c", xa, J[a, a], xa) - xa @ h[a]
    eb = -0.5 * np.einsum("ci,ij,cj->c", xb, J[b, b], xb) - xb @ h[b]
    row_log_z, row_e, row_m = [], [], []
    for start in range(0, len(xa), block):
        rows = slice(start, start + block)
        E = ea[rows, None] + eb[None, :] - (xa[rows] @ J[a, b]) @ xb.T
        M = np.abs(xa[rows].sum(1)[:, None] + xb.sum(1)[None, :])
        lz = logsumexp(-beta * E, axis=1)
        p = np.exp(-beta * E - lz[:, None])
        row_log_z.append(lz)
        row_e.append((p * E).sum(1))
        row_m.append((p * M).sum(1))
    row_log_z = np.concatenate(row_log_z)
    log_z = logsumexp(row_log_z)
    weight = np.exp(row_log_z - log_z)
    return log_z, weight @ np.concatenate(row_e), weight @ np.concatenate(row_m)


def test_default_chunking_at_n24_matches_an_independent_split():
    # N = 24 with the default chunk size scans 2^8 high configurations in 4 chunks; the
    # reference splits the spins 12/12 and combines per-row sums once, without running averages.
    H = na.sherrington_kirkpatrick(24, h=0.1, seed=3)
    beta, n = 1.3, 24
    got = na.exact.by_enumeration(H, beta)
    log_z, e, m = split_enumeration(H, beta, n_rows=12)
    np.testing.assert_allclose(got.log_z, log_z, rtol=1e-12)
    np.testing.assert_allclose(got.energy * n, e, rtol=1e-10)
    np.testing.assert_allclose(got.abs_magnetization * n, m, rtol=1e-10)
    np.testing.assert_allclose(got.free_energy, -log_z / (beta * n), rtol=1e-12)
    np.testing.assert_allclose(got.entropy, beta * (e / n + log_z / (beta * n)), rtol=1e-9)


@pytest.mark.parametrize("n", [2, 9, 16])
@pytest.mark.parametrize("beta, h", [(0.4, 0.0), (1.0, 0.3), (1.6, -0.1), (2.5, 0.05)])
def test_enumeration_equals_curie_weiss_closed_form(n, beta, h):
    H = na.curie_weiss(n, J=1.0, h=h)
    enum = na.exact.by_enumeration(H, beta)
    closed = na.exact.curie_weiss_closed_form(n, beta, J=1.0, h=h)
    for key in QUANTITIES:
        np.testing.assert_allclose(getattr(enum, key), getattr(closed, key), rtol=1e-10, atol=1e-10)


def test_sparse_and_dense_enumeration_agree():
    H = na.edwards_anderson(nk.graph.Hypercube(4, n_dim=2), "pm1", seed=3, h=0.2)
    dense = na.from_couplings(np.asarray(H.couplings), np.asarray(H.fields))
    a, b = na.exact.by_enumeration(H, 0.8), na.exact.by_enumeration(dense, 0.8)
    for key in QUANTITIES:
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-12)


def test_chunk_size_does_not_change_results():
    H = na.sherrington_kirkpatrick(20, seed=2)
    a = na.exact.by_enumeration(H, 1.2, chunk_size=1)  # 16 chunks
    b = na.exact.by_enumeration(H, 1.2, chunk_size=16)  # one chunk
    for key in QUANTITIES:
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), rtol=1e-11)


def test_log_prob_is_normalised_and_matches_enumeration():
    H = na.sherrington_kirkpatrick(10, h=0.1, seed=4)
    x = np.asarray(H.hilbert.all_states())
    lp = np.asarray(na.exact.log_prob(H, x, 1.3))
    assert logsumexp(lp) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(np.exp(lp), na.exact.by_enumeration(H, 1.3, return_probabilities=True).probabilities)


def test_log_prob_for_large_curie_weiss_uses_closed_form():
    n, beta = 2000, 1.1
    H = na.curie_weiss(n, h=0.02)
    rng = np.random.default_rng(0)
    x = rng.choice([-1, 1], size=(3, n))
    lp = np.asarray(na.exact.log_prob(H, x, beta))
    M = x.sum(1)
    energy = -(M**2 - n) / (2 * n) - 0.02 * M
    np.testing.assert_allclose(lp, -beta * energy - na.exact.curie_weiss_log_z(n, beta, h=0.02), rtol=1e-12)
