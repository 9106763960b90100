"""Shared checks of sample batches and Hamiltonians."""

from __future__ import annotations

import jax.numpy as jnp


def flat_samples(samples):
    samples = jnp.asarray(samples)
    if samples.ndim < 2:
        raise ValueError(f"samples must have shape (..., N), got {samples.shape}")
    return samples.reshape((-1, samples.shape[-1]))


def energies(hamiltonian, x):
    energy = getattr(hamiltonian, "energy", None)
    if not callable(energy):
        raise TypeError(
            f"{type(hamiltonian).__name__} has no batched `energy(x)` method: the free energy "
            "is defined for classical (diagonal) Hamiltonians such as netket_arnn.PairwiseIsing"
        )
    return energy(x)
