"""Sampling throughput and log-prob + gradient time of the physics-derived ARNNs.

For every model and size N it measures, at a fixed batch (default 2000, float64 parameters and
arithmetic; ``--dtype float32`` for both in float32):

- sampling: one ``ARDirectSampler`` pass producing ``batch`` samples (samples/s);
- log-prob + gradient: ``jax.value_and_grad`` of the mean log ψ over those samples;
- memory: XLA's compiled-memory analysis of each jitted function (arguments + outputs +
  temporaries: a per-case peak estimate on any backend), plus the process peak (device
  ``peak_bytes_in_use`` on GPU, max RSS on CPU);

next to NetKet's ``ARNNDense(layers=2, features=(1, 2))`` (MADE with one hidden layer of width
N, about 3N² parameters) at the same N, in the same run (ratios = baseline time / model time).
It then fits the cost exponent :math:`t \\propto N^a` per model and stage.

    python benchmarks/bench_models.py --out results/bench_models.json            # N = 100..800
    python benchmarks/bench_models.py --quick --out /tmp/bench_models.json       # small, CPU

Case format (extensible). A *case* is a dict (or any object with these attributes):

    {"name": str,                 # model label; all sizes of one label form one exponent fit
     "N": int,                    # number of spins
     "factory": callable,         # () -> (hilbert, model, hamiltonian); built lazily, in the run
     "expected": float | str}     # optional: expected exponent (printed next to the fit)

``cases(quick, sizes)`` below lists this module's cases; their models are the registry's nets
(:func:`netket_arnn.build_net`). If ``benchmarks/spin_glass_cases.py``
exists, its ``cases(quick: bool) -> list`` (same format) is appended. The baseline is added
for every distinct N up to ``--baseline-max-n``. This module's models are benchmarked with
trainable parameters so that the gradient is meaningful (CW_N and H2ARNN default to fixed
physics values).

Reading the exponents: on a GPU, sampling is a ``lax.scan`` of N steps whose per-step launch
overhead (~10 us) dominates the cheap models up to N ~ 1000, so their fitted exponents sit
near 1 whatever the per-step work; compare samples/s at equal N for the work itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np

import netket_arnn as na

sys.path.insert(0, str(Path(__file__).resolve().parent / "external"))
import _measure as M  # noqa: E402

BASELINE = "ARNNDense(d1,w1)"
SIZES = (100, 200, 400, 800)
QUICK_SIZES = (16, 32, 64)
H2ARNN_SIZES = (8, 12, 14)
QUICK_H2ARNN_SIZES = (6, 8, 10)
BETA = 1.0


def _cw(N, make):
    H = na.curie_weiss(N)
    return H.hilbert, make(H), H


def _sk(N, make):
    H = na.sherrington_kirkpatrick(N, seed=1)
    return H.hilbert, make(H), H


def _baseline(N):
    H = na.curie_weiss(N)
    return H.hilbert, nk.models.ARNNDense(hilbert=H.hilbert, layers=2, features=(1, 2)), H


def case(name, N, factory, expected=None) -> dict:
    return {"name": name, "N": int(N), "factory": factory, "expected": expected}


def net(name: str, **options):
    """``H -> model``: the registry's net ``name`` at β = BETA (``options``: the net's own keywords)."""
    return lambda H: na.build_net(name, H, BETA, **options)


def cases(quick: bool, sizes=None) -> list[dict]:
    """This module's cases: CW_N, CW_inf, 1P, 1L at ``sizes``; H2ARNN at its own small sizes."""
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    out = []
    for N in sizes:
        out += [
            case(
                "CW_N",
                N,
                lambda N=N: _cw(N, net("cw_n", trainable=True)),
                expected="1 for B >> N (O(B N) lookups after an O(N^3) logit table), up to 3 when B ~ N",
            ),
            case("CW_inf", N, lambda N=N: _cw(N, net("cw_inf")), 1),
            case("1P", N, lambda N=N: _cw(N, net("1p")), 1),
            case("1L", N, lambda N=N: _sk(N, net("1l")), 2),
        ]
    for N in QUICK_H2ARNN_SIZES if quick else H2ARNN_SIZES:
        out.append(
            case(
                "H2ARNN",
                N,
                lambda N=N: _sk(N, net("h2", trainable=True)),
                expected="exponential (N 2^N)",
            )
        )
    return out


