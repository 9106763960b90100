"""Training-step benchmark: netket-arnn against a reference measured in the same run.

Configurations (``--only`` picks groups; ``--quick`` shrinks everything for a smoke check):

- ``sk_dense``: SK_kRSB (k in ``--ks``), dense couplings of the published SK instance
  (seed 1), N in ``--sizes`` (default 200), batch 2000;
- ``sparse``: SK_kRSB on the 2D Edwards–Anderson ±J lattice L = 32 (N = 1024), batch 1024;
  with ``--twobo`` TwoBo's own instance ``2D_EA_PM_L32_0`` (same couplings for every side);
- ``cw``: CW_N at its exact parameters, sampling at N in (200, 800), batch 2000, and the
  table build;
- ``scale``: SK_1RSB dense at N = 1000 (batch 2000) and SK_2RSB on the 64 × 64 lattice
  (batch 1024), default precision, step time and peak memory.

For every training configuration netket-arnn runs in float32 (parameters and arithmetic) and in
the package's default precision (float64 parameters and log q, float32 arithmetic), each twice
in a fresh process: once as a whole NetKet driver step
(``VariationalFreeEnergy(H, nk.optimizer.Adam(1e-3), variational_state=MCState(
ARDirectSampler, model, n_samples=B))``, ``driver.run``: sample + log q + gradient + Adam),
once split into parts (``vstate.sample()``, ``vstate.log_value``, the driver's estimator
``free_energy_and_grad``, ``driver.update_parameters``). Warm-up steps (compilation) are
reported apart; times are medians of the repetitions whose foreign CPU load stays under
``--max-foreign-load`` (see ``external/_measure.py``); peak RSS per process.

References, each in its own process, float32, same couplings, same batch, Adam(1e-3):
``--paper-code PATH`` (a checkout of ``ocadni/h2arnn``; PyTorch with ``--threads`` threads,
``external/h2arnn_paper.py``), ``--twobo PATH`` (a checkout of ``cqsl/sparse-twobody-arnn``;
lattices only, ``external/twobo.py``). Without them (and in addition to them up to
``--baseline-max-n``) NetKet's ``ARNNDense`` with two layers and the parameter count of the
model (``made_width_for``), in float32, through the same driver. Ratios are ours / reference
(below 1: we are faster).

    python benchmarks/bench_training.py --quick --out /tmp/bench_training.json
    python benchmarks/bench_training.py --paper-code ../h2arnn --twobo ../twobo --out results/bench_training.json
    python benchmarks/bench_training.py --only sk_dense --ks 1 --sizes 200   # one configuration
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "external"))
import _measure as M  # noqa: E402

NAMES = {0: "SK_RS", 1: "SK_1RSB", 2: "SK_2RSB"}
REGISTRY_NAMES = {0: "sk_rs", 1: "sk_1rsb", 2: "sk_2rsb"}  # the nets of netket_arnn.registry
GROUPS = ("sk_dense", "sparse", "cw", "scale")
PRECISIONS = ("float32", "default")
SK_SEED, EA_SEED = 1, 0


# -- configurations (parent) -------------------------------------------------------------------
CASE_DEFAULTS = {
    "instance": None,  # ("sk", N) or ("ea", L): the couplings, written once for every side
    "k": None,
    "sparse": False,
    "N": None,
    "precisions": list(PRECISIONS),
    "parts": True,  # also time the parts of a step (another process)
    "scale": False,  # scale cases: own repeats and precisions, references only on request
    "twobo_L": None,  # lattice side: TwoBo runs here (and its instance is used when it has one)
}


def case(group: str, name: str, task: str, batch: int, **options) -> dict:
    return {"group": group, "name": name, "task": task, "batch": batch, **CASE_DEFAULTS, **options}


def sk_name(k: int) -> str:
    return NAMES.get(k, f"SK_{k}RSB")


def cases(args) -> list[dict]:
    q = args.quick
    sizes = args.sizes or ((16,) if q else (200,))
    ks = args.ks if args.ks is not None else ((1,) if q else (0, 1, 2))
    dense_batch, lattice_batch = (64, 64) if q else (2000, 1024)
    out = []
    if "sk_dense" in args.only:
        for N, k in ((N, k) for N in sizes for k in ks):
            out.append(
                case("sk_dense", f"{sk_name(k)} dense N={N}", "train_step", dense_batch, instance=("sk", N), k=k, N=N)
            )
    if "sparse" in args.only:
        L = 4 if q else 32
        for k in ks:
            name = f"{sk_name(k)} sparse EA L={L}"
            out.append(
                case(
                    "sparse",
                    name,
                    "train_step",
                    lattice_batch,
                    instance=("ea", L),
                    k=k,
                    sparse=True,
                    N=L * L,
                    twobo_L=L,
                )
            )
    if "cw" in args.only:
        for N in (16, 32) if q else (200, 800):
            out.append(case("cw", f"CW_N exact N={N}", "cw_sample", dense_batch, N=N))
    if "scale" in args.only:
        N, L = (32, 6) if q else (1000, 64)
        scale = {"precisions": list(args.scale_precisions), "parts": False, "scale": True}
        out.append(
            case("scale", f"SK_1RSB dense N={N}", "train_step", dense_batch, instance=("sk", N), k=1, N=N, **scale)
        )
        out.append(
            case("scale", f"SK_2RSB sparse EA L={L}", "train_step", lattice_batch, instance=("ea", L), k=2, sparse=True,
                 N=L * L, twobo_L=L, **scale)
        )  # fmt: skip
    return out


def twobo_instance(args, L) -> str | None:
    if not args.twobo or L is None:
        return None
    path = Path(args.twobo) / "instances" / "2D_EA_PM" / f"2D_EA_PM_L{L}_0.npz"
    return str(path) if path.exists() else None


def write_instance(c, args, workdir: Path) -> tuple[str | None, str | None]:
    """The couplings of case ``c`` as ``.npz`` (N, edges, weights, dense): one file for every side.

    Returns the path and a description of where the couplings come from.
    """
    import numpy as np

    if c["instance"] is None:
        return None, None
    kind, size = c["instance"]
    theirs = twobo_instance(args, c["twobo_L"]) if kind == "ea" else None
    path = workdir / (f"{kind}_{size}" + ("_twobo.npz" if theirs else ".npz"))
    if path.exists():
        return str(path), str(np.load(path)["source"])
    if kind == "sk":
        import netket_arnn as na

        lower = na.sherrington_kirkpatrick_couplings(size, SK_SEED).astype(np.float64)
        rows, cols = np.nonzero(lower)
        np.savez(
            path,
            N=size,
            edges=np.stack([cols, rows], 1),
            weights=lower[rows, cols],
            dense=True,
            source=f"sherrington_kirkpatrick_couplings(N={size}, seed={SK_SEED})",
        )
    elif theirs:
        from scipy.sparse import load_npz

        J = load_npz(theirs).toarray()
        J = np.triu(J + J.T, k=1)  # as TwoBo's load_ham
        rows, cols = np.nonzero(J)
        np.savez(
            path,
            N=J.shape[0],
            edges=np.stack([rows, cols], 1),
            weights=J[rows, cols],
            dense=False,
            source=f"TwoBo {Path(theirs).name}",
        )
    else:
        import netket as nk

        import netket_arnn as na

        H = na.edwards_anderson(nk.graph.Grid([size, size], pbc=True), "pm1", seed=EA_SEED)
        np.savez(
            path,
            N=H.n_sites,
            edges=np.asarray(H.edges),
            weights=np.asarray(H.edge_weights),
            dense=False,
            source=f"edwards_anderson(Grid([{size}, {size}], pbc=True), 'pm1', seed={EA_SEED})",
        )
    return str(path), str(np.load(path)["source"])


def jobs(c, args) -> list[dict]:
    """The processes of one case: (side, precision, mode) with the command's spec."""
    out = []
    modes = ("step", "parts") if c["task"] == "train_step" and c["parts"] else ("step",)
    if c["task"] == "cw_sample":
        modes = ("parts",)
    for precision in c["precisions"]:
        for mode in modes:
            out.append({"side": "ours", "precision": precision, "mode": mode})
    if not args.no_baseline and c["N"] <= args.baseline_max_n and not c["scale"]:
        for mode in modes:
            out.append({"side": "baseline", "precision": "float32", "mode": mode})
    external = not c["scale"] or args.external_at_scale
    if args.paper_code and external:
        out.append({"side": "paper", "precision": "float32", "mode": "all"})
    if args.twobo and external and c["twobo_L"] is not None:
        out.append({"side": "twobo", "precision": "float32", "mode": "all"})
    return out


