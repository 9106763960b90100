"""Adapter: time TwoBo (``cqsl/sparse-twobody-arnn``, JAX + Equinox) on one benchmark configuration.

Run by ``bench_training.py`` in its own process::

    python benchmarks/external/twobo.py --code PATH --spec spec.json --out result.json

``PATH`` is a checkout of the TwoBo repository; its ``main.py`` (with ``nets`` and ``ham``)
is imported from there at run time (nothing is copied here). Its ``args.py`` parses
``sys.argv`` on import, so the adapter sets ``--ham_path`` and ``--batch_size`` there first.

The network is the one of ``main.py --net_type twobo`` (``TwoBoOnlySkip``, float32, gelu,
``weight_skip=2``, ``use_beta_skip=True``) with ``optax.adam(lr)``. The step timed is
``main.update`` itself, TwoBo's jitted training step: ``net.sample`` (a ``lax.scan`` over
sites that also returns the conditionals, so log q of the samples costs nothing more), the
energies (a dense ``einsum`` over the full ``(N, N)`` coupling matrix, O(B N²)), a
forward and backward pass of ``net(x)`` for the REINFORCE gradient
``mean((loss - mean loss) * log q)``, and the Adam update, plus the statistics it logs.

Parts (separately jitted, for a profile): ``sample``, ``log_q_forward`` (``net(x)``),
``log_q_and_grad`` (the gradient of the REINFORCE loss, as in ``update``), ``energy``,
``update`` (Adam + ``eqx.apply_updates``).

The instance: ``spec["twobo_instance"]`` (one of TwoBo's ``.npz`` files, read with its own
``load_ham``) or else ``spec["instance"]`` (the ``.npz`` of ``bench_training.py``, turned into
the same upper-triangular matrix ``load_ham`` builds).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure as M  # noqa: E402


def load_hamiltonian(tb, spec):
    import numpy as np

    if spec.get("twobo_instance"):
        return tb.load_ham(spec["twobo_instance"])
    data = np.load(spec["instance"])
    n = int(data["N"])
    i, j = data["edges"][:, 0], data["edges"][:, 1]
    J = np.zeros((n, n), dtype=tb.dtype)
    J[np.minimum(i, j), np.maximum(i, j)] = data["weights"]  # = np.triu(J + J.T, k=1) of load_ham
    return tb.GeneralSpinsModel(batch_size=1, N=n, J=J[None], h=np.zeros((1, n), dtype=tb.dtype), dtype=tb.dtype)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", required=True, help="checkout of cqsl/sparse-twobody-arnn")
    parser.add_argument("--spec", required=True, help="JSON file with the configuration")
    parser.add_argument("--out", required=True, help="JSON file for the result")
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    code = Path(args.code).resolve()
    if not (code / "nets" / "twobo.py").exists():
        raise SystemExit(f"--code {code}: not a checkout of cqsl/sparse-twobody-arnn (no nets/twobo.py)")

    batch, beta, lr = int(spec["batch"]), float(spec["beta"]), float(spec["lr"])
    repeats, warmup, threshold = int(spec["repeats"]), int(spec["warmup"]), float(spec["max_foreign_load"])
    ham_path = spec.get("twobo_instance") or spec["instance"]
    sys.argv = [str(code / "main.py"), "--ham_path", ham_path, "--batch_size", str(batch), "--lr", str(lr)]
    sys.path.insert(0, str(code))

    import equinox as eqx
    import jax
    import main as tb  # TwoBo's main.py

    compiles = M.jax_compile_counter()
    import optax

    ham = load_hamiltonian(tb, spec)
    n = ham.N
    J = ham.J[0]
    key = jax.random.PRNGKey(0)  # main.run_vmc with --opt_seed 0
    key, key_net = jax.random.split(key)
    net = tb.TwoBoOnlySkip(N=n, J=J, param_dtype=tb.dtype, key=key_net, weight_skip=2, use_beta_skip=True)
    optimizer = optax.adam(learning_rate=lr)
    opt_state = optimizer.init(eqx.filter(net, eqx.is_array))
    result = {"n_parameters": int(tb.tree_size_real_nonzero(net)), "N": int(n), "len_x1": int(net.len_x1)}

    state = {"net": net, "opt_state": opt_state, "key": key}

    def step():
        out = tb.update(state["net"], state["opt_state"], state["key"], ham, optimizer, beta)
        state["net"], state["opt_state"], state["key"] = out[:3]
        return out

    M.log(f"    twobo N={n}: compiling and timing main.update")
    result["step"] = M.measure(step, repeats, warmup, threshold, jax.block_until_ready, compiles)

    net, opt_state = state["net"], state["opt_state"]
    params, static = eqx.partition(net, eqx.is_array)
    sample = jax.jit(lambda net, key, J: net.sample(batch, n, J, beta, key))
    x, x_hat = sample(net, jax.random.PRNGKey(1), J)
    log_q = net.get_log_p(x, x_hat)
    loss = log_q + beta * ham(x)

    @jax.jit
    def log_q_and_grad(params, x, loss, J):
        def loss_fun(params):  # main.update
            return ((loss - loss.mean()) * eqx.combine(params, static)(x, J, beta)).mean()

        return jax.grad(loss_fun)(params)

    @jax.jit
    def update(grads, opt_state, params):
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state

    forward = jax.jit(lambda params, x, J: eqx.combine(params, static)(x, J, beta))
    energy = jax.jit(lambda ham, x: ham(x))
    grads = log_q_and_grad(params, x, loss, J)
    keys = iter(jax.random.split(jax.random.PRNGKey(2), warmup + repeats + 3))

    def timed(fn):
        return M.measure(fn, repeats, warmup, threshold, jax.block_until_ready, compiles)

    result["parts"] = {
        "sample": timed(lambda: sample(net, next(keys), J)),
        "log_q_forward": timed(lambda: forward(params, x, J)),
        "log_q_and_grad": timed(lambda: log_q_and_grad(params, x, loss, J)),
        "energy": timed(lambda: energy(ham, x)),
        "update": timed(lambda: update(grads, opt_state, params)),
    }
    result.update(
        {
            "side": "twobo",
            "dtype": "float32",
            "devices": [str(d) for d in jax.devices()],
            "peak_rss_bytes": M.peak_rss_bytes(),
            "versions": M.versions("jax", "jaxlib", "equinox", "optax", "numpy"),
            "code_commit": M.git_commit(code),
            "instance": Path(ham_path).name,
        }
    )
    M.write_json(args.out, result)


if __name__ == "__main__":
    main()
