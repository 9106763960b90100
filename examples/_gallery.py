"""Plumbing shared by the gallery scripts: run modes, the published data, output files, colours.

Nothing here trains a network; each script calls the package's API itself. This module only

- parses the three run modes every script has (``--smoke``, default quick, ``--full``) and the
  output folder;
- reads the paper's published numbers from ``examples/data/paper/`` (see the README there for
  their source and licence);
- writes results as they come (CSV rows appended and flushed, JSON replaced atomically), and
  reuses a finished run found in the output folder, so an interrupted script continues where it
  stopped;
- gives paired colours: a dark one for our curve of a net, the light one of the same hue for the
  paper's curve of that net.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from dataclasses import asdict, dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import netket_arnn as na  # noqa: E402
from netket_arnn.driver.results import write_json_atomic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PAPER_DIR = os.path.join(HERE, "data", "paper")
PAPER_CITATION = "paper: Biazzo, Commun. Phys. 6, 296 (2023), data of github.com/ocadni/h2arnn (MIT)"
MODES = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Protocol:
    """The annealing protocol of one mode (THEORY §6 for the paper's values).

    Attributes:
        betas: the β grid, increasing.
        steps_per_beta: training steps at every β; warmup_steps: extra steps at the first β.
        n_samples: samples per training step; n_final_samples: fresh samples for each β's estimates.
        lr: Adam learning rate.
    """

    betas: tuple
    steps_per_beta: int
    warmup_steps: int
    n_samples: int
    n_final_samples: int
    lr: float

    def optimizer(self):
        # inject_hyperparams keeps the learning rate in the optimizer state, so that the results
        # file records it as data.
        return optax.inject_hyperparams(optax.adam)(learning_rate=self.lr)

    def describe(self) -> dict:
        d = asdict(self)
        d["betas"] = [float(b) for b in self.betas]
        return d

    def anneal_options(self, **estimates) -> dict:
        """Keyword arguments of :func:`netket_arnn.anneal` for this protocol.

        ``estimates`` are extra fields of :class:`netket_arnn.driver.FinalEstimates` (e.g.
        ``overlaps=True``); its ``n_samples`` is the protocol's ``n_final_samples``.
        """
        return dict(
            optimizer=self.optimizer(),
            steps_per_beta=self.steps_per_beta,
            warmup_steps=self.warmup_steps,
            estimates=na.driver.FinalEstimates(n_samples=self.n_final_samples, **estimates),
        )


def grid(start: float, stop: float, step: float) -> tuple:
    return tuple(float(b) for b in na.beta_grid(start, stop, step))


# The paper's protocol: Adam 1e-3, batch 2000, β = 0.1 … 2.0 step 0.05, 5000 warm-up steps at
# β = 0.1, 1020 steps at every β, final estimates from 20,000 samples.
PAPER_PROTOCOL = Protocol(
    betas=grid(0.1, 2.0, 0.05), steps_per_beta=1020, warmup_steps=5000, n_samples=2000, n_final_samples=20000, lr=1e-3
)


def parse_args(doc: str, name: str, argv=None, configure=None) -> argparse.Namespace:
    """``--smoke`` / ``--full`` / default quick, and ``--out`` (default ``results/<name>/<mode>``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--smoke", action="store_true", help="tiny sizes, only checks the pipeline (a minute or two on 2 CPU cores)"
    )
    group.add_argument("--full", action="store_true", help="the paper's protocol (hours; meant for a GPU)")
    parser.add_argument("--out", default=None, help="output folder (default: results/<script>/<mode>)")
    if configure is not None:
        configure(parser)
    args = parser.parse_args(argv)
    args.mode = "smoke" if args.smoke else "full" if args.full else "quick"
    args.out = args.out or os.path.join("results", name, args.mode)
    os.makedirs(args.out, exist_ok=True)
    return args


# -- the published data ---------------------------------------------------------------------------


def read_paper(filename: str) -> list[dict]:
    """Rows of a published CSV file in ``examples/data/paper/`` (values as strings)."""
    with open(os.path.join(PAPER_DIR, filename), newline="") as f:
        return list(csv.DictReader(f))


# -- runs that survive an interruption --------------------------------------------------------


def run_files(out: str, tag: str) -> dict:
    """Paths of one run inside ``out``: its results JSON (written after every β) and checkpoint."""
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    return {
        "results_file": os.path.join(out, "runs", f"{tag}.json"),
        "checkpoint": os.path.join(out, "checkpoints", f"{tag}.mpack"),
    }


def finished_run(out: str, tag: str, n_betas: int, settings: dict) -> na.AnnealResult | None:
    """The result of run ``tag`` if an earlier call finished it (all ``n_betas`` records), else None.

    ``settings`` is the metadata the run is given (net, sizes, protocol, ...): a finished run made
    with other settings is not reused silently but refused, with a message naming what differs.
    """
    path = run_files(out, tag)["results_file"]
    if not os.path.exists(path):
        return None
    result = na.AnnealResult.from_json(path)
    expected = _plain(settings)
    differ = sorted(k for k, v in expected.items() if result.metadata.get(k) != v)
    if differ:
        raise SystemExit(
            f"{path} holds a run of {tag} made with other settings ({', '.join(differ)} differ): "
            "remove that folder or choose another --out"
        )
    if len(result) != n_betas:
        return None
    print(f"[{tag}] reusing the finished run in {path}", flush=True)
    return result


def resume_options(out: str, tag: str, checkpoint_every: int | None = None) -> dict:
    """``results_file`` and ``checkpointing`` (:class:`netket_arnn.driver.Checkpointing`) for
    :func:`netket_arnn.anneal`.

    A run interrupted earlier left its checkpoint: the run continues from it.
    """
    files = run_files(out, tag)
    resume = os.path.exists(files["checkpoint"])
    if resume:
        print(f"[{tag}] continuing the interrupted run from {files['checkpoint']}", flush=True)
    return {
        "results_file": files["results_file"],
        "checkpointing": na.driver.Checkpointing(files["checkpoint"], every=checkpoint_every, resume=resume),
    }


# -- nets of the registry ---------------------------------------------------------------------------


def made_net(depth: int, width: int) -> na.Net:
    """The registry's MADE of this depth and width, registered here first if the package has none.

    The package registers the paper's four MADE baselines (``made_21`` ... ``made_32``); an example
    that needs another width (a MADE of the parameter count of another net) adds it to the
    registry, as any user's net is added.
    """
    name = f"made_{depth}{width}"
    if name not in na.net_names():

        def build(H, beta, *, param_dtype, dtype, **options):
            return na.models.made(H.hilbert, depth, width, param_dtype=param_dtype, dtype=dtype, **options)

        label = f"MADE_{depth}{width}"
        na.register_net(na.Net(name, label, f"{label}: depth {depth}, width {width}N", build))
    return na.get_net(name)


def paper_label(net: na.Net) -> str:
    """The net's label as the published data files spell it (they write CW_inf for CW_∞)."""
    return net.label.replace("∞", "inf")


class RowWriter:
    """A CSV file written one row at a time, flushed after each row (an interruption keeps them)."""

    def __init__(self, path: str, columns: list[str]):
        self.path, self.columns = path, list(columns)
        with open(path, "w", newline="") as f:
            csv.writer(f).writerow(self.columns)

    def write(self, **row):
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)}; known: {self.columns}")
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([_cell(row.get(c)) for c in self.columns])


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "" if not np.isfinite(value) else f"{float(value):.10g}"
    return value