def run_job(c, job, args, workdir: Path, index: int) -> dict:
    spec = {
        "task": c["task"],
        "k": c["k"],
        "sparse": c["sparse"],
        "N": c["N"],
        "batch": c["batch"],
        "beta": args.beta,
        "lr": 1e-3,
        "precision": job["precision"],
        "mode": job["mode"],
        "repeats": args.repeats if not c["scale"] else args.scale_repeats,
        "warmup": args.warmup if not c["scale"] else 1,
        "max_foreign_load": args.max_foreign_load,
        "threads": args.threads,
        "instance": c.get("instance_path"),
        "twobo_instance": twobo_instance(args, c["twobo_L"]) if job["side"] == "twobo" else None,
    }
    spec_path, out_path = workdir / f"job{index}.spec.json", workdir / f"job{index}.out.json"
    spec_path.write_text(json.dumps(spec))
    if job["side"] in ("ours", "baseline"):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path), "--side", job["side"]]
    elif job["side"] == "paper":
        cmd = [args.paper_python, str(HERE / "external" / "h2arnn_paper.py"), "--code", args.paper_code]
    else:
        cmd = [args.twobo_python, str(HERE / "external" / "twobo.py"), "--code", args.twobo]
    if job["side"] in ("paper", "twobo"):
        cmd += ["--spec", str(spec_path)]
    cmd += ["--out", str(out_path)]
    M.log(f"... {c['name']}: {job['side']} {job['precision']} {job['mode']}")
    start = time.perf_counter()
    log_path = workdir / f"job{index}.log"
    with open(log_path, "w") as log:  # the child's output; progress lines echoed as they come
        env = dict(os.environ)
        if job["side"] == "paper" and args.paper_omp_passive:
            env["OMP_WAIT_POLICY"] = "PASSIVE"
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
        with open(log_path) as reader:
            while True:
                try:
                    returncode = proc.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    returncode = None
                for line in reader.readlines():
                    if line.lstrip().startswith(("step", "paper step", "twobo", "FAILED")):
                        M.log(line.rstrip())
                if returncode is not None:
                    break
                if time.perf_counter() - start > args.job_timeout:
                    proc.kill()
                    returncode = f"{proc.wait()} (killed after --job-timeout {args.job_timeout} s)"
                    break
    if returncode != 0 or not out_path.exists():
        tail = [line[:300] for line in log_path.read_text().strip().splitlines()[-5:]]
        M.log("    FAILED: " + " | ".join(tail))
        partial = json.loads(out_path.read_text()) if out_path.exists() else {}  # what it measured before
        return {**partial, **job, "error": f"exit {returncode}: " + " | ".join(tail)}
    result = json.loads(out_path.read_text())
    result.update(job)
    result["process_wall_s"] = time.perf_counter() - start
    return result


