r"""2D lattices at equal training samples: Frontier, sparse SK_1RSB, NetKet's ARNNs and TwoBo side by side.

What it shows. Every net is trained on the same instances with the same number of training
samples (the same batch, the same number of steps, the same β grid, the same learning-rate
schedule) and estimated from the same number of fresh samples after each β:

- ``frontier`` (:class:`~netket_arnn.models.FrontierARNN`, the package's net for lattices) and
  ``sk_1rsb_sparse`` (:class:`~netket_arnn.models.SpinGlassARNN` with units on the frontier pairs
  only), from the registry;
- NetKet's own autoregressive nets: ``nk.models.ARNNConv2D`` (the PixelCNN family: masked 2D
  convolutions over the L × L image of the spins, registered here as ``arnn_conv2d``) and
  ``nk.models.ARNNDense`` as the registry's ``made_21`` (MADE of depth 2, width N);
- with ``--twobo PATH`` (a checkout of ``cqsl/sparse-twobody-arnn``), TwoBo's network
  (``TwoBoOnlySkip``, Biazzo, Bedeschi, Giuliani, Pelissetto, Panizon, ECML/MLST 2024),
  trained by TwoBo's own code (its ``main.update`` step) in a separate process through
  ``benchmarks/external/twobo.py --task train`` (nothing of TwoBo is copied here). Its
  :math:`f[q]` is TwoBo's estimator, the mean of :math:`\log q + \beta E` over fresh samples
  per spin, and its ESS/M comes from its own :math:`\log q`. Without ``--twobo`` it is
  skipped, with a line saying so.

The instances:

- ``ea``: a 2D Edwards–Anderson ±J spin glass on the periodic L × L lattice. With ``--twobo``,
  TwoBo's own instance ``instances/2D_EA_PM/2D_EA_PM_L{L}_0.npz`` read from the checkout at run
  time; without it, an instance of the same kind made by the package,
  ``na.edwards_anderson(nk.graph.Grid([L, L], pbc=True), "pm1", seed=0)``. A periodic lattice of
  width 16 is beyond the transfer matrix (:data:`netket_arnn.exact.MAX_TRACE_WIDTH`), so the
  reference at each β is the importance-weighted :math:`-\log\hat Z/(\beta N)` of the run with
  the largest ESS/M, where that ESS/M is at least :data:`MIN_REFERENCE_ESS` (none otherwise);
  :math:`f[q]` itself is an upper bound of f for every net, so that a lower :math:`f[q]` is a
  better q whatever the reference.
- ``ferro``: the periodic L × L ferromagnet (``na.ferromagnet_2d(L)``) annealed up to
  :math:`\beta_c = \log(1 + \sqrt 2)/2 \approx 0.4407`, with the exact f of Kaufman's closed form
  (:func:`netket_arnn.exact.thermodynamics`, which :func:`netket_arnn.anneal` calls by itself).

A second panel follows the recommended net (and sparse SK_1RSB beside it) at :math:`\beta_c` of
the ferromagnet as L grows: the ESS/M of the weights :math:`p/q` at L = 8, 16, 32, same
protocol at every L.

Training (every net, every instance): :func:`netket_arnn.anneal` over the β grid, Adam at a
learning rate held constant and then decayed by a cosine to 1/20 of it over the last 40% of
the steps at each β (so that every estimate follows a decayed stretch), the optimizer state
carried across β. The physics nets (Frontier, SK_1RSB) start each new β with their skip weight,
bias and linear weights scaled by the ratio of the β values (their exact values are
proportional to β; TwoBo does the same with its "β skip"). Seconds per step are measured on the
βs after the first (no compilation), estimates included, on whatever machine runs the script.

Figure (``lattices.png``): (a) relative error of :math:`f[q]` against Kaufman's f along the
ferromagnet's anneal; (b) along the spin glass's anneal, :math:`f[q]` minus the lowest
:math:`f[q]` of all nets at that β (the tightest of their upper bounds; the CSV also holds the
distance to the reference above, where there is one); (c) ESS/M at the last β of each
instance, per net; (d) ESS/M at :math:`\beta_c` against L.
``lattices.csv`` holds one row per instance, net and β; ``lattices.json`` the summary table
(parameters, seconds per step, training samples) that the script also prints.

Modes (runs are saved after each β under ``runs/`` and reused when the script is run again):

- ``--smoke``: L = 4 (the ESS panel too), two βs, two steps: only checks the pipeline.
- default (quick, about 10–20 minutes on 2 CPU cores): L = 16 for both instances, batch 256,
  50 warm-up steps and 30 steps per β over 4 βs (170 steps, 43,520 training samples per net),
  Adam 3e-3, 2048 final samples; EA β = 0.25 … 1;
  ferromagnet β = 0.1 … β_c; ESS panel L = 8, 16, 32 with the same protocol. ARNNConv2D is
  kept small here (2 layers, features (4, 2), kernel (2, 3)): NetKet samples it with a full
  convolution pass per site, the slowest net by far.
- ``--lr LR``: another learning rate for every net, in any mode (with its own ``--out``: a
  finished run made with other settings is refused, not reused).
- ``--full``: TwoBo's paper protocol (batch 1024, Adam 1e-3, 500 warm-up steps, 200 steps per
  β, EA β = 0.05 … 3 in 60 steps, ferromagnet β = 0.05 … β_c in 10 steps, 20,000 final
  samples) at L = 16 and 32, ARNNConv2D of 3 layers of 16 features, kernel (3, 5), ESS panel
  L = 8 … 64: meant for a GPU.

    python examples/lattices.py [--smoke | --full] [--twobo PATH] [--lr LR] [--out results/lattices/quick]
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, replace

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib.pyplot as plt  # noqa: E402
import netket as nk  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from netket.utils import struct  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _gallery as gallery  # noqa: E402

import netket_arnn as na  # noqa: E402

NAME = "lattices"
SEED = 0  # the EA instance: TwoBo's 2D_EA_PM_L{L}_0, or the package's seed 0
BETA_C = math.log(1.0 + math.sqrt(2.0)) / 2.0
#: Smallest ESS/M for a run's importance-weighted free energy to serve as the EA reference.
MIN_REFERENCE_ESS = 0.1
#: The fraction of the steps at each β over which the learning rate decays (cosine, to lr / 20).
DECAY_FRACTION = 0.4
TWOBO = "twobo"
TWOBO_ADAPTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks", "external", "twobo.py")


@dataclass(frozen=True)
class Protocol:
    """One mode's training, shared by every net: batch, steps, learning rate, final samples."""

    steps_per_beta: int
    warmup_steps: int
    n_samples: int
    n_final_samples: int
    lr: float

    def learning_rates(self, n_betas: int) -> np.ndarray:
        """The learning rate of every step: held at ``lr``, then a cosine decay to ``lr / 20`` over the
        last :data:`DECAY_FRACTION` of the steps at each β."""
        rates = []
        for k in range(n_betas):
            steps = self.steps_per_beta + (self.warmup_steps if k == 0 else 0)
            decay = max(1, int(DECAY_FRACTION * steps))
            held = np.full(steps - decay, self.lr)
            cosine = optax.cosine_decay_schedule(self.lr, decay, alpha=0.05)
            rates += [held, np.array([float(cosine(t)) for t in range(decay)])]
        return np.concatenate(rates)

    def optimizer(self, n_betas: int):
        rates = jax.numpy.asarray(self.learning_rates(n_betas))
        last = len(rates) - 1
        # inject_hyperparams keeps the current rate in the optimizer state: the results record it.
        return optax.inject_hyperparams(optax.adam)(learning_rate=lambda count: rates[jax.numpy.minimum(count, last)])

    def total_steps(self, n_betas: int) -> int:
        return self.warmup_steps + self.steps_per_beta * n_betas

    def describe(self, betas) -> dict:
        return dict(
            betas=[float(b) for b in betas],
            steps_per_beta=self.steps_per_beta,
            warmup_steps=self.warmup_steps,
            n_samples=self.n_samples,
            n_final_samples=self.n_final_samples,
            lr=self.lr,
            schedule=f"Adam, lr held then cosine-decayed to lr/20 over the last {DECAY_FRACTION:g} of each β's steps",
        )


