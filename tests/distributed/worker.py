"""One process of the distributed checks: the public entry points on a small system, results as JSON.

Run as each of 2 processes (:func:`launcher.launch`) and as one process with 2 forced host
devices; ``test_distributed.py`` compares what they write. Usage::

    python worker.py OUT [--interrupted]

``OUT/result_<process index>.json`` receives the results; the files the package writes (results,
checkpoints, a dataset) go to ``OUT/files``. With ``--interrupted`` the anneal is run as two
calls, the second resuming the checkpoint of the first; without, in one call: both must end
with the same records and parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import time

import jax

if os.environ.get("JAX_COORDINATOR_ADDRESS"):
    jax.distributed.initialize()  # the launcher's SLURM-like environment; before netket is imported
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import netket as nk  # noqa: E402
import numpy as np  # noqa: E402

import netket_arnn as na  # noqa: E402
from netket_arnn import _io  # noqa: E402
from netket_arnn.driver import (  # noqa: E402
    Checkpointing,
    FinalEstimates,
    MaximumLikelihood,
    VariationalFreeEnergy,
    anneal,
)

OUT = sys.argv[1]
FILES = os.path.join(OUT, "files")
N = 8
writes = []  # the files this process wrote itself
_write_here = _io._write_here
_io._write_here = lambda path, write: (writes.append(os.path.basename(path)), _write_here(path, write))
out = {"process_count": jax.process_count(), "device_count": jax.device_count(), "seconds": {}}
_clock = [time.perf_counter()]


def lap(name):
    now = time.perf_counter()
    out["seconds"][name] = round(now - _clock[0], 2)
    _clock[0] = now


def flat(tree) -> list[float]:
    return np.concatenate([np.ravel(np.asarray(x)) for x in jax.tree.leaves(tree)]).tolist()


def digest(x) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(x, dtype=np.int8)).tobytes()).hexdigest()[:16]


def state(H, seed=0):
    model = nk.models.ARNNDense(
        hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64, kernel_init=jax.nn.initializers.normal(0.1)
    )
    return nk.vqs.MCState(na.ARDirectSampler(H.hilbert), model, n_samples=256, seed=seed, sampler_seed=seed + 1)


H = na.curie_weiss(N)

# VariationalFreeEnergy: the samples live on every device of every process
vs = state(H)
out["sample_shards"] = len(vs.samples.sharding.device_set)
driver = VariationalFreeEnergy(H, nk.optimizer.Adam(1e-2), variational_state=vs, beta=0.6)
log = nk.logging.RuntimeLog()
driver.run(10, out=log, show_progress=False)
out["vfe_params"] = flat(vs.parameters)
out["vfe_f"] = np.asarray(log.data["free_energy"]["Mean"]).tolist()
lap("vfe")

# anneal with P(q), unbiased ARNN-proposal samples, a results file and a checkpoint
betas = [0.5, 0.7]
estimates = FinalEstimates(n_samples=512, overlaps=True, unbiased_samples=128)
kwargs = dict(optimizer=nk.optimizer.Adam(1e-2), steps_per_beta=10, estimates=estimates, show_progress=False)
kwargs.update(results_file=os.path.join(FILES, "anneal.json"))
checkpoint = os.path.join(FILES, "anneal.mpack")
if "--interrupted" in sys.argv:
    anneal(H, state(H), betas[:1], checkpointing=Checkpointing(checkpoint), **kwargs)
    vs = state(H)
    res = anneal(H, vs, betas, checkpointing=Checkpointing(checkpoint, resume=True), **kwargs)
else:
    vs = state(H)
    res = anneal(H, vs, betas, checkpointing=Checkpointing(checkpoint), **kwargs)
out["anneal"] = [{k: v for k, v in r.as_dict().items() if k != "wall_time"} for r in res]
out["anneal_params"] = flat(vs.parameters)
with open(os.path.join(FILES, "anneal.json")) as f:  # the file every process reads back
    out["anneal_file_betas"] = [r["beta"] for r in json.load(f)["records"]]
lap("anneal")

# maximum likelihood on fixed data (the same array on every process)
data = np.where(np.random.default_rng(5).random((512, N)) < 0.7, 1, -1).astype(np.int8)
ml = MaximumLikelihood(data, nk.optimizer.Adam(1e-2), variational_state=state(H), batch_size=64)
ml.run(6, show_progress=False)
out["ml_params"] = flat(ml.state.parameters)
out["ml_validation"] = float(ml.validation_nll().mean)
lap("ml")

# Metropolis samples of exp(-beta H), chains over the devices; written once, read by all
ds = na.data.sample_boltzmann(H, 0.5, 256, n_chains=16, n_burn_in_sweeps=10, seed=3)
ds.save(os.path.join(FILES, "mc.npz"))
back = na.data.BoltzmannDataset.load(os.path.join(FILES, "mc.npz"), warn=False)
out["mc_digest"] = digest(ds.samples)
out["mc_loaded_digest"] = digest(back.samples)
out["mc_diagnostics"] = ds.diagnostics.as_dict()
out["mc_acceptance"] = ds.sampler["acceptance"]
lap("mc")

out["writes"] = sorted(set(writes))
out["n_writes"] = len(writes)
out["modes"] = {
    name: oct(stat.S_IMODE(os.stat(os.path.join(FILES, name)).st_mode)) for name in ("anneal.json", "mc.npz")
}
with open(os.path.join(OUT, f"result_{jax.process_index()}.json"), "w") as f:
    json.dump(out, f)
print("worker finished", jax.process_index(), flush=True)
