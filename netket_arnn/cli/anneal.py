"""``netket-arnn anneal``: train models over a β grid and compare them with exact values.

Each model of --models is annealed in turn (the paper's protocol: warm-up and steps at the
first β, then steps at each following β, parameters and optimizer state carried over), with
a per-β table. The output folder (--out) holds, at every moment::

  anneal.json             settings, system, seeds, provenance and every record so far
                          (strict JSON, replaced atomically; written before any model is built)
  runs/NAME.json          the records of one model (the same as in anneal.json)
  checkpoints/NAME.mpack  each model's run, saved after every β and every --checkpoint-every steps
  anneal.png              f[q] − f (or the distance to the best model) against β, at the end

Every quantity is per spin unless its name says otherwise (log_z_total is the total log Z).

A folder that holds another run is not overwritten: pass --overwrite (which removes only the
four entries above) or --resume. Without --out, each run takes a new folder: results/anneal,
then results/anneal-2, ...

Ctrl-C (at any moment, compilation included) stops with one line saying where the results
are and exit code 130; ``netket-arnn anneal --resume OUT`` continues the interrupted run with the
settings stored in OUT/anneal.json: finished models are kept, the interrupted one continues
from its checkpoint (with the same final parameters as a run never interrupted), the others
start.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
import warnings
import zlib

from .. import registry
from .._provenance import provenance
from ..protocols import ADAPTIVE, PER_BETA_FIELDS, AnnealProtocol, Convergence, Retreat, get_protocol, protocol_names
from ._args import (
    HelpFormatter,
    add_plugin_argument,
    add_precision_arguments,
    at_least_two,
    enable_float64_if_needed,
    fraction_below_one,
    jax_precision,
    net_help,
    non_negative_float,
    non_negative_int,
    plain,
    positive_float,
    positive_int,
    precision,
)
from ._output import claim_folder, exit_now_on_second_interrupt, speaker, write_json
from ._system import add_system_arguments, build_system

NAME = "anneal"
DEFAULT_OUT = os.path.join("results", "anneal")
DEFAULT_MODELS = {
    "cw": ["cw_n", "cw_inf", "1p"],
    # The networks of the paper's SK figure (SK_2RSB is its reference), for any pairwise system.
    "sk": ["sk_rs", "sk_1rsb", "sk_2rsb", "1l", "made_23"],
    # 2D lattices (the ferromagnet, Edwards–Anderson): the net for sparse graphs, and the sparse SK_1RSB
    "lattice": ["frontier", "sk_1rsb_sparse"],
}


def default_models(system: str) -> list[str]:
    """The nets run when --models is not given, by system."""
    return DEFAULT_MODELS["cw" if system == "cw" else "lattice" if system in ("ferro2d", "ea") else "sk"]


RESULTS = "anneal.json"
#: What a run owns in its folder (``--overwrite`` removes these and nothing else).
OWNED = (RESULTS, "anneal.png", "runs", "checkpoints")
# Options a resumed run may change: they do not affect the numbers.
_RESUME_FREE = ("resume", "quiet", "no_plot", "run", "command", "plugin", "overwrite")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="train models over a β grid and compare with exact values",
        description=plain(__doc__),
        formatter_class=HelpFormatter,
    )
    add_system_arguments(p, default="cw")

    g = p.add_argument_group("models")
    names = registry.net_names()
    g.add_argument(
        "--models",
        nargs="+",
        default=None,
        choices=names,
        metavar="NAME",
        help="models to run, by their name in the registry of nets: "
        + net_help(names)
        + f". None: {' '.join(DEFAULT_MODELS['cw'])} on cw, {' '.join(DEFAULT_MODELS['lattice'])} on ferro2d "
        f"and ea, {' '.join(DEFAULT_MODELS['sk'])} otherwise",
    )
    add_precision_arguments(g)
    add_plugin_argument(g)

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
    g.add_argument(
        "--protocol",
        choices=protocol_names(),
        default="adaptive",
        help="training protocol: 'adaptive' (steps per β set by a convergence test, then a decaying learning "
        "rate), 'settled' (the same budget spent at every β, a short search and a long decay: the one "
        "that reaches the paper's SK values up to β = 1), 'tracking' ('settled' up to β = 1, then 3x its "
        "learning rate, the previous β's change carried forward and the same samples in more steps of a "
        "smaller batch: a quarter to β = 1.5, half beyond: "
        "the closest to the paper's SK values beyond at N = 100, diverging at N = 200), "
        "'natural' (natural-gradient steps, SR: fewest samples per "
        "result, each step costlier on nets with many parameters) or 'paper' "
        "(arXiv:2302.08347: Adam 1e-3, 5000 warm-up steps, 1020 steps per β); the options below change single "
        "values of it",
    )
    g.add_argument(
        "--steps-per-beta",
        type=non_negative_int,
        default=None,
        help=f"(most) steps at every β (default: the protocol's, {_by_protocol('max_steps')})",
    )
    g.add_argument(
        "--warmup-steps",
        type=non_negative_int,
        default=None,
        help=f"extra steps at the first β (default: the protocol's, {_by_protocol('warmup_steps')})",
    )
    g.add_argument(
        "--settle-steps",
        type=non_negative_int,
        default=None,
        help="steps of the decaying learning rate that end every β (default: the protocol's, "
        f"{_by_protocol('settle_steps')})",
    )
    g.add_argument(
        "--extrapolate",
        type=non_negative_float,
        default=None,
        metavar="FACTOR",
        help="at every new β from the third on, also move the parameters by FACTOR times what training changed "
        f"at the previous β (0: off; default: the protocol's, {_by_protocol('extrapolate_start')})",
    )
    g.add_argument(
        "--beyond",
        nargs="+",
        action="append",
        default=None,
        metavar=("BETA", "NAME=VALUE"),
        help="from β = BETA on, give per-β fields of the protocol other values, e.g. --beyond 1.0 "
        "learning_rate=3e-3 extrapolate_start=1 (fields: " + ", ".join(PER_BETA_FIELDS) + "; repeat the "
        "option for more β, in increasing order; the options above change the values below the first BETA)",
    )
    g.add_argument(
        "--window",
        type=non_negative_int,
        default=None,
        help="steps per window of the convergence test that ends a β (0: no test; default: the protocol's, "
        + ", ".join(f"{p.convergence.window if p.convergence else 0} {n}" for n, p in _PROTOCOLS.items())
        + ")",
    )
    g.add_argument("--patience", type=non_negative_int, default=None, help=argparse.SUPPRESS)
    g.add_argument("--n-samples", type=at_least_two, default=1000, help="samples per training step")
    g.add_argument("--final-samples", type=at_least_two, default=5000, help="fresh samples for each β's estimates")
    g.add_argument(
        "--chunk-size", type=positive_int, default=None, help="samples per batched pass (None: chosen per model)"
    )
    g.add_argument(
        "--optimizer",
        choices=["adam", "sgd"],
        default=None,
        help="optax optimizer (default: the protocol's, "
        + ", ".join(f"{p.optimizer} {n}" for n, p in _PROTOCOLS.items())
        + ")",
    )
    g.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help=f"learning rate (default: the protocol's, {_by_protocol('learning_rate')}; under the adaptive "
        f"protocol the net's own where it has one, {_net_training_help('learning_rate')})",
    )
    g.add_argument(
        "--retreat",
        type=fraction_below_one,
        default=None,
        metavar="FACTOR",
        help="restart a β whose training raised f[q] significantly above its first step's value from where it "
        "began, at this fraction of the learning rate (0: off; default: the net's own under the adaptive "
        f"protocol, {_net_training_help('retreat')}, else off)",
    )
    g.add_argument(
        "--sr",
        type=positive_float,
        default=None,
        metavar="DIAG_SHIFT",
        help="precondition with SR at this diagonal shift (with --protocol natural: its diagonal shift, "
        f"{get_protocol('natural').diag_shift:g})",
    )
    g.add_argument(
        "--local-balance",
        type=non_negative_float,
        default=None,
        metavar="WEIGHT",
        help="weight of the local-balance term in the gradient of the nets that estimate their future free "
        "energy (frontier); the other nets train without it (0: off; default: the net's own under the adaptive "
        f"protocol, {_net_training_help('local_balance')}, else 0)",
    )
    g.add_argument("--on-nan", choices=["raise", "rollback"], default="raise", help="when f[q] stops being finite")
    g.add_argument(
        "--init-seed",
        type=non_negative_int,
        default=0,
        help="seed of model initialisation and sampling. Each model's seeds are derived from its name and "
        "this seed (CRC-32 of 'NAME:SEED'), so a model's result does not depend on the other models of "
        "--models or their order; anneal.json lists them",
    )
    g.add_argument("--overlaps", action="store_true", help="also estimate P(q) at every β")
    g.add_argument(
        "--unbiased-samples",
        type=non_negative_int,
        default=0,
        help="also sample exp(-βH) itself at every β, by Metropolis with the trained network as proposal (0: off)",
    )

    g = p.add_argument_group("output")
    g.add_argument(
        "--out",
        default=None,
        help=f"output folder (None: {DEFAULT_OUT}, or {DEFAULT_OUT}-2, -3, ... if it holds a run)",
    )
    g.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        default=50,
        metavar="STEPS",
        help="also checkpoint every this many steps (0: only after each β)",
    )
    r = g.add_mutually_exclusive_group()
    r.add_argument("--resume", metavar="OUT", default=None, help="continue the run in folder OUT, with its settings")
    r.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in --out (removes its anneal.json, anneal.png, runs/ and checkpoints/ only)",
    )
    g.add_argument("--no-plot", action="store_true", help="do not write anneal.png")
    g.add_argument("--quiet", action="store_true", help="no table or progress bars")
    p.set_defaults(run=run)
    return p


def betas_of(args) -> list[float]:
    from ..driver import beta_grid

    if args.betas:
        return [float(b) for b in args.betas]
    return [float(b) for b in beta_grid(*args.beta_range)]


def model_seeds(name: str, init_seed: int) -> dict:
    """The seeds of model ``name``: from its name and ``--init-seed`` alone, not its place in ``--models``."""
    return {
        "init": zlib.crc32(f"{name}:{init_seed}".encode()) & 0x7FFFFFFF,
        "sampler": zlib.crc32(f"{name}:{init_seed}:sampler".encode()) & 0x7FFFFFFF,
    }


_PROTOCOLS = {name: get_protocol(name) for name in protocol_names()}


def _by_protocol(field: str) -> str:
    return ", ".join(f"{getattr(p, field):g} {name}" for name, p in _PROTOCOLS.items())


def _net_training_help(key: str) -> str:
    return ", ".join(f"{net.training[key]:g} {name}" for name, net in registry.nets.items() if key in net.training)


def _own_training(args, net) -> dict:
    """The net's own settings (:attr:`~netket_arnn.Net.training`): they refine the adaptive protocol only."""
    return dict(net.training) if net is not None and args.protocol == ADAPTIVE.name else {}