def ferro_betas(n: int, start: float) -> tuple:
    return tuple(float(b) for b in np.linspace(start, BETA_C, n))


MODES = {
    "smoke": dict(
        cases=(("ea", 4), ("ferro", 4)),
        ess_sizes=(4,),
        betas={"ea": (0.5, 1.0), "ferro": ferro_betas(2, 0.2)},
        conv=dict(layers=2, features=(2, 2), kernel_size=(2, 3)),
        protocol=Protocol(steps_per_beta=2, warmup_steps=2, n_samples=64, n_final_samples=128, lr=3e-3),
    ),
    "quick": dict(
        cases=(("ea", 16), ("ferro", 16)),
        ess_sizes=(8, 16, 32),
        betas={"ea": (0.25, 0.5, 0.75, 1.0), "ferro": ferro_betas(4, 0.1)},
        conv=dict(layers=2, features=(4, 2), kernel_size=(2, 3)),
        protocol=Protocol(steps_per_beta=30, warmup_steps=50, n_samples=256, n_final_samples=2048, lr=3e-3),
    ),
    "full": dict(
        cases=(("ea", 16), ("ferro", 16), ("ea", 32), ("ferro", 32)),
        ess_sizes=(8, 16, 32, 64),
        betas={"ea": tuple(float(b) for b in np.linspace(0.05, 3.0, 60)), "ferro": ferro_betas(10, 0.05)},
        conv=dict(layers=3, features=(16, 16, 2), kernel_size=(3, 5)),
        protocol=Protocol(steps_per_beta=200, warmup_steps=500, n_samples=1024, n_final_samples=20000, lr=1e-3),
    ),
}
#: The nets side by side (registry names); TwoBo joins them with ``--twobo``.
NETS = ("frontier", "sk_1rsb_sparse", "arnn_conv2d", "made_21")
#: The nets of the ESS-against-L panel.
ESS_NETS = ("frontier", "sk_1rsb_sparse")
LABELS = {TWOBO: "TwoBo (its code)"}


