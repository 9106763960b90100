"""``netket-arnn sample``: equilibrium Monte Carlo samples of exp(-βH), written as a dataset.

Draws samples with NetKet's MetropolisLocal or ParallelTemperingLocal (the Boltzmann weight as
the sampled machine), computes the equilibration diagnostics (integrated autocorrelation time of
the energy, split-R̂ across chains, first-vs-last-quarter energy drift) and writes one ``.npz``
file (int8 spins, β, the Hamiltonian or only its fingerprint, the diagnostics and the sampler
settings, and the provenance: versions, time, command line; see netket_arnn.data.BoltzmannDataset).
A dataset whose diagnostics fail is still written, flagged in the file, and the command says so
loudly on stderr. An existing file is not replaced unless --overwrite is given.

Example: netket-arnn sample --system sk --n 100 --seed 4 --beta 2 --method parallel_tempering \\
             --n-samples 10000 --sweeps-per-sample 5 --burn-in 5000 --out sk100_beta2.npz
"""

from __future__ import annotations

import argparse
import os
import sys

from .._provenance import provenance
from ._args import HelpFormatter, non_negative_int, plain, positive_float, positive_int
from ._output import claim_file, speaker
from ._system import add_system_arguments, build_system

NAME = "sample"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="draw equilibrium Monte Carlo samples and write a dataset with its diagnostics",
        description=plain(__doc__),
        formatter_class=HelpFormatter,
    )
    add_system_arguments(p, default="sk")

    g = p.add_argument_group("sampling")
    g.add_argument("--beta", type=positive_float, required=True, help="inverse temperature")
    g.add_argument("--n-samples", type=positive_int, default=10000, help="samples stored (rounded up per chain)")
    g.add_argument("--method", choices=["metropolis", "parallel_tempering"], default="metropolis", help="sampler")
    g.add_argument("--chains", type=positive_int, default=16, help="independent Markov chains")
    g.add_argument("--replicas", type=positive_int, default=16, help="parallel tempering: replicas per chain (even)")
    g.add_argument("--sweeps-per-sample", type=positive_int, default=1, help="sweeps between stored samples")
    g.add_argument("--burn-in", type=non_negative_int, default=1000, help="sweeps discarded first")
    g.add_argument("--mc-seed", type=non_negative_int, default=0, help="seed of the Markov chains")
    g.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="dtype of the energies")

    g = p.add_argument_group("output")
    g.add_argument("--out", required=True, help="dataset file to write (.npz)")
    g.add_argument("--overwrite", action="store_true", help="replace the file --out if it exists")
    g.add_argument("--no-couplings", action="store_true", help="store only the Hamiltonian's fingerprint")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    import dataclasses
    import warnings

    claim_file(args.out, overwrite=args.overwrite)
    import jax

    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from ..data import EquilibrationWarning, sample_boltzmann

    H, label = build_system(args)
    say = speaker(args.quiet)
    say(f"system: {label}   β = {args.beta:g}   method: {args.method}   output: {args.out}")
    folder = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquilibrationWarning)  # reported below, on stderr
        data = sample_boltzmann(
            H,
            args.beta,
            args.n_samples,
            method=args.method,
            n_chains=args.chains,
            sweeps_per_sample=args.sweeps_per_sample,
            n_burn_in_sweeps=args.burn_in,
            n_replicas=args.replicas,
            seed=args.mc_seed,
            dtype=jnp.float32 if args.dtype == "float32" else jnp.float64,
            store_couplings=not args.no_couplings,
            progress=not args.quiet,
        )
    metadata = {**data.metadata, "system": label, "provenance": provenance(dtype=args.dtype)}
    data = dataclasses.replace(data, metadata=metadata)
    data.save(args.out)
    seconds = data.sampler["sampling_seconds"] + data.sampler["burn_in_seconds"]
    say(f"{data.n_samples} samples in {seconds:.1f} s (acceptance {data.sampler['acceptance']:.3f})")
    say("diagnostics:", data.diagnostics.summary())
    if not data.passed:
        print(
            f"netket-arnn sample: WARNING: the diagnostics FAILED, the dataset is flagged as not equilibrated "
            f"({'; '.join(data.diagnostics.failures)}); more burn-in, sweeps or replicas may help",
            file=sys.stderr,
        )
    say(f"wrote {args.out}")
    return 0