def net_training(args, net) -> tuple[AnnealProtocol, float]:
    """``(protocol, local-balance weight)`` a net trains with: the run's, refined by the net's own
    settings under the adaptive protocol where the options leave them."""
    balance = args.local_balance
    if balance is None:
        balance = _own_training(args, net).get("local_balance", 0.0)
    return protocol_of(args, net), float(balance)


def _optimizer_settings(args, protocol: AnnealProtocol, names) -> dict:
    """The run's optimizer and learning rate, and under ``nets`` those nets that train at their own rate."""
    settings = {"name": protocol.optimizer, "learning_rate": protocol.learning_rate}
    own = {name: protocol_of(args, registry.get_net(name)).learning_rate for name in names}
    own = {name: rate for name, rate in own.items() if rate != protocol.learning_rate}
    if own:
        settings["nets"] = own
    return settings


def protocol_of(args, net=None) -> AnnealProtocol:
    """The training protocol of ``--protocol``, with the values the other protocol options change
    (and, for ``net``, the learning rate of its own settings where ``--lr`` is not given)."""
    base = get_protocol(args.protocol)
    own = _own_training(args, net)
    changes = {}
    if args.steps_per_beta is not None:
        changes["max_steps"] = args.steps_per_beta
        changes["min_steps"] = None if base.convergence is not None else args.steps_per_beta
    if args.warmup_steps is not None:
        changes["warmup_steps"] = args.warmup_steps
    if args.settle_steps is not None:
        changes["settle_steps"] = args.settle_steps
    if args.extrapolate is not None:
        changes["extrapolate_start"] = args.extrapolate
    if args.lr is not None:
        changes["learning_rate"] = args.lr
    elif "learning_rate" in own:
        changes["learning_rate"] = own["learning_rate"]
    retreat = own.get("retreat") if args.retreat is None else args.retreat
    if retreat:  # 0: off (no named protocol has a retreat of its own)
        changes["retreat"] = Retreat(factor=retreat)
    if args.optimizer is not None and args.optimizer != base.optimizer:
        changes["optimizer"] = args.optimizer
    if args.sr is not None and base.preconditioner is not None:
        changes["diag_shift"] = args.sr
    if args.window is not None:
        changes["convergence"] = None if args.window == 0 else Convergence(window=args.window)
        changes["min_steps"] = None
    if args.beyond:
        changes["beyond"] = (*base.beyond, *(_beyond_of(words) for words in args.beyond))
    if not changes:
        return base
    try:
        return base.replace(name=f"{base.name} (modified)", **changes)
    except ValueError as error:
        raise SystemExit(f"netket-arnn anneal: error: --protocol {base.name} with these options: {error}") from None