def register_conv(conv: dict) -> None:
    """NetKet's ``ARNNConv2D`` as the registry net ``arnn_conv2d`` (float64, NetKet's defaults otherwise)."""

    def build(H, beta, *, param_dtype, dtype, **options):
        return nk.models.ARNNConv2D(hilbert=H.hilbert, param_dtype=param_dtype, **conv, **options)

    description = f"NetKet's ARNNConv2D: {conv['layers']} masked conv layers {conv['features']}"
    description += f", kernel {conv['kernel_size']}"
    na.register_net(na.Net("arnn_conv2d", "ARNNConv2D", description, build, reads_couplings=False), overwrite=True)


def label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    return "ARNNDense (MADE_21)" if name == "made_21" else na.get_net(name).label


# -- the instances ---------------------------------------------------------------------------------


def twobo_instance_path(twobo: str, L: int) -> str:
    path = os.path.join(twobo, "instances", "2D_EA_PM", f"2D_EA_PM_L{L}_{SEED}.npz")
    if not os.path.isfile(path):
        raise SystemExit(f"--twobo {twobo}: no instance {path} (is it a checkout of cqsl/sparse-twobody-arnn?)")
    return path


def read_twobo_instance(path: str) -> na.PairwiseIsing:
    r"""TwoBo's instance file (a SciPy sparse matrix of the couplings, upper triangle) as a PairwiseIsing.

    TwoBo's energy is :math:`-\sum_{i<j} J_{ij} x_i x_j` with :math:`J` = ``triu(J + J.T, 1)`` of
    the file, the package's convention; the sites keep TwoBo's order (raster order of the lattice).
    """
    from scipy.sparse import load_npz

    J = load_npz(path).tocoo()
    n = J.shape[0]
    a, b = np.minimum(J.row, J.col), np.maximum(J.row, J.col)
    keep = a != b
    edges = np.stack([a[keep], b[keep]], axis=1).astype(np.int64)
    return na.PairwiseIsing(
        nk.hilbert.Spin(0.5, n),
        np.asarray(J.data[keep], dtype=np.float64),
        edges=edges,
        metadata={"model": "edwards_anderson", "source": f"TwoBo instance {os.path.basename(path)}", "N": int(n)},
    )