# -- our side (worker process) ------------------------------------------------------------------
def worker(spec_path: str, side: str, out_path: str) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import netket as nk
    import numpy as np

    import netket_arnn as na
    from netket_arnn.models import made, made_width_for, spin_glass_n_params

    compiles = M.jax_compile_counter()
    spec = json.loads(Path(spec_path).read_text())
    R, W, thr, B, beta = spec["repeats"], spec["warmup"], spec["max_foreign_load"], spec["batch"], spec["beta"]
    # the package's precision policy: parameters and log q (param_dtype), arithmetic (dtype)
    dtype = {
        "default": {},
        "float32": {"param_dtype": jnp.float32, "dtype": jnp.float32},
        "float64": {"param_dtype": jnp.float64, "dtype": jnp.float64},
    }
    options = dtype[spec["precision"]]
    sync = jax.block_until_ready

    if spec["task"] == "cw_sample":
        H = na.curie_weiss(spec["N"])
        model = na.build_net("cw_n", H, beta, **options)
    else:
        data = np.load(spec["instance"])
        n = int(data["N"])
        if bool(data["dense"]):
            J = np.zeros((n, n))
            J[data["edges"][:, 0], data["edges"][:, 1]] = data["weights"]
            H = na.from_couplings(J + J.T)
        else:
            H = na.PairwiseIsing(nk.hilbert.Spin(0.5, n), data["weights"], edges=data["edges"])
        if side == "ours":
            model = na.build_net(REGISTRY_NAMES[spec["k"]], H, beta, **options)
        else:
            width = made_width_for(n, spin_glass_n_params(H, spec["k"]), depth=2)
            model = made(H.hilbert, 2, width, **options)
    if side == "baseline" and spec["task"] == "cw_sample":
        n = spec["N"]
        model = made(H.hilbert, 2, made_width_for(n, 2 * n * (n - 1) + 6 * n, depth=2), **options)

    # ours samples with the package's sampler (NetKet's, with a pass's random numbers drawn at once);
    # the ARNNDense baseline with NetKet's own
    sampler = na.ARDirectSampler if side == "ours" else nk.sampler.ARDirectSampler
    vs = nk.vqs.MCState(sampler(H.hilbert), model, n_samples=B, seed=0, sampler_seed=1)
    driver = na.VariationalFreeEnergy(H, nk.optimizer.Adam(1e-3), variational_state=vs, beta=beta)
    result = {
        "n_parameters": int(vs.n_parameters),
        "model": repr(type(model).__name__),
        "param_dtypes": sorted({str(a.dtype) for a in jax.tree.leaves(vs.parameters)}),
    }
    if spec["mode"] == "step":
        stamps, counts, extra = [M.Stamp()], [compiles()], 3

        def on_step(step, log_data, driver):
            sync(driver.state.parameters)
            stamps.append(M.Stamp())
            counts.append(compiles())
            recompiled = " (compiled)" if counts[-1] != counts[-2] else ""
            M.log(f"    step {len(stamps) - 1}: {stamps[-1].wall - stamps[-2].wall:.3f} s{recompiled}")
            timed = sum(1 for i in range(W, len(counts) - 1) if counts[i + 1] == counts[i])
            return timed < R  # steps that compiled after the warm-up are replaced, up to `extra`

        driver.run(n_iter=W + R + extra, callback=on_step, show_progress=False)
        result["step"] = M.from_stamps(stamps, W, thr, counts)
    else:
        parts = {}
        timed = lambda fn: M.measure(fn, R, W, thr, sync, compiles)  # noqa: E731
        if spec["task"] == "cw_sample" and side == "ours" and hasattr(model, "table"):
            variables = vs.variables
            table = jax.jit(lambda v: model.apply(v, method=lambda m: m.table()))
            parts["table"] = timed(lambda: table(variables))
        parts["sample"] = timed(vs.sample)
        if spec["task"] == "train_step":
            sigma = vs.sample().reshape(-1, H.hilbert.size)
            parts["log_q_forward"] = timed(lambda: vs.log_value(sigma))
            grad = lambda: na.driver.free_energy_and_grad(vs, H, beta, samples=sigma)[1]  # noqa: E731
            parts["log_q_and_grad"] = timed(grad)
            g = grad()
            parts["update"] = timed(lambda: driver.update_parameters(g) or vs.parameters)
        result["parts"] = parts
    result["peak_rss_bytes"] = M.peak_rss_bytes()
    result["devices"] = [str(d) for d in jax.devices()]
    M.write_json(out_path, result)