def _beyond_of(words: list[str]) -> tuple[float, dict]:
    """One ``--beyond BETA NAME=VALUE ...`` as a ``(β, changes)`` pair of :attr:`AnnealProtocol.beyond`."""
    usage = "netket-arnn anneal: error: --beyond needs BETA NAME=VALUE [NAME=VALUE ...]"
    if len(words) < 2:
        raise SystemExit(f"{usage}, got {' '.join(words)!r}")
    try:
        beta = positive_float(words[0])
    except Exception as error:
        raise SystemExit(f"{usage}: BETA {words[0]!r}: {error}") from None
    changes = {}
    for word in words[1:]:
        name, sep, value = word.partition("=")
        if not sep:
            raise SystemExit(f"{usage}, got {word!r}")
        if name not in PER_BETA_FIELDS:
            raise SystemExit(f"{usage}: {name!r} is not one of the per-β fields {', '.join(PER_BETA_FIELDS)}")
        kind = int if name in ("max_steps", "min_steps", "settle_steps") else float
        try:
            changes[name] = kind(value)
        except ValueError:
            raise SystemExit(
                f"{usage}: {name} must be {'an integer' if kind is int else 'a number'}, got {value!r}"
            ) from None
        if name == "retreat":  # as --retreat: the factor of the restarted β's rate, 0 for none
            try:
                changes[name] = None if changes[name] == 0 else Retreat(factor=changes[name])
            except ValueError as error:
                raise SystemExit(f"{usage}: retreat: {error}") from None
    return beta, changes