def instance(kind: str, L: int, twobo: str | None) -> tuple[na.PairwiseIsing, str]:
    """The Hamiltonian of a case and a line saying what it is."""
    if kind == "ferro":
        return na.ferromagnet_2d(L), f"periodic {L}x{L} ferromagnet, na.ferromagnet_2d({L})"
    if twobo is not None:
        path = twobo_instance_path(twobo, L)
        return read_twobo_instance(path), f"TwoBo's 2D EA ±J instance {os.path.basename(path)} (periodic {L}x{L})"
    H = na.edwards_anderson(nk.graph.Grid([L, L], pbc=True), "pm1", seed=SEED)
    return H, f"2D EA ±J on the periodic {L}x{L} lattice, na.edwards_anderson(..., 'pm1', seed={SEED})"


def check_square(H: na.PairwiseIsing, L: int) -> None:
    """The sites must be an L x L lattice in raster order (ARNNConv2D reads them as an image)."""
    lattice = na.exact.find_square_lattice(H)
    if lattice is None or (lattice.L, lattice.W) != (L, L):
        raise SystemExit(f"the instance is not an {L} x {L} square lattice in raster order: {lattice}")


# -- training ------------------------------------------------------------------------------------


class RescaleWithBeta(nk.callbacks.AbstractCallback, mutable=True):
    """At the start of the steps at a new β, scale the skip weight, bias and linear weights by β_new/β_old.

    Their exact values are proportional to β (THEORY §2); nets without these parameters are left alone.
    """

    beta: float = struct.field(pytree_node=False, serialize=False)

    def __init__(self, beta: float):
        self.beta = float(beta)

    def on_run_start(self, step, driver):
        if driver.beta == self.beta:
            return
        ratio = float(driver.beta) / self.beta
        params = dict(driver.state.parameters)
        scaled = {k: v * ratio for k, v in params.items() if k in ("skip", "bias", "linear")}
        if scaled:
            driver.state.parameters = {**params, **scaled}
        self.beta = float(driver.beta)


def anneal_ours(H, kind: str, L: int, name: str, betas, mode: dict, args) -> na.AnnealResult:
    protocol = mode["protocol"]
    net = na.get_net(name)
    tag = f"{kind}{L}_{name}"
    settings = {"net": name, "case": kind, "L": L, "N": L * L, "protocol": protocol.describe(betas)}
    if name == "arnn_conv2d":
        settings["conv"] = {k: list(v) if isinstance(v, tuple) else v for k, v in mode["conv"].items()}
    done = gallery.finished_run(args.out, tag, len(betas), settings)
    if done is not None:
        return done
    files = gallery.run_files(args.out, tag)
    # A run interrupted earlier continues from its last finished β (its checkpoint is saved after
    # every β, before the next β's rescaling, which the callback then applies).
    resume = os.path.exists(files["checkpoint"])
    start = (
        len(na.AnnealResult.from_json(files["results_file"])) if resume and os.path.exists(files["results_file"]) else 0
    )
    vstate = nk.vqs.MCState(
        nk.sampler.ARDirectSampler(H.hilbert),
        net(H, betas[0]),
        n_samples=protocol.n_samples,
        chunk_size=net.chunk_size(L * L),
        seed=SEED,
        sampler_seed=SEED + 1,
    )
    if resume:
        print(f"[{tag}] continuing the interrupted run from {files['checkpoint']}", flush=True)
    return na.anneal(
        H,
        vstate,
        betas,
        optimizer=protocol.optimizer(len(betas)),
        steps_per_beta=protocol.steps_per_beta,
        warmup_steps=protocol.warmup_steps,
        estimates=na.driver.FinalEstimates(n_samples=protocol.n_final_samples),
        callback=RescaleWithBeta(betas[max(start - 1, 0)]),
        exact="auto",  # Kaufman for the ferromagnet, enumeration up to N = 30; none for a wide torus
        metadata=settings,
        show_progress="table",
        results_file=files["results_file"],
        checkpointing=na.driver.Checkpointing(files["checkpoint"], resume=resume),
    )


