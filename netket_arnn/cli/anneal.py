"""``netket-arnn anneal``: train models over a β grid and compare them with exact values.

Each model of --models is annealed in turn (the paper's protocol: warm-up and steps at the
first β, then steps at each following β, parameters and optimizer state carried over), with
a live per-β table. The output folder (--out) holds, at every moment::

  anneal.json             settings, system and every record so far (strict JSON, replaced atomically)
  runs/NAME.json          the records of one model (the same as in anneal.json)
  checkpoints/NAME.mpack  each model's run, saved after every β and every --checkpoint-every steps
  anneal.png              f[q] − f (or the distance to the best model) against β, at the end

Ctrl-C stops with one line saying where the results are; ``netket-arnn anneal --resume OUT``
continues the interrupted run with the settings stored in OUT/anneal.json: finished models
are kept, the interrupted one continues from its checkpoint (with the same final parameters
as a run never interrupted), the others start.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

from .. import recipes
from ._args import HelpFormatter, at_least_two, non_negative_int, plain, positive_float, positive_int
from ._system import add_system_arguments, build_system

NAME = "anneal"
DEFAULT_OUT = os.path.join("results", "anneal")
DEFAULT_MODELS = {
    "cw": ["cw_n", "cw_inf", "1p"],
    # The networks of the paper's SK figure (SK_2RSB is its reference), for any pairwise system.
    "sk": ["sk_rs", "sk_1rsb", "sk_2rsb", "1l", "made_23"],
}
RESULTS = "anneal.json"
# Options a resumed run may change: they do not affect the numbers.
_RESUME_FREE = ("resume", "quiet", "no_plot", "run", "command")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="train models over a β grid and compare with exact values",
        description=plain(__doc__),
        formatter_class=HelpFormatter,
    )
    add_system_arguments(p, default="cw")

    g = p.add_argument_group("models")
    g.add_argument(
        "--models",
        nargs="+",
        default=None,
        choices=list(recipes.RECIPES),
        metavar="NAME",
        help="models to run: "
        + "; ".join(f"{r.name}: {r.description}" for r in recipes.RECIPES.values())
        + f". None: {' '.join(DEFAULT_MODELS['cw'])} on cw, {' '.join(DEFAULT_MODELS['sk'])} otherwise",
    )
    g.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="parameter dtype")

    g = p.add_argument_group("protocol")
    b = g.add_mutually_exclusive_group()
    b.add_argument("--betas", type=positive_float, nargs="+", default=None, help="explicit β values (monotone)")
    b.add_argument(
        "--beta-range",
        type=positive_float,
        nargs=3,
        default=[0.1, 2.0, 0.1],
        metavar=("START", "STOP", "STEP"),
        help="β grid (the paper used 0.1 2.0 0.05)",
    )
    g.add_argument("--steps-per-beta", type=non_negative_int, default=100, help="training steps at every β")
    g.add_argument("--warmup-steps", type=non_negative_int, default=300, help="extra steps at the first β")
    g.add_argument(
        "--patience",
        type=non_negative_int,
        default=0,
        help="stop a β early after this many steps without improvement of the windowed f (0: off)",
    )
    g.add_argument("--window", type=positive_int, default=20, help="smoothing window of --patience")
    g.add_argument("--n-samples", type=at_least_two, default=1000, help="samples per training step")
    g.add_argument("--final-samples", type=at_least_two, default=5000, help="fresh samples for each β's estimates")
    g.add_argument(
        "--chunk-size", type=positive_int, default=None, help="samples per batched pass (None: chosen per model)"
    )
    g.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="optax optimizer")
    g.add_argument("--lr", type=positive_float, default=1e-2, help="learning rate (the paper: Adam 1e-3)")
    g.add_argument("--sr", type=positive_float, default=None, metavar="DIAG_SHIFT", help="precondition with SR")
    g.add_argument("--on-nan", choices=["raise", "rollback"], default="raise", help="when f[q] stops being finite")
    g.add_argument("--init-seed", type=non_negative_int, default=0, help="seed of model initialisation and sampling")
    g.add_argument("--overlaps", action="store_true", help="also estimate P(q) at every β")
    g.add_argument(
        "--unbiased-samples",
        type=non_negative_int,
        default=0,
        help="also sample exp(-βH) itself at every β, by Metropolis with the trained network as proposal (0: off)",
    )

    g = p.add_argument_group("output")
    g.add_argument("--out", default=DEFAULT_OUT, help="output folder")
    g.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        default=50,
        metavar="STEPS",
        help="also checkpoint every this many steps (0: only after each β)",
    )
    g.add_argument("--resume", metavar="OUT", default=None, help="continue the run in folder OUT, with its settings")
    g.add_argument("--no-plot", action="store_true", help="do not write anneal.png")
    g.add_argument("--quiet", action="store_true", help="no live table or progress bars")
    p.set_defaults(run=run)
    return p


def betas_of(args) -> list[float]:
    from ..driver import beta_grid

    if args.betas:
        return [float(b) for b in args.betas]
    return [float(b) for b in beta_grid(*args.beta_range)]


# -- the run ----------------------------------------------------------------------------------------


def run(args) -> int:
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning  # restored on exit by catch_warnings
        return _run(args)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _run(args) -> int:
    if args.resume is not None:
        args = _resumed_args(args)
    import jax

    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from ..driver import DivergenceError

    H, label = build_system(args)
    betas = betas_of(args)
    names = args.models or DEFAULT_MODELS["cw" if args.system == "cw" else "sk"]
    dtype = jnp.float32 if args.dtype == "float32" else jnp.float64
    # Build every model first: an impossible combination fails before any training.
    models = {name: recipes.get(name).build(H, betas[0], dtype) for name in names}

    out = args.out
    json_path = os.path.join(out, RESULTS)
    if args.resume is None:
        _refuse_unfinished(json_path, out)
    previous = _read(json_path) if args.resume is not None else None
    for folder in ("checkpoints", "runs"):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    payload = {
        "system": {
            "label": label,
            "hamiltonian": repr(H),
            "metadata": getattr(H, "metadata", {}),
            "n_sites": H.n_sites,
        },
        "betas": betas,
        "settings": {k: v for k, v in vars(args).items() if k not in _RESUME_FREE},
        "status": {name: "pending" for name in names},
        "summary": {},
        "runs": {},
    }
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    say(f"system: {label}   β: {betas[0]:g} … {betas[-1]:g} ({len(betas)} values)   output: {out}")
    from ..exact import MAX_ENUMERATION_SITES, reference_free_energy

    if reference_free_energy(H) is None:
        say(f"no exact free energy for this system (not Curie–Weiss, N > {MAX_ENUMERATION_SITES}): no relative errors")
    results, start, current = {}, time.perf_counter(), None
    try:
        for k, name in enumerate(names):
            current = name
            if previous is not None and previous.get("status", {}).get(name) == "finished":
                from ..driver import AnnealResult

                results[name] = AnnealResult.from_dict(previous["runs"][name])
                payload["runs"][name], payload["status"][name] = previous["runs"][name], "finished"
                say(f"\n== {name}: finished before, kept")
                continue
            results[name] = _anneal_one(args, H, label, betas, name, models[name], k, payload, json_path, say)
            payload["status"][name] = "finished"
            payload["summary"][name] = _summary(results[name])
            _write(json_path, payload)
    except KeyboardInterrupt as interrupt:
        result = getattr(interrupt, "result", None)
        where = f"after β = {result.records[-1].beta:g}" if result is not None and result.records else "before any β"
        model = f" of {current}" if current is not None else ""
        print(
            f"interrupted {where}{model}; results so far in {json_path}; "
            f"resume with: netket-arnn anneal --resume {out}",
            file=sys.stderr,
        )
        return 130
    except DivergenceError as error:
        print(f"netket-arnn anneal: error: {current}: {error}; results so far in {json_path}", file=sys.stderr)
        return 1

    total = time.perf_counter() - start
    say(f"\nsummary ({total:.1f} s):")
    for name, res in results.items():
        s = payload["summary"].setdefault(name, _summary(res))
        if s["mean_relative_error"] is not None:
            say(f"  {name:>8}: mean rel. error {s['mean_relative_error']:.2e}, max {s['max_relative_error']:.2e}")
        else:
            say(f"  {name:>8}: f at β={res[-1].beta:g}: {res[-1].free_energy:.8f} ± {res[-1].free_energy_error:.1e}")
    payload["wall_time"] = total
    _write(json_path, payload)
    say(f"wrote {json_path}")
    if not args.no_plot:
        from ..plotting import plot_anneal

        png_path = os.path.join(out, "anneal.png")
        plot_anneal(results, png_path, title=label)
        say(f"wrote {png_path}")
    return 0


def _anneal_one(args, H, label, betas, name, model, k, payload, json_path, say):
    import netket as nk
    import optax

    from ..driver import PlateauStopping, anneal
    from ..sampler import ARDirectSampler

    recipe = recipes.get(name)
    chunk = args.chunk_size if args.chunk_size is not None else recipe.chunk_size(H.n_sites)
    vstate = nk.vqs.MCState(
        ARDirectSampler(H.hilbert),
        model,
        n_samples=args.n_samples,
        seed=args.init_seed + k,
        sampler_seed=args.init_seed + 1000 + k,
        chunk_size=chunk,
    )
    trained = recipe.exact_parameters is None
    say(
        f"\n== {name}: {recipe.description}; {vstate.n_parameters} parameters"
        + (f"; {args.steps_per_beta} steps per β, {args.warmup_steps} warm-up" if trained else "")
    )
    factory = optax.adam if args.optimizer == "adam" else optax.sgd
    optimizer = optax.inject_hyperparams(factory)(learning_rate=args.lr)
    checkpoint = os.path.join(args.out, "checkpoints", f"{name}.mpack")
    run_file = os.path.join(args.out, "runs", f"{name}.json")
    resume = args.resume is not None and os.path.exists(checkpoint)
    payload["status"][name] = "running"
    _write(json_path, payload)

    def on_record(record):
        # anneal has just written this model's records to run_file: copy them into the whole.
        payload["runs"][name] = _read(run_file)
        _write(json_path, payload)

    result = anneal(
        H,
        vstate,
        betas,
        optimizer=optimizer,
        preconditioner=nk.optimizer.SR(diag_shift=args.sr) if args.sr is not None else None,
        steps_per_beta=args.steps_per_beta,
        warmup_steps=args.warmup_steps,
        early_stopping=PlateauStopping(patience=args.patience, window=args.window) if args.patience else None,
        n_final_samples=args.final_samples,
        exact_parameters=recipe.exact_parameters,
        overlaps=args.overlaps,
        unbiased_samples=args.unbiased_samples,
        on_record=on_record,
        # Progress bars only on a terminal: in a log file they are one endless line.
        show_progress=False if args.quiet else (True if sys.stderr.isatty() else "table"),
        metadata={"name": name, "system": label, "optimizer_name": args.optimizer, "learning_rate": args.lr},
        on_nan=args.on_nan,
        results_file=run_file,
        checkpoint=checkpoint,
        checkpoint_every=args.checkpoint_every or None,
        resume=resume,
    )
    payload["runs"][name] = result.as_dict()
    return result


def _summary(result) -> dict:
    rel = [r.relative_error for r in result if r.relative_error is not None]
    return {
        "mean_relative_error": sum(rel) / len(rel) if rel else None,
        "max_relative_error": max(rel) if rel else None,
        "wall_time": sum(r.wall_time for r in result),
    }


# -- output folder and resuming ----------------------------------------------------------------------


def _write(path, payload) -> None:
    from ..driver.results import _jsonable, write_json_atomic

    write_json_atomic(path, _jsonable(payload))  # numpy values of metadata become plain numbers


def _read(path) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: --resume needs the folder of an earlier `anneal` run") from None


def _refuse_unfinished(json_path, out) -> None:
    if not os.path.exists(json_path):
        return
    status = _read(json_path).get("status", {})
    if any(state != "finished" for state in status.values()):
        raise ValueError(
            f"{out} holds an unfinished run: continue it with `netket-arnn anneal --resume {out}`, "
            "or choose another --out (or remove the folder) to start over"
        )


def _resumed_args(args) -> argparse.Namespace:
    """The settings stored in ``args.resume``, with the options that do not change the numbers."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    defaults = vars(parser.parse_args([NAME]))
    given = [k for k, v in vars(args).items() if k not in _RESUME_FREE and v != defaults.get(k)]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ValueError(f"--resume takes every setting from {args.resume}/{RESULTS}; do not pass {flags}")
    stored = _read(os.path.join(args.resume, RESULTS))["settings"]
    merged = {**defaults, **stored, "resume": args.resume, "out": args.resume, "quiet": args.quiet}
    merged["no_plot"] = args.no_plot
    return argparse.Namespace(**merged)