def preconditioner_settings(args, protocol: AnnealProtocol) -> dict | None:
    """The preconditioner of the run as plain values (the protocol's, or ``--sr``'s)."""
    if protocol.preconditioner == "sr":
        return {
            "name": "SR",
            "diag_shift": protocol.diag_shift,
            "from": "protocol",
            # the protocol builds one form or the other per net: the records must not imply one
            "form": "per net: dense QGT (SR) or sample kernel (SampleSpaceSR), in runs.<net>.metadata.preconditioner",
        }
    return None if args.sr is None else {"name": "SR", "diag_shift": args.sr}


def critical_beta(H) -> float | None:
    """The β of the phase transition of ``H`` where it is known from its metadata, else None.

    Curie–Weiss: :math:`1/J`; Sherrington–Kirkpatrick: :math:`1/J`; the square-lattice
    ferromagnet: :math:`\\ln(1+\\sqrt 2)/2` (Onsager), from a ``"beta_c"`` entry of the metadata.
    All at zero field.
    """
    meta = getattr(H, "metadata", None) or {}
    if "beta_c" in meta:
        return float(meta["beta_c"])
    if meta.get("h", 0.0) != 0.0:
        return None
    if meta.get("model") in ("curie_weiss", "sherrington_kirkpatrick") and meta.get("J", 0.0) > 0:
        return 1.0 / float(meta["J"])
    return None


