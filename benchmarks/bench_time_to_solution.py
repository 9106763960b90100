"""Time to solution: the training samples and seconds a protocol needs to reach the paper's published f[q].

For each case the net is annealed over the paper's grid (β = 0.1, 0.15, …, 2.0, batch 2000) with a
training protocol (:mod:`netket_arnn.protocols`, default ``adaptive``), and at every β its
:math:`f[q]` is estimated from 40,000 fresh samples, the number behind each published value.

- ``sk``: the published SK instances (``na.sherrington_kirkpatrick(N, seed=s)``, bit for bit
  those of the paper), nets of Fig. 5. A β is *reached* when our :math:`f[q]` is no higher than
  the published value plus two of its standard errors (``fe + 2 fe_std / 200``; the published
  ``fe`` is the mean over 40,000 samples). The target: every β from 0.5 to 2.0 reached.
- ``cw``: Curie–Weiss at N = 800, nets CW_∞ and 1P; the exact f at finite N is known, and the
  target is the paper's mean relative error over the grid (Fig. 4) or better.

The paper's protocol (5000 warm-up steps, 1020 steps at each of the 39 β: 44,780 steps of 2000
samples) is the reference: with ``--paper-code PATH`` (a checkout of ``ocadni/h2arnn``, run by
``external/h2arnn_paper.py`` in its own process, PyTorch with ``--threads`` threads) the paper's
code's training step is timed in the same run on the same instance, and its protocol's time is
44,780 times that step. Ratios are the paper's protocol over ours (above 1: we need less).

    python benchmarks/bench_time_to_solution.py --case sk --n 100 --seeds 1 2 3 --nets sk_1rsb
    python benchmarks/bench_time_to_solution.py --case sk --n 200 --seeds 1 --paper-code ../h2arnn
    python benchmarks/bench_time_to_solution.py --case cw --nets cw_inf 1p
    python benchmarks/bench_time_to_solution.py --quick    # smoke check, seconds: N = 50, β up to 0.3

Writes ``results/time_to_solution_<case>.json`` (``--out``) after every β and prints a table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "examples" / "data" / "paper"
sys.path.insert(0, str(HERE / "external"))
import _measure as M  # noqa: E402

PAPER_WARMUP, PAPER_STEPS_PER_BETA = 5000, 1020  # the paper's protocol: 5000 + 39 * 1020 steps on its grid
BATCH, FINAL_SAMPLES, PUBLISHED_SAMPLES = 2000, 40_000, 40_000
LABELS = {"sk_rs": "SK_RS", "sk_1rsb": "SK_1RSB", "sk_2rsb": "SK_2RSB", "1l": "1L", "made_23": "MADE_23"}
CW_LABELS = {"cw_inf": "CW_inf", "1p": "1P"}
K_OF = {"sk_rs": 0, "sk_1rsb": 1, "sk_2rsb": 2}
PAPER_CW_NETS = ("cw_inf", "1p")  # the paper code's CWARNN_inf and oneP


def published_sk(n: int, seed: int, label: str) -> dict[float, tuple[float, float]]:
    """``β -> (f, standard error)`` of the paper's run (N, seed, net)."""
    out = {}
    with open(DATA / "sk_table_fig5.csv") as f:
        for r in csv.DictReader(f):
            if int(r["N"]) == n and int(r["seed"]) == seed and r["net_label"] == label:
                out[round(float(r["beta"]), 6)] = (float(r["fe"]), float(r["fe_std"]) / PUBLISHED_SAMPLES**0.5)
    return out


def published_cw_mean_error(n: int, label: str) -> float | None:
    with open(DATA / "cw_fig4_summary.csv") as f:
        for r in csv.DictReader(f):
            if int(r["N"]) == n and r["net_label"] == label:
                return float(r["mean_abs_rel_err"])
    return None


