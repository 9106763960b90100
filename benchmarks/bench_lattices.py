"""2D lattices: FrontierARNN against sparse SK_1RSB at the same training budget, exact references.

Cases (``--only`` picks them; each net of a case gets the same annealing, batch and steps):

- ``ferro``: periodic 16 × 16 ferromagnet (``na.ferromagnet_2d(16)``) at β = 0.44 (near β_c),
  exact f by Kaufman's closed form; targets: relative error of f[q] <= 1e-4, ESS/M >= 0.9;
- ``ea``: 2D Edwards–Anderson ±J 12 × 12 with open boundaries (``na.edwards_anderson(
  nk.graph.Grid([12, 12], pbc=False), "pm1", seed=s)``), seeds ``--seeds``, annealed to β = 1
  and then β = 2, exact f by the row transfer matrix; targets: f[q] within 2σ of f at β = 1,
  relative error <= 5e-5 at β = 2;
- ``scale``: one training step of FrontierARNN on the periodic 64 × 64 ferromagnet (batch
  ``--scale-batch``): compile time, seconds per step.

Training: :func:`netket_arnn.driver.anneal` over a β grid from ``--beta-start`` to the target,
Adam with a learning rate held at ``--lr`` and decayed by cosine to ``lr/20`` over the
last ``--decay-fraction`` of the steps at each β, batch ``--batch``, ``--final`` fresh samples
per β for the estimates. Wall times include compilation; the machine's load average is
recorded beside them (the CPUs may be shared).

    python benchmarks/bench_lattices.py --only ferro
    python benchmarks/bench_lattices.py --only ea --seeds 1 2 3
    python benchmarks/bench_lattices.py --only scale
    python benchmarks/bench_lattices.py --quick   # smoke check: tiny budgets, seconds per case

Writes ``results/lattices_<case>.json`` (``--out`` for another folder) and prints a table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import netket as nk  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import netket_arnn as na  # noqa: E402
from netket_arnn._provenance import provenance  # noqa: E402
from netket_arnn.models.frontier import FrontierARNN  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "external"))
import _measure as M  # noqa: E402


def build(net: str, H, beta: float, features):
    if net == "frontier":
        return FrontierARNN.from_hamiltonian(H, beta, features)
    if net == "frontier_learned":
        return FrontierARNN.from_hamiltonian(H, beta, features, learn_couplings=True)
    if net == "sk_1rsb_sparse":
        return na.models.SpinGlassARNN.from_hamiltonian(H, beta, k=1, sparse=True)
    raise ValueError(f"unknown net {net!r}")


def optimizer(lr: float, segments, decay_fraction: float):
    """Adam: at each β (``segments``: its number of steps) ``lr`` held, then a cosine decay to ``lr / 20``
    over the last ``decay_fraction`` of its steps (each β's estimate follows a decayed stretch)."""
    schedules, boundaries, done = [], [], 0
    for steps in segments:
        decay = max(1, int(decay_fraction * steps))
        schedules += [optax.constant_schedule(lr), optax.cosine_decay_schedule(lr, decay, alpha=0.05)]
        boundaries += [done + steps - decay, done + steps]
        done += steps
    return optax.adam(optax.join_schedules(schedules, boundaries[:-1]))


def train(H, net, betas, args, *, seed=0, label=""):
    """Anneal ``net`` over ``betas``; the records of every β in ``targets`` (the last two at most)."""
    model = build(net, H, betas[0], tuple(args.features))
    sampler = nk.sampler.ARDirectSampler(H.hilbert)
    vstate = nk.vqs.MCState(sampler, model, n_samples=args.batch, seed=seed, sampler_seed=seed + 1)
    total = args.warmup + args.steps * len(betas)
    grid = iter(betas[1:])

    def rescale(record):
        # the exact skip weight and bias are 2β and 2βh: carry them (and the linear part) to the next β
        nxt = next(grid, None)
        if nxt is None or not args.rescale:
            return
        ratio = nxt / record.beta
        params = dict(vstate.parameters)
        for name in ("skip", "bias", "linear"):
            if name in params:
                params[name] = params[name] * ratio
        vstate.parameters = params

    start = time.perf_counter()
    result = na.driver.anneal(
        H,
        vstate,
        betas,
        optimizer=optimizer(args.lr, [args.warmup + args.steps] + [args.steps] * (len(betas) - 1), args.decay_fraction),
        steps_per_beta=args.steps,
        warmup_steps=args.warmup,
        estimates=na.driver.FinalEstimates(n_samples=args.final),
        show_progress=False,
        on_record=rescale,
    )
    wall = time.perf_counter() - start
    rows = []
    for rec in result.records:
        rows.append(
            dict(
                case=label,
                net=net,
                beta=rec.beta,
                f=rec.free_energy,
                f_err=rec.free_energy_error,
                f_exact=rec.exact_free_energy,
                rel_error=rec.relative_error,
                sigmas=(rec.free_energy - rec.exact_free_energy) / rec.free_energy_error,
                ess=rec.ess_fraction,
                n_params=int(vstate.n_parameters),
                steps=total,
                wall_s=wall,
            )
        )
    return rows


def show(rows):
    head = f"{'case':>12} {'net':>16} {'beta':>5} {'f[q]':>12} {'±':>8} {'rel.err':>9} {'σ':>6} {'ESS/M':>6} "
    print(head + f"{'params':>8} {'steps':>6} {'wall s':>7}")
    for r in rows:
        print(
            f"{r['case']:>12} {r['net']:>16} {r['beta']:5.2f} {r['f']:12.7f} {r['f_err']:8.1e} {r['rel_error']:9.2e} "
            f"{r['sigmas']:6.1f} {r['ess']:6.3f} {r['n_params']:8d} {r['steps']:6d} {r['wall_s']:7.0f}"
        )


def case_ferro(args):
    L, beta = (4, 0.44) if args.quick else (16, 0.44)
    H = na.ferromagnet_2d(L)
    betas = list(np.round(np.linspace(args.beta_start, beta, args.n_betas), 6))
    rows = []
    for net in args.nets:
        rows += train(H, net, betas, args, label=f"ferro{L}")[-1:]
        show(rows[-1:])
    return rows


def case_ea(args):
    L = 4 if args.quick else 12
    graph = nk.graph.Grid([L, L], pbc=False)
    betas = list(np.round(np.linspace(args.beta_start, 1.0, args.n_betas), 6)) + list(
        np.round(np.linspace(1.0, 2.0, args.n_betas_2 + 1)[1:], 6)
    )
    rows = []
    for seed in args.seeds:
        H = na.edwards_anderson(graph, "pm1", seed=seed)
        for net in args.nets:
            recs = train(H, net, betas, args, seed=seed, label=f"ea{L}_s{seed}")
            rows += [r for r in recs if r["beta"] in (1.0, 2.0)]
            show(rows[-2:])
    return rows


def case_scale(args):
    L = 8 if args.quick else 64
    H = na.ferromagnet_2d(L)
    model = build("frontier", H, 0.44, tuple(args.features))
    vstate = nk.vqs.MCState(nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=args.scale_batch, seed=0)
    driver = na.VariationalFreeEnergy(H, optax.adam(1e-3), variational_state=vstate, beta=0.44)
    start = time.perf_counter()
    driver.run(1, show_progress=False)
    first = time.perf_counter() - start
    start = time.perf_counter()
    driver.run(args.scale_steps, show_progress=False)
    step = (time.perf_counter() - start) / args.scale_steps
    row = dict(
        case=f"scale{L}",
        net="frontier",
        n_params=int(vstate.n_parameters),
        batch=args.scale_batch,
        first_step_s=first,
        seconds_per_step=step,
        f=float(driver._loss_stats.mean.real) if getattr(driver, "_loss_stats", None) is not None else None,
    )
    print(row)
    return [row]


CASES = {"ferro": case_ferro, "ea": case_ea, "scale": case_scale}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--nets", nargs="+", default=["frontier", "sk_1rsb_sparse"])
    parser.add_argument("--features", type=int, nargs="+", default=[16])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--final", type=int, default=20000)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--decay-fraction", type=float, default=0.4)
    parser.add_argument("--beta-start", type=float, default=0.1)
    parser.add_argument("--n-betas", type=int, default=5)
    parser.add_argument("--n-betas-2", type=int, default=1, help="ea: β values after 1 up to 2")
    parser.add_argument(
        "--rescale",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="between two β, scale skip, bias and linear weights by the β ratio",
    )
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scale-batch", type=int, default=256)
    parser.add_argument("--scale-steps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny lattices and budgets: a smoke check")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--tag", default="", help="suffix of the JSON file names")
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.steps, args.final, args.batch, args.scale_steps = 5, 5, 500, 64, 1
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        rows = CASES[name](args)
        report = dict(
            case=name,
            settings={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            machine=dict(cpus=os.cpu_count(), load_average=os.getloadavg(), platform=jax.default_backend()),
            provenance=provenance(),
            rows=rows,
        )
        path = args.out / f"lattices_{name}{args.tag}.json"
        M.write_json(path, report)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