def resume_command(out: str) -> str:
    return f"netket-arnn {NAME} --resume {shlex.quote(out)}"


# -- the run ----------------------------------------------------------------------------------------


def run(args) -> int:
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning  # restored on exit by catch_warnings
        return _run(args)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _run(args) -> int:
    if getattr(args, "patience", None):
        raise ValueError(
            "--patience is gone: a β now ends when the protocol's convergence test says f[q] has stopped "
            "decreasing (--protocol adaptive, the default; --window sets its window, --window 0 turns it off)"
        )
    fresh = args.resume is None
    if fresh:
        args.out = claim_folder(args.out, DEFAULT_OUT, OWNED, overwrite=args.overwrite, command=NAME)
        args.models = list(args.models or default_models(args.system))
        args.plugin = [os.path.abspath(p) if p.endswith(".py") else p for p in args.plugin]
    else:
        args = _resumed_args(args)
    out, names = args.out, args.models
    json_path = os.path.join(out, RESULTS)
    previous = _read(json_path) if not fresh else None
    say = speaker(args.quiet)
    protocol = protocol_of(args)
    payload = {
        "status": {name: "pending" for name in names},
        "settings": {k: v for k, v in vars(args).items() if k not in _RESUME_FREE},
        "plugins": list(args.plugin),
        "precision": precision(args),
        "seeds": {name: model_seeds(name, args.init_seed) for name in names},
        "optimizer": _optimizer_settings(args, protocol, names),
        "protocol": protocol.settings(),
        "preconditioner": preconditioner_settings(args, protocol),
        "provenance": provenance(**precision(args)),
        "summary": {},
        "runs": {},
    }
    if previous is not None:  # what the interrupted run finished stays in the file whatever happens next
        payload["provenance"]["resumed_from"] = previous.get("provenance")
        payload["status"].update({k: v for k, v in previous.get("status", {}).items() if k in payload["status"]})
        for key in ("system", "betas", "summary", "runs"):
            if key in previous:
                payload[key] = previous[key]
    # The settings are on disk before anything is built or compiled: a Ctrl-C from here on
    # leaves a folder that --resume continues.
    created = not os.path.isdir(out)
    write_json(json_path, payload)
    current, result_so_far = None, None
    try:
        setup = _setup(args, payload, say)
    except KeyboardInterrupt:
        return _interrupted(out, json_path, None, None)
    except BaseException:
        if fresh:  # bad input: leave the folder as it was, so that the same --out can be used again
            _remove_own(out, created)
        raise
    H, label, betas, models = setup
    _write(json_path, payload)
    results, start = {}, time.perf_counter()
    from ..driver import DivergenceError

    try:
        for name in names:
            current = name
            if previous is not None and previous.get("status", {}).get(name) == "finished":
                from ..driver import AnnealResult

                results[name] = AnnealResult.from_dict(previous["runs"][name])
                payload["runs"][name], payload["status"][name] = previous["runs"][name], "finished"
                payload["summary"][name] = _summary(results[name])
                say(f"\n== {name}: finished before, kept")
                continue
            results[name] = _anneal_one(args, H, label, betas, name, models[name], payload, json_path, say)
            payload["status"][name] = "finished"
            payload["summary"][name] = _summary(results[name])
            _write(json_path, payload)
    except KeyboardInterrupt as interrupt:
        result_so_far = getattr(interrupt, "result", None)
        return _interrupted(out, json_path, current, result_so_far)
    except DivergenceError as error:
        print(f"netket-arnn anneal: error: {current}: {error}; results so far in {json_path}", file=sys.stderr)
        return 1

    try:
        total = time.perf_counter() - start
        say(f"\nsummary ({total:.1f} s; per spin):")
        for name, res in results.items():
            s = payload["summary"][name]
            if s["mean_relative_error"] is not None:
                say(f"  {name:>8}: mean rel. error {s['mean_relative_error']:.2e}, max {s['max_relative_error']:.2e}")
            else:
                say(
                    f"  {name:>8}: f at β={res[-1].beta:g}: {res[-1].free_energy:.8f} ± {res[-1].free_energy_error:.1e}"
                )
        payload["wall_time"] = total
        _write(json_path, payload)
        say(f"wrote {json_path}")
        if not args.no_plot:
            from ..plotting import plot_anneal

            png_path = os.path.join(out, "anneal.png")
            plot_anneal(
                results,
                png_path,
                title=f"{label}; param_dtype {args.param_dtype}, dtype {args.dtype}",
                beta_c=critical_beta(H),
                metadata={"system": label, **payload["provenance"]},
            )
            say(f"wrote {png_path}")
    except KeyboardInterrupt:  # every model finished: only the summary or the figure is missing
        return _interrupted(out, json_path, None, None)
    return 0