def protocol_of(args):
    """The protocol of ``--protocol`` with the ``--beyond`` and ``--set NAME=VALUE`` changes, named
    ``--name`` where given."""
    import netket_arnn as na
    from netket_arnn.cli.anneal import _beyond_of

    protocol = na.driver.get_protocol(args.protocol)
    for words in args.beyond or ():
        beta, values = _beyond_of(words)
        protocol = protocol.beyond_beta(beta, **values)
    changes = {}
    for item in args.set:
        name, _, value = item.partition("=")
        current = getattr(protocol, name)
        if name in ("convergence", "retreat"):  # rules given as JSON keywords, e.g. retreat={"factor": 0.1}
            rule = {"convergence": na.protocols.Convergence, "retreat": na.protocols.Retreat}[name]
            changes[name] = None if value == "null" else rule(**json.loads(value))
        elif isinstance(current, bool):
            changes[name] = {"true": True, "false": False}[value.lower()]
        elif isinstance(current, int | float | str):
            changes[name] = type(current)(value)
        else:
            changes[name] = json.loads(value)
    if changes:
        protocol = protocol.replace(name=f"{protocol.name}+{','.join(args.set)}", **changes)
    # the name the results give the run wins over the one made up from --set
    return protocol.replace(name=args.name) if args.name else protocol


def net_options_of(args) -> dict:
    """The ``--net-option NAME=VALUE`` keywords of the nets' builders (values read as JSON)."""
    options = {}
    for item in args.net_option:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--net-option needs NAME=VALUE, got {item!r}")
        options[name] = json.loads(value)
    return options


def run_case(case: dict, args, save) -> dict:
    """Anneal one (system, N, seed, net) with the protocol; the per-β rows as they come."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import netket as nk

    import netket_arnn as na

    protocol = protocol_of(args)
    betas = [b for b in na.driver.beta_grid(0.1, 2.0, 0.05) if b <= args.beta_max + 1e-9]
    n, seed, name = case["N"], case["seed"], case["net"]
    H = na.sherrington_kirkpatrick(n, seed=seed) if case["system"] == "sk" else na.curie_weiss(n)
    net, net_options = na.get_net(name), net_options_of(args)
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert),
        net(H, betas[0], **net_options),
        n_samples=args.batch,
        chunk_size=net.chunk_size(n),
        seed=seed,
        sampler_seed=seed + 1,
    )
    reference = published_sk(n, seed, LABELS.get(name, name)) if case["system"] == "sk" else {}
    case.update(protocol=protocol.settings(), net_options=net_options, rows=[], n_parameters=int(vstate.n_parameters))
    start, samples = time.perf_counter(), 0

    def on_record(record):
        nonlocal samples
        samples += record.training_samples
        row = {
            "beta": record.beta,
            "steps": record.steps,
            "batch": record.training_samples // max(record.steps, 1),
            "samples": samples,
            "seconds": time.perf_counter() - start,
            "f": record.free_energy,
            "f_error": record.free_energy_error,
            "ess_fraction": record.ess_fraction,
            "exact_f": record.exact_free_energy,
            "relative_error": record.relative_error,
        }
        if round(record.beta, 6) in reference:
            f_paper, se = reference[round(record.beta, 6)]
            row.update(paper_f=f_paper, paper_error=se, excess_in_paper_errors=(record.free_energy - f_paper) / se)
            row["reached"] = bool(record.free_energy <= f_paper + 2 * se)
        case["rows"].append(row)
        save()
        M.log(
            f"    {name} N={n} seed={seed} β={record.beta:.2f}: {record.steps} steps, f = {record.free_energy:.7f}"
            + (
                f", paper {row['paper_f']:.7f} ± {row['paper_error']:.1e}, reached {row['reached']}"
                if "reached" in row
                else ""
            )
            + (f", rel. error {record.relative_error:.2e}" if record.relative_error is not None else "")
        )

    na.anneal(
        H,
        vstate,
        betas,
        protocol=protocol,
        stage=net.beta_stage,
        estimates=na.driver.FinalEstimates(n_samples=args.final_samples, observables=()),
        on_record=on_record,
        show_progress=False,
    )
    summarise_case(case, args)
    save()
    return case


def paper_steps(n_betas: int) -> int:
    """Steps of the paper's protocol over its first ``n_betas`` βs (44,780 on its 39)."""
    return PAPER_WARMUP + PAPER_STEPS_PER_BETA * n_betas