def external_cases(quick: bool) -> list:
    """Cases of ``benchmarks/spin_glass_cases.py`` when that module exists."""
    path = Path(__file__).with_name("spin_glass_cases.py")
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("spin_glass_cases", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return list(module.cases(quick))


def _field(c, key, default=None):
    return c.get(key, default) if isinstance(c, dict) else getattr(c, key, default)


# -- measurements ----------------------------------------------------------------------------
def _timed(fn, args_fn, repeats: int) -> float:
    """Median wall time of ``fn(*args_fn(r))`` over ``repeats`` runs (compiled, synchronised)."""
    jax.block_until_ready(fn(*args_fn(-1)))
    times = []
    for r in range(repeats):
        args = args_fn(r)
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _memory_bytes(jitted, *args) -> int | None:
    try:
        stats = jitted.lower(*args).compile().memory_analysis()
        return int(stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes)
    except Exception:  # memory analysis is not available on every backend
        return None


def _process_peak_bytes() -> int:
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux: KiB


def run_case(c, batch: int, repeats: int, dtype) -> dict:
    name, N = _field(c, "name"), int(_field(c, "N"))
    hilbert, model, _ = _field(c, "factory")()
    # --dtype sets both dtypes of the package's precision policy (parameters and arithmetic).
    if hasattr(model, "param_dtype"):
        model = model.clone(param_dtype=dtype)
    if hasattr(model, "dtype") and "dtype" in getattr(type(model), "__dataclass_fields__", {}):
        model = model.clone(dtype=dtype)
    sampler = nk.sampler.ARDirectSampler(hilbert)
    variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, N)))
    n_params = sum(int(a.size) for a in jax.tree.leaves(variables.get("params", {})))
    n_fixed = sum(int(a.size) for k, v in variables.items() if k != "params" for a in jax.tree.leaves(v))
    state = sampler.init_state(model, variables, 0)

    @jax.jit
    def sample(variables, key):
        samples, _ = sampler.sample(model, variables, state=state.replace(key=key), chain_length=batch)
        return samples.reshape(-1, N)

    rest = {k: v for k, v in variables.items() if k != "params"}

    @jax.jit
    def logprob_and_grad(params, sigma):
        return jax.value_and_grad(lambda p: jnp.mean(model.apply({**rest, "params": p}, sigma)))(params)

    keys = jax.random.split(jax.random.key(1), repeats + 1)
    t_sample = _timed(sample, lambda r: (variables, keys[r]), repeats)
    sigma = sample(variables, keys[0])
    t_grad = _timed(logprob_and_grad, lambda r: (variables["params"], sigma), repeats)
    return {
        "name": name,
        "N": N,
        "batch": batch,
        "n_parameters": n_params,
        "n_fixed": n_fixed,
        "sample_time_s": t_sample,
        "samples_per_s": batch / t_sample,
        "grad_time_s": t_grad,
        "memory_sample_bytes": _memory_bytes(sample, variables, keys[0]),
        "memory_grad_bytes": _memory_bytes(logprob_and_grad, variables["params"], sigma),
        "process_peak_bytes": _process_peak_bytes(),
        "expected_exponent": _field(c, "expected"),
    }


def fit_exponents(results: list[dict]) -> dict:
    """Least-squares slope of log t against log N per model (needs >= 2 sizes)."""
    out = {}
    for name in dict.fromkeys(r["name"] for r in results):
        rows = sorted((r for r in results if r["name"] == name and "error" not in r), key=lambda r: r["N"])
        if len(rows) < 2:
            continue
        logn = np.log([r["N"] for r in rows])
        out[name] = {
            "sizes": [r["N"] for r in rows],
            "sample": float(np.polyfit(logn, np.log([r["sample_time_s"] for r in rows]), 1)[0]),
            "grad": float(np.polyfit(logn, np.log([r["grad_time_s"] for r in rows]), 1)[0]),
            "expected": rows[0].get("expected_exponent"),
        }
    return out


def _fmt_bytes(b) -> str:
    if b is None:
        return "n/a"
    return f"{b / 2**20:.1f} MiB" if b < 2**30 else f"{b / 2**30:.2f} GiB"


