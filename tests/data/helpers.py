"""Shared helpers of the data tests: exact samples by enumeration, the published Fig. 6 file."""

from __future__ import annotations

import os

import numpy as np

from netket_arnn import exact

PAPER_FIG6 = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "data", "paper", "sk_fig6_mc_data.npz")


def exact_distribution(H, beta):
    """``(all_states (2^N, N) int8, probabilities (2^N,), Thermodynamics)`` by enumeration."""
    thermo = exact.by_enumeration(H, beta, return_probabilities=True)
    states = np.asarray(H.hilbert.all_states()).astype(np.int8)
    return states, thermo.probabilities, thermo


def exact_samples(H, beta, n_samples: int, seed: int) -> np.ndarray:
    """``n_samples`` independent samples of exp(-beta H) drawn from the enumerated distribution."""
    states, p, _ = exact_distribution(H, beta)
    return states[np.random.default_rng(seed).choice(len(p), size=n_samples, p=p)]


def kl_divergence(p: np.ndarray, log_q: np.ndarray) -> float:
    """KL(p || q) over all states (``p`` probabilities, ``log_q`` normalised log-probabilities)."""
    mask = p > 0
    return float(np.sum(p[mask] * (np.log(p[mask]) - log_q[mask])))