def write_twobo_instance(H: na.PairwiseIsing, path: str) -> str:
    """``H`` as the adapter's instance file: ``N``, ``edges`` and ``weights``."""
    np.savez(path, N=H.n_sites, edges=np.asarray(H.edges), weights=np.asarray(H.edge_weights))
    return path


def anneal_twobo(H, kind: str, L: int, betas, mode: dict, args) -> dict:
    """TwoBo trained by its own code (adapter in its own process); its records, read back as dicts."""
    protocol = mode["protocol"]
    out = gallery.run_files(args.out, f"{kind}{L}_{TWOBO}")["results_file"]
    spec = dict(
        batch=protocol.n_samples,
        seed=SEED,
        betas=[float(b) for b in betas],
        warmup=protocol.warmup_steps,
        steps_per_beta=protocol.steps_per_beta,
        n_final_samples=protocol.n_final_samples,
        learning_rates=[float(r) for r in protocol.learning_rates(len(betas))],
    )
    if kind == "ea":
        spec["twobo_instance"] = os.path.abspath(twobo_instance_path(args.twobo, L))
    else:
        os.makedirs(os.path.join(args.out, "instances"), exist_ok=True)
        path = os.path.join(args.out, "instances", f"{kind}{L}.npz")
        spec["instance"] = os.path.abspath(write_twobo_instance(H, path))
    if os.path.exists(out):
        with open(out) as f:
            previous = json.load(f)
        # the adapter records the spec without the learning rates (they follow from the protocol)
        same = previous.get("settings") == {k: v for k, v in spec.items() if k != "learning_rates"}
        if previous.get("finished") and same:
            print(f"[{kind}{L}_{TWOBO}] reusing the finished run in {out}", flush=True)
            return previous
    spec_path = out.replace(".json", ".spec.json")
    gallery.write_json(spec_path, spec)
    command = [sys.executable, TWOBO_ADAPTER, "--code", args.twobo, "--spec", spec_path, "--out", out]
    proc = subprocess.run([*command, "--task", "train"], text=True)
    if proc.returncode != 0:
        raise SystemExit(f"TwoBo's training failed (exit status {proc.returncode}): {' '.join(command)}")
    with open(out) as f:
        return json.load(f)


# -- rows of the results -------------------------------------------------------------------------


def rows_of(name: str, run) -> list[dict]:
    """One dict per β with the same keys for our runs and TwoBo's."""
    if name == TWOBO:
        return [
            dict(
                beta=r["beta"],
                f=r["free_energy"],
                f_error=r["free_energy_error"],
                ess=r["ess_fraction"],
                log_z=r["log_z"],
                log_z_error=r["log_z_error"],
                steps=r["steps"],
                wall=r["wall_time"],
            )
            for r in run["records"]
        ]
    return [
        dict(
            beta=r.beta,
            f=r.free_energy,
            f_error=r.free_energy_error,
            ess=r.ess_fraction,
            log_z=r.log_z_total,
            log_z_error=r.log_z_total_error,
            steps=r.steps,
            wall=r.wall_time,
        )
        for r in run
    ]


def n_parameters(name: str, run) -> int:
    return int(run["n_parameters"]) if name == TWOBO else int(run.metadata["n_parameters"])