# -- report -------------------------------------------------------------------------------------
def label(r) -> str:
    return r["side"] if r["side"] in ("paper", "twobo", "baseline") else f"ours {r['precision']}"


def summarise_case(c) -> dict:
    """Per side: step (or sampling) time, warm-up, peak RSS, part times; then the ratios."""
    by = {}
    for r in c["results"]:
        entry = by.setdefault(label(r), {})
        if "error" in r:  # a process cut short may still have written what it measured
            entry.setdefault("errors", []).append(f"{r['mode']}: {r['error']}")
        entry["n_parameters"] = r.get("n_parameters")
        entry[f"peak_rss_bytes_{r['mode']}"] = r.get("peak_rss_bytes")
        if "step" in r:
            entry.update(
                step_s=r["step"]["median_s"],
                warmup_s=r["step"]["warmup_s"],
                contended=r["step"]["contended"],
                foreign_load=r["step"].get("foreign_load_median"),
            )
        if "step_loop" in r:
            entry["step_loop_s"] = r["step_loop"]["median_s"]
        for name, p in (r.get("parts") or {}).items():
            entry.setdefault("parts", {})[name] = p["median_s"]
            entry.setdefault("parts_warmup_s", {})[name] = p["warmup_s"]
        if c["task"] == "cw_sample":
            entry["step_s"] = entry.get("parts", {}).get("sample")
    ratios = {}
    for ours in (k for k in by if k.startswith("ours")):
        for ref in ("paper", "twobo", "baseline"):
            a, b = by[ours].get("step_s"), by.get(ref, {}).get("step_s")
            if a and b:
                ratios[f"{ours} / {ref}"] = a / b
            pa, pb = by[ours].get("parts", {}), by.get(ref, {}).get("parts", {})
            for part in ("table", "sample", "log_q_forward", "log_q_and_grad"):
                if pa.get(part) and pb.get(part) and (c["task"] == "train_step" or part == "table"):
                    ratios[f"{ours} / {ref}: {part}"] = pa[part] / pb[part]
    return {"sides": by, "ratios": ratios}