def print_table(results: list[dict], exponents: dict) -> None:
    base = {r["N"]: r for r in results if r["name"] == BASELINE and "error" not in r}
    header = (
        f"{'model':<18}{'N':>6}{'params':>11}{'samples/s':>12}{'x base':>8}{'grad ms':>10}{'x base':>8}"
        f"{'mem sample':>12}{'mem grad':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if "error" in r:
            print(f"{r['name']:<18}{r['N']:>6}  ERROR: {r['error'][:80]}")
            continue
        b = base.get(r["N"])
        rs = f"{b['sample_time_s'] / r['sample_time_s']:.2f}" if b else "-"
        rg = f"{b['grad_time_s'] / r['grad_time_s']:.2f}" if b else "-"
        print(
            f"{r['name']:<18}{r['N']:>6}{r['n_parameters'] + r['n_fixed']:>11}{r['samples_per_s']:>12.4g}{rs:>8}"
            f"{1e3 * r['grad_time_s']:>10.3g}{rg:>8}{_fmt_bytes(r['memory_sample_bytes']):>12}"
            f"{_fmt_bytes(r['memory_grad_bytes']):>12}"
        )
    print()
    print(f"{'model':<18}{'sizes':<24}{'a (sampling)':>13}{'a (grad)':>10}  expected")
    for name, e in exponents.items():
        sizes = ",".join(map(str, e["sizes"]))
        print(f"{name:<18}{sizes:<24}{e['sample']:>13.2f}{e['grad']:>10.2f}  {e['expected']}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and batch (CPU check)")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"N values (default {SIZES}, quick {QUICK_SIZES})")
    parser.add_argument("--batch", type=int, help="samples per pass (default 2000, quick 256)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median)")
    parser.add_argument("--models", nargs="+", help="only these model names (the baseline is always run)")
    parser.add_argument("--no-baseline", action="store_true", help=f"skip {BASELINE}")
    parser.add_argument(
        "--baseline-max-n",
        type=int,
        default=1024,
        help=f"largest N at which {BASELINE} runs (its sampling costs O(N^3) per sample)",
    )
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--out", default="bench_models.json", help="JSON output path")
    args = parser.parse_args(argv)

    batch = args.batch or (256 if args.quick else 2000)
    dtype = jnp.float64 if args.dtype == "float64" else jnp.float32
    todo = cases(args.quick, args.sizes) + external_cases(args.quick)
    if args.models:
        todo = [c for c in todo if _field(c, "name") in args.models]
    if not args.no_baseline:
        for N in sorted({int(_field(c, "N")) for c in todo if int(_field(c, "N")) <= args.baseline_max_n}):
            todo.append(case(BASELINE, N, lambda N=N: _baseline(N), "3 sampling (N passes), 2 grad"))

    todo.sort(key=lambda c: int(_field(c, "N")))  # small sizes first: partial runs stay useful
    out = Path(args.out)
    report = {
        "benchmark": "bench_models",
        "device": str(jax.devices()[0]),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "netket": nk.__version__,
        "dtype": args.dtype,
        "batch": batch,
        "repeats": args.repeats,
        "baseline": BASELINE,
        "results": [],
        "exponents": {},
    }
    results = report["results"]
    for c in todo:
        name, N = _field(c, "name"), _field(c, "N")
        print(f"... {name} N={N}", file=sys.stderr, flush=True)
        try:
            r = run_case(c, batch, args.repeats, dtype)
            print(f"    {r['samples_per_s']:.4g} samples/s, grad {1e3 * r['grad_time_s']:.3g} ms", file=sys.stderr)
        except Exception as err:  # e.g. out of memory at the largest sizes: record and go on
            r = {"name": name, "N": int(N), "error": f"{type(err).__name__}: {err}"}
            print(f"    {r['error'][:200]}", file=sys.stderr)
        results.append(r)
        report["exponents"] = fit_exponents(results)
        report["process_peak_bytes"] = _process_peak_bytes()
        M.write_json(out, report)  # after every case
    results.sort(key=lambda r: (r["name"] == BASELINE, r["name"], r["N"]))
    report["exponents"] = fit_exponents(results)
    print_table(results, report["exponents"])
    M.write_json(out, report)
    print(f"\nwrote {out}")
    return report


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)
    main()