def seconds_per_step(rows: list[dict]) -> float:
    """Wall time per step over the βs after the first (the first holds the compilation)."""
    later = rows[1:]
    steps = sum(r["steps"] for r in later)
    return float(sum(r["wall"] for r in later) / steps) if steps else float("nan")


def reference(H, runs: dict, betas) -> tuple[np.ndarray, list[str]]:
    """The reference f per β: exact where :func:`netket_arnn.exact.reference_free_energy` has it,
    else the importance-weighted estimate of the run with the largest ESS/M (at least
    :data:`MIN_REFERENCE_ESS`), else nan."""
    exact = na.exact.reference_free_energy(H)
    if exact is not None:
        return np.array([exact(b) for b in betas]), ["exact"] * len(betas)
    f, kind = [], []
    for k, beta in enumerate(betas):
        best_name, best = max(((n, rows[k]) for n, rows in runs.items()), key=lambda item: item[1]["ess"])
        if best["ess"] >= MIN_REFERENCE_ESS and np.isfinite(best["log_z"]):
            f.append(-best["log_z"] / (beta * H.n_sites))
            kind.append(f"importance-weighted log Z of {label(best_name)}")
        else:
            f.append(np.nan), kind.append("none (every ESS/M below the threshold)")
    return np.array(f), kind


# -- the script ----------------------------------------------------------------------------------


def configure(parser):
    parser.add_argument("--twobo", default=None, metavar="PATH", help="checkout of cqsl/sparse-twobody-arnn")
    parser.add_argument(
        "--lr", type=float, default=None, help="Adam's learning rate for every net (default: the mode's)"
    )


def main(argv=None):
    args = gallery.parse_args(__doc__, NAME, argv, configure=configure)
    mode = MODES[args.mode]
    if args.lr is not None:
        if not args.lr > 0:
            raise SystemExit(f"--lr must be positive, got {args.lr}")
        mode = {**mode, "protocol": replace(mode["protocol"], lr=args.lr)}
    protocol = mode["protocol"]
    register_conv(mode["conv"])
    clock = gallery.Clock()
    if args.twobo is None:
        clock.say("TwoBo skipped: no --twobo PATH given (a checkout of cqsl/sparse-twobody-arnn)")
    writer = gallery.RowWriter(
        os.path.join(args.out, f"{NAME}.csv"),
        ["case", "L", "N", "net", "n_parameters", "beta", "f", "f_error", "f_reference", "reference"]
        + ["relative_error", "gap_to_best", "ess_fraction", "steps", "wall_time", "seconds_per_step"],
    )
    table, curves, descriptions = [], {}, {}
    names = NETS + ((TWOBO,) if args.twobo else ())
    for kind, L in mode["cases"]:
        H, what = instance(kind, L, args.twobo)
        check_square(H, L)
        descriptions[f"{kind}{L}"] = what
        betas = mode["betas"][kind]
        runs = {}
        for name in names:
            clock.say(f"{label(name)} on {what} (N = {L * L}, {args.mode} mode)")
            if name == TWOBO:
                runs[name] = anneal_twobo(H, kind, L, betas, mode, args)
            else:
                runs[name] = anneal_ours(H, kind, L, name, betas, mode, args)
        rows = {name: rows_of(name, run) for name, run in runs.items()}
        f_ref, ref_kind = reference(H, rows, betas)
        # the lowest f[q] of all nets at each β: the tightest of their upper bounds of f
        f_best = np.min([[r["f"] for r in rs] for rs in rows.values()], axis=0)
        curves[(kind, L)] = (rows, f_ref, f_best)
        for name, run in runs.items():
            per_step = seconds_per_step(rows[name])
            for r, ref, what_ref, best in zip(rows[name], f_ref, ref_kind, f_best):
                writer.write(
                    case=kind,
                    L=L,
                    N=L * L,
                    net=label(name),
                    n_parameters=n_parameters(name, run),
                    beta=r["beta"],
                    f=r["f"],
                    f_error=r["f_error"],
                    f_reference=ref,
                    reference=what_ref,
                    relative_error=abs(r["f"] - ref) / abs(ref),
                    gap_to_best=r["f"] - best,
                    ess_fraction=r["ess"],
                    steps=r["steps"],
                    wall_time=r["wall"],
                    seconds_per_step=per_step,
                )
            last = rows[name][-1]
            table.append(
                dict(
                    case=kind,
                    L=L,
                    N=L * L,
                    net=label(name),
                    name=name,
                    beta=last["beta"],
                    f=last["f"],
                    f_error=last["f_error"],
                    f_reference=f_ref[-1],
                    reference=ref_kind[-1],
                    gap=last["f"] - f_ref[-1],
                    relative_error=abs(last["f"] - f_ref[-1]) / abs(f_ref[-1]),
                    gap_to_best=last["f"] - f_best[-1],
                    ess_fraction=last["ess"],
                    n_parameters=n_parameters(name, run),
                    seconds_per_step=seconds_per_step(rows[name]),
                    training_samples=protocol.n_samples * protocol.total_steps(len(betas)),
                    final_samples=protocol.n_final_samples,
                )
            )
        save_summary(args, mode, clock, table, {}, descriptions)

    # ESS/M at β_c against L (the ferromagnet, same protocol; runs of the same size are shared)
    ess_rows = {}
    betas = mode["betas"]["ferro"]
    for L in mode["ess_sizes"]:
        H = na.ferromagnet_2d(L)
        for name in ESS_NETS:
            clock.say(f"ESS against L: {label(name)} on the {L}x{L} ferromagnet at β_c")
            r = anneal_ours(H, "ferro", L, name, betas, mode, args)[-1]
            row = dict(L=L, N=L * L, ess_fraction=r.ess_fraction, relative_error=r.relative_error, f=r.free_energy)
            ess_rows.setdefault(name, []).append(row)
    save_summary(args, mode, clock, table, ess_rows, descriptions)
    print_table(table, ess_rows)
    plot(curves, table, ess_rows, mode, args, os.path.join(args.out, f"{NAME}.png"))
    clock.say(f"done ({args.mode} mode)")


