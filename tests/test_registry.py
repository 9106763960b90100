"""The registry of named nets: every net builds under the precision policy; users add their own."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

import netket_arnn as na
from netket_arnn import registry


def _first_array_dtypes(module, H):
    import jax

    variables = module.init(jax.random.PRNGKey(0), jnp.ones((1, H.n_sites)))
    return {np.dtype(leaf.dtype) for leaf in jax.tree.leaves(variables.get("params", {}))}


def test_every_net_builds_with_both_precisions_and_its_stage_is_known():
    H = na.sherrington_kirkpatrick(6, seed=1)
    cw = na.curie_weiss(6)
    for name in na.net_names():
        net = na.get_net(name)
        assert net.beta_stage in registry.BETA_STAGES and net.label and net.description
        system = cw if name in ("cw_n", "cw_inf", "1p") else H
        module = na.build_net(name, system, 0.5, param_dtype=jnp.float32, dtype=jnp.float32)
        assert module.param_dtype == jnp.float32, name
        if hasattr(module, "dtype"):
            assert module.dtype == jnp.float32, name
        module = na.build_net(name, system, 0.5)  # the policy's defaults
        assert np.dtype(module.param_dtype) == np.float64, name
        params = _first_array_dtypes(module, system)
        assert params <= {np.dtype(np.float64)}, (name, params)
    # the labels of the paper, and the stages the protocol needs
    assert na.get_net("sk_1rsb").label == "SK_1RSB" and na.get_net("cw_inf").label == "CW_∞"
    assert na.get_net("cw_n").beta_stage == "exact" and na.get_net("h2").beta_stage == "exact"
    assert na.get_net("sk_1rsb").beta_stage == "train" and not na.get_net("sk_1rsb").learned_couplings
    assert na.get_net("sk_1rsb_learned").learned_couplings and na.get_net("1l").learned_couplings
    assert na.get_net("sk_rs_sparse").build(H, 0.5, param_dtype=jnp.float64, dtype=jnp.float32).is_sparse
    assert na.get_net("h2").chunk_size(16) == 64 and na.get_net("sk_1rsb").chunk_size(16) is None


def test_learned_variant_starts_from_random_couplings_on_a_blank_hamiltonian():
    import jax

    blank = na.from_couplings(np.zeros((6, 6)))
    module = na.build_net("sk_1rsb_learned", blank, 1.0, couplings_init_scale=0.1)
    variables = module.init(jax.random.PRNGKey(0), jnp.ones((1, 6)))
    couplings = [
        np.asarray(v) for p, v in jax.tree_util.tree_leaves_with_path(variables["params"]) if "first" in str(p)
    ]
    assert couplings and 0.01 < np.std(np.concatenate([c.ravel() for c in couplings])) < 1.0


def test_user_registers_a_net_and_builds_it_by_name():
    calls = []

    def build(H, beta, *, param_dtype, dtype, scale=1.0):
        calls.append((beta, param_dtype, dtype, scale))
        return na.models.SingleLayerARNN.from_hamiltonian(H, beta * scale, param_dtype=param_dtype, dtype=dtype)

    net = na.Net("scaled_1l", "My 1L", "1L at a scaled β", build, defaults={"scale": 2.0})
    try:
        na.register_net(net)
        assert "scaled_1l" in na.net_names()
        H = na.sherrington_kirkpatrick(5, seed=2)
        module = na.build_net("scaled_1l", H, 0.25, dtype=jnp.float64)
        assert calls[-1] == (0.25, np.dtype(np.float64), jnp.float64, 2.0)
        assert isinstance(module, na.models.SingleLayerARNN)
        na.build_net("scaled_1l", H, 0.25, scale=3.0)
        assert calls[-1][-1] == 3.0
        with pytest.raises(ValueError, match="already registered"):
            na.register_net(net)
        na.register_net(net, overwrite=True)
    finally:
        registry._NETS.pop("scaled_1l", None)
    with pytest.raises(KeyError, match="unknown net 'scaled_1l'.*sk_1rsb"):
        na.get_net("scaled_1l")


def test_bad_nets_are_refused():
    with pytest.raises(ValueError, match="beta_stage"):
        na.Net("x", "X", "x", lambda *a, **k: None, beta_stage="anneal")
    with pytest.raises(ValueError, match="name"):
        na.Net("two words", "X", "x", lambda *a, **k: None)
    with pytest.raises(TypeError, match="callable"):
        na.Net("x", "X", "x", build=None)
    with pytest.raises(TypeError, match="Net"):
        na.register_net({"name": "x"})


def test_plugin_file_registers_nets(tmp_path):
    plugin = tmp_path / "plugin_nets.py"
    plugin.write_text(
        textwrap.dedent(
            """
            import netket_arnn as na

            na.register_net(na.Net("plugin_net", "P", "from a plugin", na.get_net("1l").build), overwrite=True)
            """
        )
    )
    try:
        registry.load_plugin(str(plugin))
        assert na.get_net("plugin_net").description == "from a plugin"
    finally:
        registry._NETS.pop("plugin_net", None)
    with pytest.raises(FileNotFoundError, match="plugin"):
        registry.load_plugin(str(tmp_path / "missing.py"))
    with pytest.raises(ModuleNotFoundError, match="no_such_plugin_module"):
        registry.load_plugin("no_such_plugin_module")


def test_recipes_is_a_deprecated_alias():
    from netket_arnn import recipes

    H = na.sherrington_kirkpatrick(5, seed=2)
    with pytest.warns(DeprecationWarning, match="build_net"):
        module = recipes.build("made_32", H, 0.5)
    assert module.param_dtype == jnp.float64
    with pytest.warns(DeprecationWarning, match="registry.nets"):
        assert "sk_1rsb" in recipes.RECIPES


def test_importing_the_package_and_listing_nets_imports_neither_jax_nor_netket():
    code = (
        "import sys, netket_arnn as na; na.net_names(); na.get_net('sk_1rsb'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'netket', 'flax')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    # and the lazy names resolve to the real objects
    from netket_arnn.driver import anneal

    assert na.anneal is anneal and "anneal" in dir(na)
    with pytest.raises(AttributeError, match="no_such_name"):
        na.no_such_name  # noqa: B018


def test_nets_that_learn_from_data_are_the_ones_fit_offers():
    from netket_arnn.cli.fit import fit_models

    learners = [name for name in na.net_names() if na.get_net(name).learns_from_data]
    assert fit_models() == learners
    assert {"sk_1rsb_learned", "1l", "made_23"} <= set(learners)
    assert "sk_1rsb" not in learners and "cw_n" not in learners and "h2" not in learners
