"""The best f[q] CW_∞ and 1P can reach on the Curie–Weiss model: their optimum at every β, exactly.

Both nets see the past only through the running magnetisation :math:`M_i`, so the law of
:math:`M_i` under :math:`q` is a distribution over :math:`i + 1` values, propagated site by site:

.. math::

    P_{i+1}(M \\pm 1) \\mathrel{+}= P_i(M)\\, \\sigma(\\pm u_i(M)), \\qquad
    f[q] = \\frac1N\\Bigl(\\mathbb E[H] + \\frac1\\beta \\sum_i \\mathbb E_{P_i}\\bigl[\\sigma(u)\\log\\sigma(u)
          + \\sigma(-u)\\log\\sigma(-u)\\bigr]\\Bigr),

with :math:`\\mathbb E[H] = -(J/2N)(\\mathbb E[M_N^2] - N)` and :math:`u_i(M)` the net's logit
(CW_∞: :math:`b_0 + w_0 M + w^1_i\\,\\mathrm{sgn}\\,M`; 1P: :math:`w_i M`). That is :math:`f[q]` of
the given parameters with no sampling noise, in :math:`O(N^2)`, and its gradient by autodiff;
L-BFGS from the net's physics start finds the best parameters it can: an upper bound on the
architecture's optimum, the floor of what any training can reach (a trained net's estimate below
it by more than its error bars would show the search stopped early).

    python benchmarks/cw_net_optimum.py                      # N = 800, the paper's grid, both nets
    python benchmarks/cw_net_optimum.py --n 100 --nets cw_inf --betas 1.0 1.05

Writes ``results/cw_net_optimum_N<N>.json`` (``--out``) after every β and prints a table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

jax.config.update("jax_enable_x64", True)

import netket_arnn as na  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "external"))
import _measure as measure  # noqa: E402

PAPER_BETAS = [round(0.1 + 0.05 * k, 2) for k in range(39)]


def logits(net: str, params: dict, M: jax.Array, i) -> jax.Array:
    """The net's logit at site ``i`` for running magnetisations ``M``."""
    if net == "cw_inf":
        return params["b0"] + params["w0"] * M + params["w1"][i] * jnp.sign(M)
    return params["w"][i] * M


def free_energy(net: str, params: dict, n: int, beta: float, J: float = 1.0) -> jax.Array:
    """f[q] per spin of the net's parameters on Curie–Weiss (h = 0), by propagating the law of M_i."""
    ups = jnp.arange(n + 1)

    def site(P, i):
        M = 2 * ups - i  # M_i for i spins of which `ups` are up
        u = logits(net, params, M, i)
        log_up, log_down = jax.nn.log_sigmoid(u), jax.nn.log_sigmoid(-u)
        valid = ups <= i
        neg_entropy = jnp.sum(jnp.where(valid, P * (jnp.exp(log_up) * log_up + jnp.exp(log_down) * log_down), 0.0))
        up = jnp.where(valid, P * jnp.exp(log_up), 0.0)
        down = jnp.where(valid, P * jnp.exp(log_down), 0.0)
        return down + jnp.concatenate([jnp.zeros(1), up[:-1]]), neg_entropy

    P, neg_entropy = jax.lax.scan(site, jnp.zeros(n + 1).at[0].set(1.0), jnp.arange(n))
    energy = -(J / (2 * n)) * (jnp.sum(P * (2 * ups - n) ** 2) - n)
    return (energy + jnp.sum(neg_entropy) / beta) / n


def optimum(net: str, n: int, beta: float) -> dict:
    """The net's physics start and its optimum at ``beta`` (L-BFGS on the exact f[q])."""
    H = na.curie_weiss(n)
    start = {k: np.asarray(v, dtype=np.float64) for k, v in na.build_net(net, H, beta).start_params(beta).items()}
    flat, unravel = jax.flatten_util.ravel_pytree(start)
    # L-BFGS works on the parameters in units where each moves the logits by O(1): w0 multiplies
    # M = O(N), so it is searched as N * w0 (otherwise the search stops early, ill-conditioned)
    units, _ = jax.flatten_util.ravel_pytree(
        {k: np.full(np.shape(v), 1.0 / n if k == "w0" else 1.0) for k, v in start.items()}
    )
    value_and_grad = jax.jit(jax.value_and_grad(lambda z: free_energy(net, unravel(z * units), n, beta)))
    found = minimize(
        lambda z: tuple(np.asarray(v) for v in value_and_grad(z)),
        np.asarray(flat / units),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-13},
    )
    exact = na.exact.thermodynamics(H, beta).free_energy
    f_start = float(value_and_grad(flat / units)[0])
    return {
        "beta": beta,
        "exact_f": exact,
        "start_f": f_start,
        "optimum_f": float(found.fun),
        "start_relative_error": (f_start - exact) / abs(exact),
        "optimum_relative_error": (float(found.fun) - exact) / abs(exact),
        "iterations": int(found.nit),
        "converged": bool(found.success),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=800)
    p.add_argument("--nets", nargs="+", default=["cw_inf", "1p"], choices=["cw_inf", "1p"])
    p.add_argument("--betas", type=float, nargs="+", default=PAPER_BETAS)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    out = Path(args.out or HERE / "results" / f"cw_net_optimum_N{args.n}.json")
    report = {"machine": measure.machine(), "command": " ".join(sys.argv), "N": args.n, "nets": {}}
    for net in args.nets:
        rows = report["nets"].setdefault(net, [])
        for beta in args.betas:
            rows.append(optimum(net, args.n, beta))
            r = rows[-1]
            measure.log(f"    {net} N={args.n} β={beta:.2f}: optimum rel. error {r['optimum_relative_error']:.3e}")
            measure.write_json(out, report)
    print("| net | N | βs | mean relative error of the optimum | of the physics start |")
    print("|---|---|---|---|---|")
    for net, rows in report["nets"].items():
        best = np.mean([r["optimum_relative_error"] for r in rows])
        start = np.mean([r["start_relative_error"] for r in rows])
        print(f"| {net} | {args.n} | {len(rows)} | {best:.3e} | {start:.3e} |")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