def save_summary(args, mode, clock, table, ess_rows, descriptions):
    gallery.write_json(
        os.path.join(args.out, f"{NAME}.json"),
        {
            "mode": args.mode,
            "protocol": {kind: mode["protocol"].describe(b) for kind, b in mode["betas"].items()},
            "conv": {k: list(v) if isinstance(v, tuple) else v for k, v in mode["conv"].items()},
            "instances": descriptions,
            "twobo": args.twobo is not None,
            "seconds": clock(),
            "cpus": os.cpu_count(),
            # the CPUs may be shared: seconds per step are only comparable within one run
            "load_average": os.getloadavg(),
            "backend": jax.default_backend(),
            "table": table,
            "ess_against_L": {label(name): rows for name, rows in ess_rows.items()},
            "min_reference_ess": MIN_REFERENCE_ESS,
        },
    )


def print_table(table, ess_rows):
    head = "| instance | net | params | f[q] (last β) | ± | f[q] − f_ref | rel. error | f[q] − min f[q] | ESS/M |"
    print(f"\n{head} s/step |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        print(
            f"| {r['case']} {r['L']}x{r['L']}, β = {r['beta']:.4g} | {r['net']} | {r['n_parameters']} | {r['f']:.6f} "
            f"| {r['f_error']:.1e} | {r['gap']:.2e} | {r['relative_error']:.2e} | {r['gap_to_best']:.2e} "
            f"| {r['ess_fraction']:.3f} "
            f"| {r['seconds_per_step']:.3f} |"
        )
    print("\n| L | " + " | ".join(f"{label(n)} ESS/M (rel. error)" for n in ess_rows) + " |")
    print("|---|" + "---:|" * len(ess_rows))
    for k, row in enumerate(next(iter(ess_rows.values()), [])):
        cells = [f"{rows[k]['ess_fraction']:.3f} ({rows[k]['relative_error']:.1e})" for rows in ess_rows.values()]
        print(f"| {row['L']} | " + " | ".join(cells) + " |")


