r"""Adapter: time or train TwoBo (``cqsl/sparse-twobody-arnn``, JAX + Equinox) on one configuration.

Run in its own process, by ``bench_training.py`` (``--task time``, the default) or by
``examples/lattices.py`` (``--task train``)::

    python benchmarks/external/twobo.py --code PATH --spec spec.json --out result.json [--task train]

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
``load_ham``) or else ``spec["instance"]`` (an ``.npz`` holding ``N``, ``edges`` and ``weights``,
turned into the same upper-triangular matrix ``load_ham`` builds).

**Training** (``--task train``): TwoBo's own protocol, ``main.run_vmc`` step for step (the
network and initialisation of ``--net_type twobo``, ``--opt_seed`` = ``spec["seed"]``, one
``main.update`` per step), over the β grid ``spec["betas"]`` with ``spec["warmup"]`` extra steps
at the first β and ``spec["steps_per_beta"]`` at each, batch ``spec["batch"]``, Adam with the
learning rate of step ``t`` read from ``spec["learning_rates"][t]`` (so the schedule is the
caller's, value for value). After the steps at each β, ``spec["n_final_samples"]`` fresh samples
give, with TwoBo's own log q (``net.get_log_p`` of the conditionals ``net.sample`` returns) and
energies (``ham``):

- :math:`f[q] = \langle \log q + \beta E\rangle_q / (\beta N)` and its error of the mean;
- the importance weights :math:`w = e^{-\beta E - \log q}`: :math:`\log \hat Z = \log
  \langle w\rangle_q` and the effective sample size :math:`(\sum w)^2 / (M \sum w^2)`, as a
  fraction of the :math:`M` samples;
- the energy and entropy per spin.

The records are written to ``--out`` after every β (``{"records": [...], "finished": bool}``),
so that a caller can show progress and reuse a finished run.
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
    parser.add_argument("--task", choices=("time", "train"), default="time", help="time one step, or train")
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    code = Path(args.code).resolve()
    if not (code / "nets" / "twobo.py").exists():
        raise SystemExit(f"--code {code}: not a checkout of cqsl/sparse-twobody-arnn (no nets/twobo.py)")

    if args.task == "train":
        train(code, spec, args.out)
        return
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


def import_twobo(code: Path, ham_path: str, batch: int):
    """TwoBo's ``main`` module; its ``args.py`` parses ``sys.argv`` on import, so that is set first."""
    sys.argv = [str(code / "main.py"), "--ham_path", ham_path, "--batch_size", str(batch)]
    sys.path.insert(0, str(code))
    import main as tb  # TwoBo's main.py

    return tb


def estimates(tb, net, ham, beta: float, n_samples: int, key, chunk: int) -> dict:
    """f[q], its error, log Z and ESS/M of the importance weights, e and s, from fresh samples."""
    import equinox as eqx
    import jax
    import numpy as np

    n, J = ham.N, ham.J[0]

    @eqx.filter_jit
    def draw(net, key, size):
        x, x_hat = net.sample(size, n, J, beta, key)
        return net.get_log_p(x, x_hat), ham(x)

    log_q, energy = [], []
    for k, start in enumerate(range(0, n_samples, chunk)):
        lq, e = draw(net, jax.random.fold_in(key, k), min(chunk, n_samples - start))
        log_q.append(np.asarray(lq, dtype=np.float64)), energy.append(np.asarray(e, dtype=np.float64))
    log_q, energy = np.concatenate(log_q), np.concatenate(energy)
    loss = (log_q + beta * energy) / (beta * n)  # per spin: f[q] is its mean
    log_w = -beta * energy - log_q
    top = log_w.max()
    w = np.exp(log_w - top)
    m = len(w)
    log_z = top + np.log(w.mean())
    # delta method: Var(log mean w) ~ Var(w) / (M mean(w)^2)
    log_z_error = float(np.sqrt(w.var() / m) / w.mean())
    return {
        "beta": beta,
        "free_energy": float(loss.mean()),
        "free_energy_error": float(loss.std(ddof=1) / np.sqrt(m)),
        "energy": float(energy.mean() / n),
        "entropy": float(-log_q.mean() / n),
        "log_z": float(log_z),
        "log_z_error": log_z_error,
        "ess_fraction": float(w.sum() ** 2 / (m * (w**2).sum())),
        "n_samples": int(m),
    }


def train(code: Path, spec: dict, out: str) -> None:
    """TwoBo's ``run_vmc`` over ``spec["betas"]`` with the caller's learning rates; records per β."""
    import time

    import numpy as np

    batch, seed = int(spec["batch"]), int(spec.get("seed", 0))
    betas = [float(b) for b in spec["betas"]]
    warmup, steps = int(spec["warmup"]), int(spec["steps_per_beta"])
    rates = np.asarray(spec["learning_rates"], dtype=np.float32)
    total = warmup + steps * len(betas)
    if rates.shape != (total,):
        raise SystemExit(f"spec: learning_rates must hold one rate per step ({total}), got {rates.shape}")
    ham_path = spec.get("twobo_instance") or spec["instance"]
    tb = import_twobo(code, ham_path, batch)

    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    ham = load_hamiltonian(tb, spec)
    n = ham.N
    key = jax.random.PRNGKey(seed)  # main.run_vmc
    key, key_net = jax.random.split(key)
    net = tb.TwoBoOnlySkip(N=n, J=ham.J[0], param_dtype=tb.dtype, key=key_net, weight_skip=2, use_beta_skip=True)
    table = jnp.asarray(rates)
    optimizer = optax.adam(learning_rate=lambda count: table[jnp.minimum(count, total - 1)])
    opt_state = optimizer.init(eqx.filter(net, eqx.is_array))
    result = {
        "side": "twobo",
        "net": "TwoBoOnlySkip (main.py --net_type twobo)",
        "dtype": "float32",
        "n_parameters": int(tb.tree_size_real_nonzero(net)),
        "N": int(n),
        "len_x1": int(net.len_x1),
        "instance": Path(ham_path).name,
        "settings": {k: v for k, v in spec.items() if k != "learning_rates"},
        "code_commit": M.git_commit(code),
        "versions": M.versions("jax", "jaxlib", "equinox", "optax", "numpy"),
        "devices": [str(d) for d in jax.devices()],
        "records": [],
        "finished": False,
    }
    estimate_key = jax.random.PRNGKey(seed + 1)
    for k, beta in enumerate(betas):
        start = time.perf_counter()
        n_steps = steps + (warmup if k == 0 else 0)
        for _ in range(n_steps):
            net, opt_state, key, *_ = tb.update(net, opt_state, key, ham, optimizer, beta)
        jax.block_until_ready(eqx.filter(net, eqx.is_array))
        train_seconds = time.perf_counter() - start
        record = estimates(tb, net, ham, beta, int(spec["n_final_samples"]), jax.random.fold_in(estimate_key, k), batch)
        record.update(steps=n_steps, train_seconds=train_seconds, wall_time=time.perf_counter() - start)
        result["records"].append(record)
        result["finished"] = k + 1 == len(betas)
        result["peak_rss_bytes"] = M.peak_rss_bytes()
        M.write_json(out, result)
        M.log(
            f"    twobo β = {beta:.4g}: f[q] = {record['free_energy']:.6f} ± {record['free_energy_error']:.1e}, "
            f"ESS/M = {record['ess_fraction']:.3f} ({n_steps} steps, {train_seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()
