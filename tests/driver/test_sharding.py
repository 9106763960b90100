"""The driver sharded over 2 (forced host) devices gives the same estimator and statistically the same run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import netket as nk
    import numpy as np
    import netket_arnn as na
    from netket_arnn.driver import anneal, free_energy_and_grad

    H = na.curie_weiss(8)
    model = nk.models.ARNNDense(hilbert=H.hilbert, layers=1, features=2, param_dtype=jnp.float64,
                                kernel_init=jax.nn.initializers.normal(1e-2))
    vs = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=256, seed=0, sampler_seed=1)

    # 1. the estimator on fixed samples (every state once): must not depend on the devices
    fixed = jnp.asarray(H.hilbert.all_states())
    stats, grad = free_energy_and_grad(vs, H, 0.8, samples=fixed)
    grad = jnp.concatenate([jnp.ravel(g) for g in jax.tree.leaves(grad)])

    # 2. a short anneal: a different random stream per device layout, same statistics
    shards = len(vs.samples.sharding.device_set)
    res = anneal(H, vs, [0.6], optimizer=nk.optimizer.Adam(1e-2), steps_per_beta=100, n_final_samples=4096)
    print(json.dumps({
        "devices": jax.device_count(),
        "sample_shards": shards,
        "fixed_f": float(stats["free_energy"].mean),
        "fixed_grad": np.asarray(grad).tolist(),
        "records": [r.as_dict() for r in res],
    }))
    """
)


def _run_here() -> dict:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(SCRIPT, {"__name__": "sharding_script"})
    return json.loads(buffer.getvalue().strip().splitlines()[-1])


def _run(n_devices: int) -> dict:
    env = dict(os.environ)
    # The flag is read when jax starts, so it must be set in a fresh process.
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_devices}"
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sharded_run_matches_single_device():
    assert jax.device_count() == 1  # this process: the unsharded reference
    one = _run_here()
    two = _run(2)
    assert one["devices"] == 1 and two["devices"] == 2
    assert two["sample_shards"] == 2  # the samples really live on both devices
    # same estimator on the same samples, up to the order of floating-point sums
    np.testing.assert_allclose(two["fixed_f"], one["fixed_f"], rtol=1e-12)
    np.testing.assert_allclose(two["fixed_grad"], one["fixed_grad"], rtol=1e-9, atol=1e-13)
    for r1, r2 in zip(one["records"], two["records"]):
        assert r1["beta"] == r2["beta"]
        err = np.hypot(r1["free_energy_error"], r2["free_energy_error"])
        # two independent trainings: equal within the sampling noise plus the (tiny) training error
        assert abs(r1["free_energy"] - r2["free_energy"]) < 5 * err + 2e-3 * abs(r1["exact_free_energy"])
        for r in (r1, r2):
            assert r["relative_error"] < 2e-3
