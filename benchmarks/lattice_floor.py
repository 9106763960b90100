r"""How close FrontierARNN gets to p on a 2D spin glass, and how much of the gap is the training.

On an open :math:`L \times L` lattice the exact conditionals are known
(:func:`netket_arnn.exact.lattice_conditionals`), so the divergence of a trained net splits into
its sites, :math:`\mathrm{KL}(q\|p) = \beta N (f[q] - f) = \sum_t \mathbb E_q \mathrm{KL}(q_t\|p_t)`,
and the same net can be fitted to the exact conditionals directly: Adam on the forward
divergence :math:`\sum_t \mathbb E_{x\sim p}\mathrm{KL}(p_t\|q_t)` over fresh exact samples, with
the steps, batch and learning-rate schedule of the variational run. That fit sees the exact
conditionals, which the variational free energy's gradient only estimates from samples of
:math:`q`: what it reaches shows what the net can represent, and the distance of the variational
run from it what estimating the gradient costs at the same number of steps.

Reading the numbers: an estimate of :math:`f[q]` from :math:`M` samples has standard error
:math:`\sigma \approx \sqrt{2\,\mathrm{KL}/M}/(\beta N)` near :math:`p`
(:math:`\mathrm{Var}\log(q/p) \approx 2\,\mathrm{KL}`), so :math:`f[q]` lies within
:math:`2\sigma` of :math:`f` only when :math:`\mathrm{KL} \lesssim 8/M`: :math:`8\cdot 10^{-4}`
nats for the whole lattice with :math:`10^4` final samples.

    python benchmarks/lattice_floor.py                    # EA ±J 12 × 12 open, seed 1, β = 1, 1500 steps
    python benchmarks/lattice_floor.py --steps 300 --L 6  # a quick look

Writes ``results/lattice_floor_L<L>_b<beta>.json`` (``--out``) after each training and prints a table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import optax

import netket_arnn as na
from netket_arnn.models import FrontierARNN

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "external"))
import _measure as measure  # noqa: E402


def schedule(lr: float, steps: int, decay_fraction: float):
    """``lr`` held, then a cosine decay to ``lr / 20`` over the last ``decay_fraction`` of the steps."""
    decay = max(1, int(decay_fraction * steps))
    return optax.join_schedules(
        [optax.constant_schedule(lr), optax.cosine_decay_schedule(lr, decay, alpha=0.05)], [steps - decay]
    )


def bernoulli_kl(ua, ub):
    """KL(Bern(σ(ua)) || Bern(σ(ub))), elementwise in the logits."""
    la_p, la_m, lb_p, lb_m = (jax.nn.log_sigmoid(v) for v in (ua, -ua, ub, -ub))
    return jnp.exp(la_p) * (la_p - lb_p) + jnp.exp(la_m) * (la_m - lb_m)


def evaluate(H, model, variables, cond, beta, n_final, seed) -> dict:
    """f[q] and its error from ``n_final`` samples of q, and the per-site split of KL(q||p)."""
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert), model, variables=variables, n_samples=n_final, seed=seed
    )
    x = np.asarray(vstate.samples).reshape(-1, H.n_sites)
    uq = np.asarray(model.apply(variables, jnp.asarray(x), method=model.logits), np.float64)
    per_site = cond.kl_per_site(x, uq)
    log_ratio = np.sum(-np.logaddexp(0.0, -x * uq), axis=1) - cond.log_prob(x)  # log q - log p per sample
    n, f = H.n_sites, -cond.log_z / (beta * H.n_sites)
    f_q = f + log_ratio.mean() / (beta * n)
    f_err = log_ratio.std() / (beta * n * np.sqrt(len(x)))
    side = int(round(np.sqrt(n)))
    return {
        "kl_per_site_sum": float(per_site.sum()),
        "kl_sample_mean": float(log_ratio.mean()),
        "relative_error": float((f_q - f) / abs(f)),
        "sigmas": float((f_q - f) / f_err),
        "kl_per_row": per_site.reshape(side, -1).sum(axis=1).tolist() if side * side == n else None,
        "worst_sites": [int(t) for t in np.argsort(per_site)[::-1][:5]],
    }


def variational(H, model, beta, args) -> tuple[dict, float]:
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert), model, n_samples=args.batch, seed=args.seed, sampler_seed=args.seed + 1
    )
    opt = optax.adam(schedule(args.lr, args.steps, args.decay_fraction))
    driver = na.VariationalFreeEnergy(H, opt, variational_state=vstate, beta=beta, local_balance=args.local_balance)
    every = max(1, args.steps // 10)

    def progress(step, log_data, drv):
        if step % every == 0 or step == args.steps - 1:
            measure.log(f"    variational step {step}: f[q] {drv.free_energy.mean.real:.6f}")
        return True

    start = time.perf_counter()
    # a terminal gets NetKet's progress bar; a log file one line per tenth of the run
    driver.run(args.steps, show_progress=sys.stderr.isatty(), callback=None if sys.stderr.isatty() else progress)
    return vstate.variables, time.perf_counter() - start


def fitted(H, model, cond, args) -> tuple[dict, float]:
    variables = model.init(jax.random.key(args.seed), jnp.ones((1, H.n_sites)))
    params, fixed = variables["params"], {k: v for k, v in variables.items() if k != "params"}
    opt = optax.adam(schedule(args.lr, args.steps, args.decay_fraction))
    state = opt.init(params)

    @jax.jit
    def step(params, state, x, up):
        def loss(p):
            uq = model.apply({**fixed, "params": p}, x, method=model.logits)
            return jnp.sum(jnp.mean(bernoulli_kl(up, uq), axis=0))

        value, grad = jax.value_and_grad(loss)(params)
        updates, state = opt.update(grad, state, params)
        return optax.apply_updates(params, updates), state, value

    start = time.perf_counter()
    for k in range(args.steps):
        x = cond.sample(args.batch, seed=args.seed * 1_000_003 + k)
        params, state, value = step(params, state, jnp.asarray(x), jnp.asarray(cond.logits(x)))
        if k % max(1, args.steps // 10) == 0 or k == args.steps - 1:
            measure.log(f"    fit step {k}: forward KL {float(value):.3e}")
    return {**fixed, "params": params}, time.perf_counter() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--L", type=int, default=12)
    p.add_argument("--seed", type=int, default=1, help="instance seed (also of the trainings)")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--decay-fraction", type=float, default=0.4)
    p.add_argument(
        "--local-balance", type=float, default=0.0, help="weight of the local-balance term of the variational run"
    )
    p.add_argument("--final", type=int, default=10000, help="samples of q for the estimates")
    p.add_argument("--runs", nargs="+", default=["variational", "fit"], choices=["variational", "fit"])
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    out = Path(args.out or HERE / "results" / f"lattice_floor_L{args.L}_b{args.beta:g}.json")
    H = na.edwards_anderson(nk.graph.Grid([args.L, args.L], pbc=False), "pm1", seed=args.seed)
    cond = na.exact.lattice_conditionals(H, args.beta)
    model = FrontierARNN.from_hamiltonian(H, args.beta, args.features)
    report = {"machine": measure.machine(), "command": " ".join(sys.argv), "settings": vars(args), "runs": {}}
    report["two_sigma_kl"] = 8.0 / args.final
    for run in args.runs:
        measure.log(f"{run}: {args.steps} steps of batch {args.batch}")
        variables, seconds = (
            variational(H, model, args.beta, args) if run == "variational" else fitted(H, model, cond, args)
        )
        report["runs"][run] = {
            **evaluate(H, model, variables, cond, args.beta, args.final, args.seed + 7),
            "seconds": seconds,
        }
        measure.write_json(out, report)
    print(
        f"EA ±J {args.L} × {args.L} open, seed {args.seed}, β = {args.beta:g}, FrontierARNN features {args.features}, "
        f"{args.steps} steps of batch {args.batch}; within 2σ with {args.final} samples needs KL ≲ {8 / args.final:.1e}"
    )
    print("| training | KL(q‖p), per-site sum | relative error of f[q] | σ | seconds |")
    print("|---|---|---|---|---|")
    for run, r in report["runs"].items():
        print(
            f"| {run} | {r['kl_per_site_sum']:.2e} | {r['relative_error']:.2e} | {r['sigmas']:.1f} "
            f"| {r['seconds']:.0f} |"
        )
    print(f"written: {out}")


if __name__ == "__main__":
    main()
