"""Adapter: time the paper's own code (``ocadni/h2arnn``, PyTorch) on one benchmark configuration.

Run by ``bench_training.py`` in its own process::

    python benchmarks/external/h2arnn_paper.py --code PATH --spec spec.json --out result.json

``PATH`` is a checkout of the paper's repository; its ``python_lib`` package is imported from
there at run time (nothing of it is copied here). The networks are built the way its
``python_lib/run.py`` builds them (``SK_case`` for dense SK_kRSB, ``from_file_case`` with
``--sparse true`` for sparse couplings, ``CW_case`` with ``CWARNN`` for CW_N), in its default
float32, with ``torch.set_num_threads(spec["threads"])``.

Tasks (``spec["task"]``):

- ``train_step``: one training step of ``ANN.train`` (``python_lib/nets/ann.py``) at batch
  ``B``, Adam(lr): ``sample`` (no grad, one network call per site), ``log_prob`` (a full
  forward pass with the autograd graph), energies and ``loss = log_prob + beta * energy``
  (no grad), the REINFORCE loss ``mean((loss - mean(loss)) * log_prob)``, ``backward``,
  ``optimizer.step``. Measured twice:

  * ``step``: the loop body above, part by part (what one step must compute);
  * ``step_loop``: the library's own ``net.train(max_step=0, batch_iter=1)``, i.e. one
    iteration of its training loop, which also calls ``compute_stats`` every step (an
    ``x @ x.T`` overlap histogram, O(B² N)).

  ``log_q_forward`` is ``log_prob`` under ``torch.no_grad`` (the forward pass alone).
- ``cw_sample``: CW_N at its exact parameters: ``set_params_exact`` (the per-site parameter
  table, the analogue of our logit table) and ``sample(B)``.

The instance (couplings) is read from ``spec["instance"]``, an ``.npz`` with ``N``, ``edges``
``(E, 2)`` and ``weights`` ``(E,)`` written by ``bench_training.py``, so both codes see the
same couplings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _measure as M  # noqa: E402


def lower_couplings(instance_path: str):
    """The instance as the paper's code stores it: a strictly lower-triangular (N, N) matrix."""
    import numpy as np
    import torch

    data = np.load(instance_path)
    n = int(data["N"])
    i, j = data["edges"][:, 0], data["edges"][:, 1]
    lower = np.zeros((n, n), dtype=np.float64)
    lower[np.maximum(i, j), np.minimum(i, j)] = data["weights"]
    return n, torch.tensor(lower, dtype=torch.float32), bool(data["dense"])


def build_spin_glass(spec):
    """SK_kRSB (dense: ``run.SK_case``; sparse: ``run.from_file_case`` with ``--sparse true``)."""
    import torch
    from python_lib.models import spins_model
    from python_lib.nets import h2arnn

    n, J, dense = lower_couplings(spec["instance"])
    if dense and not spec.get("sparse", False):
        interaction = torch.tril(torch.ones(n, n), diagonal=-1)  # SK_case
        net_class = h2arnn.h2arnn
        input_mask = torch.tril(interaction, diagonal=-1)
    else:
        J = torch.tril(J + J.transpose(0, 1))  # from_file_case
        interaction = J != 0
        net_class = h2arnn.h2arnn_sparse
        # from_file_case passes tril(J != 0) here, but h2arnn_sparse.first_l multiplies the
        # selected spins by all n_i columns J[n_i:, :n_i][mask_J[n_i]] and fails with those
        # shapes; with every earlier spin as input it computes the intended frontier fields.
        input_mask = torch.tril(torch.ones(n, n), diagonal=-1)
    model = spins_model.model(n, torch.zeros(n), J, interaction, device="cpu")
    input_mask = input_mask.to(dtype=torch.bool)
    dict_nets = {"k": int(spec["k"]), "set_exact": False}
    return net_class(model, h2arnn.SK_krsb, input_mask, device="cpu", dict_nets=dict_nets, learn_first_l=False)


def build_curie_weiss_net(spec):
    """CW_∞ (``cw_arnn.CWARNN_inf``) or 1P (``cw_arnn.oneP``) on the Curie–Weiss model of ``run.CW_case``."""
    import torch
    from python_lib.models import spins_model
    from python_lib.nets import cw_arnn

    n, J, h = int(spec["N"]), float(spec.get("J", 1.0)), float(spec.get("h", 0.0))
    interaction = torch.ones(n, n) - torch.eye(n, n)
    model = spins_model.KW_exact_fast(n, h * torch.ones(n), J / (2 * n) * interaction, interaction, device="cpu")
    classes = {"cw_inf": cw_arnn.CWARNN_inf, "1p": cw_arnn.oneP}
    return classes[spec["net"]](model, device="cpu")