def summarise_case(case: dict, args) -> None:
    rows = case["rows"]
    case["samples"], case["seconds"] = rows[-1]["samples"], rows[-1]["seconds"]
    case["steps"] = sum(r["steps"] for r in rows)
    # the paper's protocol on the same βs (a run stopped at --beta-max compares with its part of it)
    case["paper_steps"] = paper_steps(len(rows))
    case["paper_samples"] = case["paper_steps"] * BATCH  # the paper trained with batch 2000, whatever ours
    if case["system"] == "sk":
        target = [r for r in rows if r["beta"] >= args.beta_from - 1e-9 and "reached" in r]
        case["betas_checked"] = len(target)
        case["betas_reached"] = sum(r["reached"] for r in target)
        case["worst_excess_in_paper_errors"] = max((r["excess_in_paper_errors"] for r in target), default=None)
        case["target_met"] = bool(target) and all(r["reached"] for r in target)
    else:
        errors = [abs(r["relative_error"]) for r in rows if r["relative_error"] is not None]
        case["mean_abs_relative_error"] = sum(errors) / len(errors)
        case["paper_mean_abs_relative_error"] = published_cw_mean_error(case["N"], CW_LABELS[case["net"]])
        paper = case["paper_mean_abs_relative_error"]
        case["target_met"] = paper is not None and case["mean_abs_relative_error"] <= paper
    case["sample_ratio"] = case["paper_samples"] / case["samples"]


