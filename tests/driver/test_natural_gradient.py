"""SR in sample space: the same update as NetKet's dense SR, through the (M, M) kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import jax.flatten_util
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax
import pytest

import netket_arnn as na
from netket_arnn.driver import SampleSpaceSR, VariationalFreeEnergy


def _state(name, H, n_samples, beta=0.8):
    return nk.vqs.MCState(
        na.ARDirectSampler(H.hilbert), na.build_net(name, H, beta), n_samples=n_samples, seed=0, sampler_seed=1
    )


def _dense_sr(vs, g, shift):
    sr = nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTJacobianDense, solver=nk.optimizer.solver.cholesky, diag_shift=shift)
    return jax.flatten_util.ravel_pytree(sr(vs, g, 0))[0]


@pytest.mark.parametrize("n_samples", [32, 2048])  # fewer and more samples than the 684 parameters
def test_equals_netkets_dense_sr_for_any_gradient(n_samples):
    H = na.sherrington_kirkpatrick(12, seed=1)
    vs = _state("sk_1rsb", H, n_samples)
    assert (vs.n_parameters > n_samples) == (n_samples == 32)
    rng = np.random.default_rng(0)
    g = jax.tree_util.tree_map(lambda p: jnp.asarray(rng.normal(size=p.shape)), vs.parameters)
    for shift in (1e-2, 1e-4):
        expected = _dense_sr(vs, g, shift)
        got = jax.flatten_util.ravel_pytree(SampleSpaceSR(shift)(vs, g, 0))[0]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * float(jnp.abs(expected).max()))


def test_free_energy_gradient_is_preconditioned_like_dense_sr_and_chunks_change_nothing():
    H = na.curie_weiss(10)
    vs = _state("1p", H, 64, beta=1.2)
    _, grad = na.driver.free_energy_and_grad(vs, H, 1.2)
    expected = _dense_sr(vs, grad, 1e-3)
    for chunk in (None, 16):
        got = jax.flatten_util.ravel_pytree(SampleSpaceSR(1e-3, chunk_size=chunk)(vs, grad))[0]
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10 * float(jnp.abs(expected).max()))
    # the shift matters: a preconditioner that ignored it would pass the comparison above only by chance
    other = jax.flatten_util.ravel_pytree(SampleSpaceSR(1e-1)(vs, grad))[0]
    assert float(jnp.abs(other - expected).max()) > 1e-3 * float(jnp.abs(expected).max())


def test_driver_steps_match_dense_sr_step_for_step():
    H = na.sherrington_kirkpatrick(10, seed=2)
    params = []
    for pre in (
        SampleSpaceSR(1e-3),
        nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTJacobianDense, solver=nk.optimizer.solver.cholesky, diag_shift=1e-3),
    ):
        vs = _state("sk_rs", H, 128, beta=0.7)
        driver = VariationalFreeEnergy(H, optax.sgd(0.5), variational_state=vs, beta=0.7, preconditioner=pre)
        driver.run(4, show_progress=False)
        params.append(jax.flatten_util.ravel_pytree(vs.parameters)[0])
    np.testing.assert_allclose(params[0], params[1], rtol=1e-7, atol=1e-10)


def test_steps_lower_the_free_energy_of_a_net_with_more_parameters_than_samples():
    H = na.sherrington_kirkpatrick(12, seed=3)
    vs = _state("sk_1rsb", H, 256, beta=1.0)
    assert vs.n_parameters > vs.n_samples
    exact = na.exact.reference_free_energy(H)(1.0)
    driver = VariationalFreeEnergy(
        H, optax.sgd(0.1 * 1.0 * 12 / 4), variational_state=vs, beta=1.0, preconditioner=SampleSpaceSR(1e-4)
    )
    log = nk.logging.RuntimeLog()
    driver.run(60, out=log, show_progress=False)
    f = np.asarray(log.data["free_energy_per_spin"]["Mean"])
    first, last = f[:5].mean() - exact, f[-10:].mean() - exact
    assert last < 0.2 * first, (first, last)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"diag_shift": 0.0}, "diag_shift"),
        ({"diag_shift": -1.0}, "diag_shift"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SampleSpaceSR(**kwargs)


def test_checkpoint_signature_tells_sample_space_sr_settings_apart():
    from netket_arnn.driver.checkpoint import preconditioner_settings

    assert preconditioner_settings(SampleSpaceSR(1e-3)) == preconditioner_settings(
        SampleSpaceSR(1e-3, chunk_size=64)
    )  # the same update
    assert preconditioner_settings(SampleSpaceSR(1e-3)) != preconditioner_settings(SampleSpaceSR(1e-4))
    assert preconditioner_settings(SampleSpaceSR(1e-3))["type"] == "SampleSpaceSR"


SHARDED = """
import json
import jax
jax.config.update("jax_enable_x64", True)
import jax.flatten_util
import jax.numpy as jnp
import netket as nk
import numpy as np
import netket_arnn as na

H = na.sherrington_kirkpatrick(10, seed=5)
vs = nk.vqs.MCState(na.ARDirectSampler(H.hilbert), na.build_net("sk_1rsb", H, 0.8), n_samples=64, seed=0)
_, grad = na.driver.free_energy_and_grad(vs, H, 0.8)
sr = nk.optimizer.SR(qgt=nk.optimizer.qgt.QGTJacobianDense, solver=nk.optimizer.solver.cholesky, diag_shift=1e-3)
dense = jax.flatten_util.ravel_pytree(sr(vs, grad, 0))[0]
kernel = jax.flatten_util.ravel_pytree(na.driver.SampleSpaceSR(1e-3)(vs, grad, 0))[0]
print(json.dumps({
    "devices": jax.device_count(),
    "shards": len(vs.samples.sharding.device_set),
    "more_parameters": bool(vs.n_parameters > vs.n_samples),
    "difference": float(jnp.abs(kernel - dense).max() / jnp.abs(dense).max()),
}))
"""


def test_samples_sharded_over_two_devices_give_the_dense_sr_update():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2 and result["shards"] == 2 and result["more_parameters"]
    assert result["difference"] < 1e-9, result


def test_a_complex_model_is_refused_with_a_pointer_to_netkets_sr():
    hilbert = nk.hilbert.Spin(0.5, 4)
    vs = nk.vqs.MCState(nk.sampler.MetropolisLocal(hilbert), nk.models.RBM(param_dtype=complex), n_samples=16)
    g = jax.tree_util.tree_map(jnp.zeros_like, vs.parameters)
    with pytest.raises(TypeError, match="nk.optimizer.SR"):
        SampleSpaceSR(1e-3)(vs, g)