def fmt(t) -> str:
    return "-" if t is None else (f"{t:.3g}" if t < 100 else f"{t:.0f}")


def print_report(report) -> None:
    print(
        f"\nmachine: {report['machine']['cpu_model']}, {report['machine']['cpu_count']} CPUs; "
        "times in s (median); ratio = ours / reference (< 1: ours faster)"
    )
    for c in report["cases"]:
        s = c.get("summary") or {}
        what = "sampling" if c["task"] == "cw_sample" else "training step"
        print(f"\n{c['name']}  (batch {c['batch']}; headline: {what})")
        for side, e in (s.get("sides") or {}).items():
            for err in e.get("errors", []):
                print(f"  {side:<16} ERROR {err[:110]}")
            if e.get("step_s") is None:
                continue
            rss = e.get("peak_rss_bytes_step") or e.get("peak_rss_bytes_parts") or e.get("peak_rss_bytes_all")
            extra = f"  params {e.get('n_parameters')}"
            extra += f"  peak RSS {rss / 2**30:.2f} GiB" if rss else ""
            if e.get("warmup_s"):
                extra += f"  warm-up {', '.join(fmt(t) for t in e['warmup_s'])}"
            if e.get("step_loop_s"):
                extra += f"  (library loop with its stats: {fmt(e['step_loop_s'])})"
            if e.get("foreign_load") is not None:
                extra += f"  load {e['foreign_load']:.2f}" + (" [contended]" if e.get("contended") else "")
            print(f"  {side:<16} {fmt(e['step_s']):>8}{extra}")
            for part, t in (e.get("parts") or {}).items():
                print(f"      {part:<18} {fmt(t):>8}")
        for name, ratio in (s.get("ratios") or {}).items():
            print(f"  {name:<42} {ratio:8.3g}x")