def _setup(args, payload, say):
    """The system, the β grid and every model, built (bad combinations fail here, before training)."""
    enable_float64_if_needed(args)
    H, label = build_system(args)
    betas = betas_of(args)
    from ..driver import StepwiseBeta

    protocol = protocol_of(args)
    StepwiseBeta(betas, protocol.max_steps, protocol.warmup_steps)  # a grid out of order fails here, not mid-run
    # Build every model first: an impossible combination fails before any training.
    models = {name: registry.build_net(name, H, betas[0], **jax_precision(args)) for name in args.models}
    payload["system"] = {
        "label": label,
        "hamiltonian": repr(H),
        "metadata": getattr(H, "metadata", {}),
        "n_sites": H.n_sites,
        "beta_c": critical_beta(H),
    }
    payload["betas"] = betas
    say(f"system: {label}   β: {betas[0]:g} … {betas[-1]:g} ({len(betas)} values)   output: {args.out}")
    from ..exact import MAX_ENUMERATION_SITES, reference_free_energy

    if reference_free_energy(H) is None:
        say(
            f"no exact free energy for this system (not Curie–Weiss, N > {MAX_ENUMERATION_SITES}, not a square "
            "lattice within the transfer-matrix limits): no relative errors"
        )
    return H, label, betas, models


def _interrupted(out, json_path, current, result) -> int:
    """One line on stderr saying where the results are and how to continue; exit code 130."""
    exit_now_on_second_interrupt()
    where = f"after β = {result.records[-1].beta:g}" if result is not None and result.records else "before any β"
    model = f" of {current}" if current is not None else ""
    print(
        f"interrupted {where}{model}; results so far in {json_path}; resume with: {resume_command(out)}",
        file=sys.stderr,
        flush=True,
    )
    return 130