def paper_step_seconds(case: dict, args, workdir: Path) -> float | None:
    """Median seconds of one training step of the paper's code on this instance (SK_kRSB, CW_∞, 1P)."""
    if not args.paper_code or case["net"] not in (*K_OF, *PAPER_CW_NETS):
        return None
    import numpy as np

    import netket_arnn as na

    if case["net"] in PAPER_CW_NETS:
        net = {"net": case["net"]}  # run.CW_case: J = 1, h = 0
    else:
        H = na.sherrington_kirkpatrick(case["N"], seed=case["seed"])
        instance = workdir / f"sk_{case['N']}_{case['seed']}.npz"
        np.savez(instance, N=case["N"], edges=np.asarray(H.edges), weights=np.asarray(H.edge_weights), dense=True)
        net = {"k": K_OF[case["net"]], "sparse": False, "instance": str(instance)}
    spec = {
        "task": "train_step",
        **net,
        "N": case["N"],
        "batch": args.batch,
        "beta": 1.0,
        "lr": 1e-3,
        "repeats": args.paper_repeats,
        "warmup": 2,
        "max_foreign_load": 0.5,
        "threads": args.threads,
    }
    spec_path, out_path = workdir / "paper.spec.json", workdir / "paper.out.json"
    spec_path.write_text(json.dumps(spec))
    cmd = [args.paper_python, str(HERE / "external" / "h2arnn_paper.py"), "--code", args.paper_code]
    done = subprocess.run([*cmd, "--spec", str(spec_path), "--out", str(out_path)], capture_output=True, text=True)
    if done.returncode != 0 or not out_path.exists():
        M.log(f"    paper code failed: {done.stderr[-500:]}")
        return None
    measured = json.loads(out_path.read_text())
    # "step": what one step of its training must compute (sample, log q, REINFORCE gradient, Adam);
    # its library's own loop ("step_loop") also builds an overlap histogram every step, which is
    # left out here, so the paper's side is, if anything, timed fast.
    step = measured.get("step") or {}
    case["paper_step_loop_seconds"] = (measured.get("step_loop") or {}).get("median_s")
    return step.get("median_s")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--case", choices=["sk", "cw"], default="sk")
    p.add_argument("--n", type=int, nargs="+", default=None, help="sizes (sk: 100; cw: 800)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--nets", nargs="+", default=None, help="registry names (sk: sk_1rsb; cw: cw_inf 1p)")
    p.add_argument("--protocol", default="adaptive", help="a protocol name of netket_arnn.protocols")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="change fields of the protocol")
    p.add_argument(
        "--beyond",
        nargs="+",
        action="append",
        default=None,
        metavar=("BETA", "NAME=VALUE"),
        help="from β = BETA on, other values of per-β fields (as the command line's --beyond; repeatable)",
    )
    p.add_argument("--name", default=None, help="the name the results give the protocol")
    p.add_argument(
        "--net-option",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="keywords of the nets' builders, values as JSON (e.g. centred=true)",
    )
    p.add_argument("--batch", type=int, default=BATCH)
    p.add_argument("--final-samples", type=int, default=FINAL_SAMPLES)
    p.add_argument("--beta-from", type=float, default=0.5, help="the target holds from this β on")
    p.add_argument("--beta-max", type=float, default=2.0)
    p.add_argument("--paper-code", default=None, help="checkout of ocadni/h2arnn: time its training step")
    p.add_argument("--paper-python", default=sys.executable, help="the Python (with PyTorch) for --paper-code")
    p.add_argument("--paper-repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--quick", action="store_true", help="smoke check: N = 50, β up to 0.3, 4,000 final samples")
    p.add_argument("--out", default=None, help="JSON path (default results/time_to_solution_<case>.json)")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.beta_max, args.final_samples, args.beta_from = [50], 0.3, 4000, 0.1
    sizes = args.n or ([100] if args.case == "sk" else [800])
    nets = args.nets or (["sk_1rsb"] if args.case == "sk" else ["cw_inf", "1p"])
    seeds = args.seeds if args.case == "sk" else [0]
    out = Path(args.out or HERE / "results" / f"time_to_solution_{args.case}{'_quick' if args.quick else ''}.json")
    report = {"machine": M.machine(), "command": " ".join(sys.argv), "cases": []}

    def save():
        M.write_json(out, report)

    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for seed in seeds:
                for name in nets:
                    case = {"system": args.case, "N": n, "seed": seed, "net": name}
                    report["cases"].append(case)
                    M.log(f"== {name}, N = {n}, seed {seed}, protocol {args.protocol}")
                    run_case(case, args, save)
                    step = paper_step_seconds(case, args, Path(tmp))
                    if step is not None:
                        case["paper_step_seconds"] = step
                        case["paper_protocol_seconds"] = step * case["paper_steps"]
                        case["time_ratio"] = case["paper_protocol_seconds"] / case["seconds"]
                    save()
    print(table(report["cases"]))
    print(f"written: {out}")


def table(cases: list[dict]) -> str:
    lines = [
        "| net | N | seed | target met | βs reached | worst excess (paper σ) / mean rel. error | steps | samples "
        "| s | samples ratio | paper's protocol s | time ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        if "samples" not in c:
            continue
        quality = (
            f"{c['worst_excess_in_paper_errors']:+.1f}"
            if c["system"] == "sk"
            else f"{c['mean_abs_relative_error']:.2e} (paper {c['paper_mean_abs_relative_error']:.2e})"
        )
        reached = f"{c['betas_reached']}/{c['betas_checked']}" if c["system"] == "sk" else "-"
        paper_s = c.get("paper_protocol_seconds")
        paper = ("-", "-") if paper_s is None else (f"{paper_s:.0f}", f"{c['time_ratio']:.1f}")
        lines.append(
            f"| {c['net']} | {c['N']} | {c['seed']} | {c['target_met']} | {reached} | {quality} "
            f"| {c['steps']} | {c['samples']:.3g} | {c['seconds']:.0f} | {c['sample_ratio']:.1f} "
            f"| {paper[0]} | {paper[1]} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