def plot(curves, table, ess_rows, mode, args, path):
    names = list(dict.fromkeys(r["name"] for r in table))
    colours = {name: plt.get_cmap("tab10")(i) for i, name in enumerate(names)}
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.6), constrained_layout=True)
    ax_ferro, ax_ea, ax_ess, ax_L = axes
    styles = {16: "o-", 32: "s--", 4: "o-"}
    for (kind, L), (rows, f_ref, f_best) in curves.items():
        ax = ax_ferro if kind == "ferro" else ax_ea
        for name, rs in rows.items():
            b = np.array([r["beta"] for r in rs])
            f = np.array([r["f"] for r in rs])
            err = np.array([r["f_error"] for r in rs])
            y = np.abs(f - f_ref) / np.abs(f_ref) if kind == "ferro" else f - f_best
            ax.errorbar(
                b,
                y,
                yerr=err / np.abs(f_ref) if kind == "ferro" else err,
                fmt=styles.get(L, "^:"),
                ms=3,
                capsize=2,
                color=colours[name],
                label=f"{label(name)}, L = {L}",
            )
    ax_ferro.set_yscale("log")
    ax_ferro.set_xlabel(r"$\beta$ (last: $\beta_c$)")
    ax_ferro.set_ylabel(r"$|f[q] - f| / |f|$ (f: Kaufman)")
    ax_ferro.set_title("(a) periodic ferromagnet, relative error", fontsize=10)
    ax_ferro.legend(fontsize=7)
    ax_ea.set_yscale("symlog", linthresh=1e-4)
    ax_ea.set_xlabel(r"$\beta$")
    ax_ea.set_ylabel(r"$f[q] - \min_{\rm nets} f[q]$")
    title = "(b) 2D EA ±J, periodic: distance to the lowest f[q]\n(the tightest upper bound of f among the nets)"
    ax_ea.set_title(title, fontsize=9)
    ax_ea.legend(fontsize=7)
    cases = list(dict.fromkeys((r["case"], r["L"]) for r in table))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        ess = {(r["case"], r["L"]): r["ess_fraction"] for r in table if r["name"] == name}
        values = [ess.get(c, np.nan) for c in cases]
        ax_ess.bar(np.arange(len(cases)) + i * width, values, width, color=colours[name], label=label(name))
    ax_ess.set_xticks(np.arange(len(cases)) + 0.4 - width / 2, [f"{k} {L}x{L}" for k, L in cases], fontsize=8)
    ax_ess.set_ylabel("ESS / M at the last β")
    ax_ess.set_ylim(0, 1.05)
    ax_ess.set_title("(c) effective sample size of p/q (1: q = p)", fontsize=10)
    ax_ess.legend(fontsize=7)
    for name, rows in ess_rows.items():
        sizes, ess = [r["L"] for r in rows], [r["ess_fraction"] for r in rows]
        ax_L.plot(sizes, ess, "o-", color=colours.get(name), label=label(name))
    ax_L.set_xscale("log", base=2)
    ax_L.set_xlabel("L (N = L²)")
    ax_L.set_ylabel(r"ESS / M at $\beta_c$")
    ax_L.set_ylim(0, 1.05)
    ax_L.set_title(r"(d) periodic ferromagnet at $\beta_c$: ESS against L", fontsize=10)
    ax_L.legend(fontsize=7)
    p = mode["protocol"]
    fig.suptitle(
        f"2D lattices at equal training samples ({args.mode} mode): batch {p.n_samples}, {p.warmup_steps} warm-up + "
        f"{p.steps_per_beta} steps/β, Adam {p.lr:g} with cosine decay at each β, {p.n_final_samples} final samples"
        + ("" if args.twobo else "; TwoBo not run (no --twobo)"),
        fontsize=9,
    )
    gallery.save_figure(fig, path, args.mode)


if __name__ == "__main__":
    main()