def time_train_step(net, spec, out: dict, save) -> None:
    import torch

    batch, beta, lr = int(spec["batch"]), float(spec["beta"]), float(spec["lr"])
    repeats, warmup, threshold = int(spec["repeats"]), int(spec["warmup"]), float(spec["max_foreign_load"])
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)  # as ANN.train(opt="adam")

    names = ("sample", "log_prob", "loss", "backward", "optimizer")
    parts = {name: [] for name in names}
    totals, loads, warm = [], [], []
    for r in range(warmup + repeats):
        stamps = [M.Stamp()]
        optimizer.zero_grad()
        with torch.no_grad():
            samples, _ = net.sample(batch)
        stamps.append(M.Stamp())
        log_prob = net.log_prob(samples)
        stamps.append(M.Stamp())
        with torch.no_grad():
            energy = net.model.energy(samples)
            loss = log_prob + beta * energy
        loss_reinforce = torch.mean((loss - loss.mean()) * log_prob)
        stamps.append(M.Stamp())
        loss_reinforce.backward()
        stamps.append(M.Stamp())
        optimizer.step()
        stamps.append(M.Stamp())
        total = stamps[-1].wall - stamps[0].wall
        if r < warmup:
            warm.append(total)
            continue
        totals.append(total)
        loads.append(M.foreign_load(stamps[0], stamps[-1]))
        for name, a, b in zip(names, stamps, stamps[1:]):
            parts[name].append(b.wall - a.wall)
        M.log(f"    paper step {r - warmup + 1}/{repeats}: {total:.3f} s")
        out["step"] = M.summarise(totals, loads, warm, threshold)
        save()

    out["parts"] = {name: M.summarise(times, loads, [], threshold) for name, times in parts.items()}
    grad = [a + b + c for a, b, c in zip(parts["log_prob"], parts["loss"], parts["backward"])]
    out["parts"]["log_q_and_grad"] = M.summarise(grad, loads, [], threshold)

    with torch.no_grad():
        samples, _ = net.sample(batch)

    def forward():
        with torch.no_grad():
            return net.log_prob(samples)

    out["parts"]["log_q_forward"] = M.measure(forward, repeats, 1, threshold)
    save()

    net.optimizer = optimizer  # the library's own loop, reusing the same Adam state

    def library_step():
        return net.train(lr=lr, beta=beta, max_step=0, batch_size=batch, batch_iter=1, ifprint=False, set_optim=False)

    out["step_loop"] = M.measure(library_step, repeats, 1, threshold)


def time_cw_sample(spec, out: dict, save) -> None:
    import torch
    from python_lib.models import spins_model
    from python_lib.nets import cw_arnn

    n, J, h, beta = int(spec["N"]), float(spec.get("J", 1.0)), float(spec.get("h", 0.0)), float(spec["beta"])
    repeats, warmup, threshold = int(spec["repeats"]), int(spec["warmup"]), float(spec["max_foreign_load"])
    # run.CW_case
    interaction = torch.ones(n, n) - torch.eye(n, n)
    model = spins_model.KW_exact_fast(n, h * torch.ones(n), J / (2 * n) * interaction, interaction, device="cpu")
    input_mask = torch.tril(interaction, diagonal=-1).to(dtype=torch.bool)
    net = cw_arnn.CWARNN(model, input_mask, device="cpu", dict_nets={"set_exact": False})
    out["n_parameters"] = int(net.num_params(train=False))
    out["parts"] = {"table": M.measure(lambda: net.set_params_exact(model, beta), repeats, warmup, threshold)}
    save()
    out["parts"]["sample"] = M.measure(lambda: net.sample(int(spec["batch"])), repeats, warmup, threshold)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", required=True, help="checkout of ocadni/h2arnn")
    parser.add_argument("--spec", required=True, help="JSON file with the configuration")
    parser.add_argument("--out", required=True, help="JSON file for the result")
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    code = Path(args.code).resolve()
    if not (code / "python_lib" / "nets" / "h2arnn.py").exists():
        raise SystemExit(f"--code {code}: not a checkout of ocadni/h2arnn (no python_lib/nets/h2arnn.py)")
    sys.path.insert(0, str(code))

    import numpy as np
    import torch

    torch.set_num_threads(int(spec["threads"]))
    torch.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - as the paper's run.py seeds it
    result = {
        "side": "paper",
        "dtype": "float32",
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "versions": M.versions("torch", "numpy"),
        "code_commit": M.git_commit(code),
        "complete": False,
    }

    def save():  # after every stage, so that a run cut short keeps what it measured
        M.write_json(args.out, {**result, "peak_rss_bytes": M.peak_rss_bytes()})

    start = time.perf_counter()
    if spec["task"] == "train_step":
        net = build_curie_weiss_net(spec) if spec.get("net") in ("cw_inf", "1p") else build_spin_glass(spec)
        result.update(n_parameters=int(net.num_params(train=False)), build_s=time.perf_counter() - start)
        time_train_step(net, spec, result, save)
    elif spec["task"] == "cw_sample":
        time_cw_sample(spec, result, save)
    else:
        raise SystemExit(f"unknown task {spec['task']!r}")
    result["complete"] = True
    save()


if __name__ == "__main__":
    main()