def write_json(path: str, data: dict) -> None:
    """Strict JSON, replaced atomically (a reader never sees half a file)."""
    write_json_atomic(path, _plain(data))


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class Clock:
    """Wall time since the script started, for the progress lines and the JSON."""

    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start

    def say(self, message: str) -> None:
        print(f"[{self():7.1f} s] {message}", flush=True)


# -- figures --------------------------------------------------------------------------------------


def paired_colours(names) -> dict[str, tuple]:
    """``name -> (ours, paper)``: the dark and light colour of one hue of matplotlib's tab20."""
    cmap = plt.get_cmap("tab20")
    return {name: (cmap(2 * i % 20), cmap((2 * i + 1) % 20)) for i, name in enumerate(names)}


def mode_title(mode: str) -> str:
    """The start of every figure's title: a smoke-mode figure says so, loudly (it shows no physics)."""
    return "SMOKE TEST (pipeline check only, not converged): " if mode == "smoke" else ""


def describe_mode(mode: str, protocol: Protocol, lr: str | None = None) -> str:
    """Two lines for a figure's title: the mode's protocol, and which curves are whose."""
    b = protocol.betas
    step = f"step {b[1] - b[0]:.2g}" if len(b) > 1 else "one β"
    return (
        f"{mode} mode: β = {b[0]:g} … {b[-1]:g} {step}, Adam {lr or f'{protocol.lr:g}'}, batch {protocol.n_samples}, "
        f"{protocol.warmup_steps} warm-up + {protocol.steps_per_beta} steps/β, {protocol.n_final_samples} final samples"
        f"\ndark, solid: ours; light, dashed: {PAPER_CITATION}"
    )


def save_figure(fig, path: str, mode: str) -> str:
    """Write ``fig`` as PNG; a smoke-mode figure's title starts with :func:`mode_title`."""
    title = fig._suptitle  # matplotlib keeps the suptitle's Text here
    if mode == "smoke":
        if title is None:
            fig.suptitle(mode_title(mode).rstrip(": "), color="firebrick")
        else:
            title.set_text(mode_title(mode) + title.get_text())
            title.set_color("firebrick")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}", flush=True)
    return path