def environment(args) -> dict:
    out = {
        "machine": M.machine(),
        "versions": M.versions("jax", "jaxlib", "netket", "flax", "optax", "numpy", "netket-arnn", "torch", "equinox"),
        "project_commit": M.git_commit(HERE.parent),
    }
    if args.paper_code:
        out["paper_code_commit"] = M.git_commit(args.paper_code)
    if args.twobo:
        out["twobo_commit"] = M.git_commit(args.twobo)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, batch 64: a smoke check")
    parser.add_argument("--only", nargs="+", choices=GROUPS, default=list(GROUPS), help="configuration groups")
    parser.add_argument("--sizes", type=int, nargs="+", help="N of sk_dense (default 200)")
    parser.add_argument("--ks", type=int, nargs="+", help="RSB steps k (default 0 1 2)")
    parser.add_argument("--precisions", nargs="+", choices=("float32", "default", "float64"), default=list(PRECISIONS))
    parser.add_argument("--scale-precisions", nargs="+", choices=("float32", "default", "float64"), default=["default"])
    parser.add_argument("--repeats", type=int, help="timed repetitions (default 5, quick 2)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps (compile) per measurement")
    parser.add_argument("--scale-repeats", type=int, default=2, help="timed repetitions of the scale cases")
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--paper-code", help="checkout of ocadni/h2arnn (runs the paper's code as reference)")
    parser.add_argument("--twobo", help="checkout of cqsl/sparse-twobody-arnn (reference on the lattices)")
    parser.add_argument("--paper-python", default=sys.executable, help="interpreter with torch for --paper-code")
    parser.add_argument("--twobo-python", default=sys.executable, help="interpreter with equinox for --twobo")
    parser.add_argument("--external-at-scale", action="store_true", help="also run the references at scale")
    parser.add_argument("--no-baseline", action="store_true", help="skip NetKet's ARNNDense reference")
    parser.add_argument("--baseline-max-n", type=int, default=400, help="largest N for ARNNDense (O(N^3) sampling)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the paper's code")
    parser.add_argument(
        "--paper-omp-passive",
        action="store_true",
        help="OMP_WAIT_POLICY=PASSIVE for the paper's code: on a shared machine its spinning OpenMP threads "
        "otherwise lose up to 10x to the other processes",
    )
    parser.add_argument("--max-foreign-load", type=float, default=0.15, help="discard repetitions above this load")
    parser.add_argument("--job-timeout", type=float, default=3600, help="seconds per process")
    parser.add_argument(
        "--out",
        default="bench_training.json",
        help="JSON output (rewritten after every process; an earlier run's file is moved aside)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.side, args.out)
    for name, marker in (("paper_code", "python_lib/nets/h2arnn.py"), ("twobo", "nets/twobo.py")):
        if getattr(args, name):
            path = Path(getattr(args, name)).resolve()
            if not (path / marker).exists():
                parser.error(f"--{name.replace('_', '-')} {path}: not a checkout of it (no {marker})")
            setattr(args, name, str(path))
    args.repeats = args.repeats or (2 if args.quick else 5)
    if args.quick:
        args.warmup = min(args.warmup, 1)
        args.scale_repeats = min(args.scale_repeats, 2)
    todo = cases(args)
    for c in todo:
        c["precisions"] = [p for p in c["precisions"] if c["scale"] or p in args.precisions]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "bench_training",
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "side")},
        **environment(args),
        "cases": todo,
    }
    with tempfile.TemporaryDirectory(prefix="bench_training_") as tmp:
        workdir = Path(tmp)
        index = 0
        for c in todo:
            c["instance_path"], c["instance_source"] = write_instance(c, args, workdir)
            c["results"] = []
            for job in jobs(c, args):
                c["results"].append(run_job(c, job, args, workdir, index))
                index += 1
                c["summary"] = summarise_case(c)
                M.write_json(out, report)
            c.pop("instance_path")
            M.write_json(out, report)
    print_report(report)
    print(f"\nwrote {out}")
    return report


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