def _remove_own(out, created) -> None:
    import shutil

    for name in OWNED:
        path = os.path.join(out, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    if created and os.path.isdir(out) and not os.listdir(out):
        os.rmdir(out)


def _anneal_one(args, H, label, betas, name, model, payload, json_path, say):
    import netket as nk

    from ..driver import Checkpointing, FinalEstimates, anneal, supports_local_balance
    from ..sampling import ARDirectSampler

    net = registry.get_net(name)
    seeds = payload["seeds"][name]
    chunk = args.chunk_size if args.chunk_size is not None else net.chunk_size(H.n_sites)
    payload["status"][name] = "running"
    _write(json_path, payload)
    vstate = nk.vqs.MCState(
        ARDirectSampler(H.hilbert),
        model,
        n_samples=args.n_samples,
        seed=seeds["init"],
        sampler_seed=seeds["sampler"],
        chunk_size=chunk,
    )
    trained = net.beta_stage == "train"
    protocol, asked = net_training(args, net)
    balance = asked if trained and supports_local_balance(model) else 0.0
    say(
        f"\n== {name}: {net.description}; {vstate.n_parameters} parameters"
        + (
            f"; protocol {protocol.name}: "
            + protocol.describe(n_parameters=vstate.n_parameters, n_samples=vstate.n_samples)
            if trained
            else ""
        )
        + (f"; local balance {balance:g}" if balance else "")
        + ("; no local balance (no future free energy)" if asked and trained and not balance else "")
    )
    checkpoint = os.path.join(args.out, "checkpoints", f"{name}.mpack")
    run_file = os.path.join(args.out, "runs", f"{name}.json")
    for folder in ("checkpoints", "runs"):
        os.makedirs(os.path.join(args.out, folder), exist_ok=True)
    resume = args.resume is not None and os.path.exists(checkpoint)

    def on_record(record):
        # anneal has just written this model's records to run_file: copy them into the whole.
        payload["runs"][name] = _read(run_file)
        _write(json_path, payload)

    result = anneal(
        H,
        vstate,
        betas,
        protocol=protocol,
        # a protocol with its own preconditioner builds it (--sr then sets its diagonal shift)
        preconditioner=(
            nk.optimizer.SR(diag_shift=args.sr) if args.sr is not None and protocol.preconditioner is None else None
        ),
        stage=net.beta_stage,
        estimates=FinalEstimates(
            n_samples=args.final_samples, overlaps=args.overlaps, unbiased_samples=args.unbiased_samples
        ),
        checkpointing=Checkpointing(checkpoint, every=args.checkpoint_every or None, resume=resume),
        on_record=on_record,
        # The table once, and progress bars only on a terminal (in a log file they are one endless line).
        show_progress=False if args.quiet else (True if sys.stderr.isatty() else "table"),
        metadata={
            "name": name,
            "label": net.label,
            "system": label,
            "optimizer_name": protocol.optimizer,
            "learning_rate": protocol.learning_rate,
            **precision(args),
            "seeds": seeds,
            "provenance": payload["provenance"],
        },
        on_nan=args.on_nan,
        local_balance=balance,
        results_file=run_file,
    )
    payload["runs"][name] = result.as_dict()
    return result


def _summary(result) -> dict:
    """Per model: relative errors over the grid and the last β's estimates (per spin unless named)."""
    rel = [r.relative_error for r in result if r.relative_error is not None]
    last = result[-1]
    return {
        "mean_relative_error": sum(rel) / len(rel) if rel else None,
        "max_relative_error": max(rel) if rel else None,
        "wall_time": sum(r.wall_time for r in result),
        "last": {
            "beta": last.beta,
            "free_energy": _finite(last.free_energy),
            "free_energy_error": _finite(last.free_energy_error),
            "log_z_total": _finite(last.log_z_total),
            "log_z_total_error": _finite(last.log_z_total_error),
            "ess": _finite(last.ess),
            "ess_fraction": _finite(last.ess_fraction),
            "n_samples": int(last.n_samples),
        },
    }


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# -- output folder and resuming ----------------------------------------------------------------------


def _write(path, payload) -> None:
    from ..driver.results import _jsonable

    write_json(path, _jsonable(payload))  # numpy values of metadata become plain numbers


def _read(path) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: --resume needs the folder of an earlier `anneal` run") from None


def _resumed_args(args) -> argparse.Namespace:
    """The settings stored in ``args.resume``, with the options that do not change the numbers."""
    stored = _read(os.path.join(args.resume, RESULTS))
    for module in stored.get("plugins", []):  # the nets of the run must be known before its parser lists them
        registry.load_plugin(module)
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    defaults = vars(parser.parse_args([NAME]))
    given = [k for k, v in vars(args).items() if k not in _RESUME_FREE and v != defaults.get(k)]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ValueError(f"--resume takes every setting from {args.resume}/{RESULTS}; do not pass {flags}")
    merged = {**defaults, **stored["settings"], "resume": args.resume, "out": args.resume}
    merged.update(quiet=args.quiet, no_plot=args.no_plot, plugin=stored.get("plugins", []), overwrite=False)
    return argparse.Namespace(**merged)
