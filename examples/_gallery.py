"""Plumbing shared by the gallery scripts: run modes, the published data, output files, colours.

Nothing here trains a network; each script calls the package's API itself. This module only

- parses the run modes every script has (``--smoke``, default quick, ``--full``; the figure
  scripts also ``--paper-size``) and the output folder;
- builds each mode's training protocol: a fixed number of steps per β for the short modes
  (:func:`fixed_steps`), the paper's protocol (:data:`PAPER_PROTOCOL`) and the package's default
  one at the paper's sizes (:func:`paper_size_protocol`);
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
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import netket_arnn as na  # noqa: E402
from netket_arnn.driver.results import write_json_atomic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PAPER_DIR = os.path.join(HERE, "data", "paper")
PAPER_CITATION = "paper: Biazzo, Commun. Phys. 6, 296 (2023), data of github.com/ocadni/h2arnn (MIT)"
MODES = ("smoke", "quick", "full", "paper_size")


@dataclass(frozen=True)
class Protocol:
    """The annealing protocol of one mode: the β grid, the batches and how each net is trained.

    Attributes:
        betas: the β grid, increasing.
        training: the training protocol at every β (:class:`netket_arnn.AnnealProtocol`: steps,
            learning rate, stopping rule), passed to :func:`netket_arnn.anneal` as ``protocol=``.
        n_samples: samples per training step; n_final_samples: fresh samples for each β's estimates.
    """

    betas: tuple
    training: na.AnnealProtocol
    n_samples: int
    n_final_samples: int

    def settings(self) -> dict:
        """The protocol as plain values (results files; a finished run is reused only if they match)."""
        return {
            "betas": [float(b) for b in self.betas],
            "training": self.training.settings(),
            "n_samples": self.n_samples,
            "n_final_samples": self.n_final_samples,
        }

    def anneal_options(self, **estimates) -> dict:
        """Keyword arguments of :func:`netket_arnn.anneal` for this protocol.

        ``estimates`` are extra fields of :class:`netket_arnn.driver.FinalEstimates` (e.g.
        ``overlaps=True``); its ``n_samples`` is the protocol's ``n_final_samples``.
        """
        return dict(
            protocol=self.training,
            estimates=na.driver.FinalEstimates(n_samples=self.n_final_samples, **estimates),
        )


def fixed_steps(steps_per_beta: int, warmup_steps: int, lr: float) -> na.AnnealProtocol:
    """The training of the short modes: Adam at ``lr``, ``warmup_steps`` extra steps at the first β and
    ``steps_per_beta`` steps at every β, with no convergence test and no settle phase."""
    return na.AnnealProtocol(name="fixed", learning_rate=lr, warmup_steps=warmup_steps, max_steps=steps_per_beta)


def grid(start: float, stop: float, step: float) -> tuple:
    return tuple(float(b) for b in na.beta_grid(start, stop, step))


#: The paper's β grid: 0.1 … 2.0 step 0.05.
PAPER_BETAS = grid(0.1, 2.0, 0.05)

# The paper's protocol: Adam 1e-3, batch 2000, β = 0.1 … 2.0 step 0.05, 5000 warm-up steps at
# β = 0.1, 1020 steps at every β (na.driver.PAPER), final estimates from 20,000 samples.
PAPER_PROTOCOL = Protocol(betas=PAPER_BETAS, training=na.driver.PAPER, n_samples=2000, n_final_samples=20000)


def paper_size_protocol(betas: tuple = PAPER_BETAS, training=None) -> Protocol:
    """The ``--paper-size`` mode: a training protocol of the package (default ``na.driver.TRACKING``) with
    the paper's batch of 2000 on ``betas`` (default the paper's grid), final estimates from 40,000 samples."""
    training = na.driver.TRACKING if training is None else training
    return Protocol(betas=tuple(betas), training=training, n_samples=2000, n_final_samples=40000)


#: The modes that run for hours: they save a checkpoint every CHECKPOINT_EVERY steps as well as after every β.
LONG_MODES = ("full", "paper_size")
CHECKPOINT_EVERY = 200


def checkpoint_every(mode: str) -> int | None:
    """Steps between checkpoints within a β in ``mode`` (None: after every β only)."""
    return CHECKPOINT_EVERY if mode in LONG_MODES else None


def parse_args(doc: str, name: str, argv=None, configure=None, paper_size: bool = False) -> argparse.Namespace:
    """``--smoke`` / ``--full`` / default quick (and ``--paper-size`` where ``paper_size``), and ``--out``
    (default ``results/<name>/<mode>``); ``args.mode`` is one of :data:`MODES`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--smoke", action="store_true", help="tiny sizes, only checks the pipeline (a minute or two on 2 CPU cores)"
    )
    group.add_argument("--full", action="store_true", help="the paper's protocol (hours; meant for a GPU)")
    if paper_size:
        group.add_argument(
            "--paper-size",
            action="store_true",
            help="the paper's sizes and instances, trained with a tenth of the paper's samples "
            "(na.driver.TRACKING, at N = 200 na.driver.SETTLED; Fig. 4: na.driver.NATURAL), batch 2000, "
            "β = 0.1 … 2.0 step 0.05, "
            "40,000 final samples (hours; meant for a GPU)",
        )
    parser.add_argument("--out", default=None, help="output folder (default: results/<script>/<mode>)")
    if configure is not None:
        configure(parser)
    args = parser.parse_args(argv)
    if getattr(args, "paper_size", False):
        args.mode = "paper_size"
    else:
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


def plain(value):
    """``value`` with NumPy arrays and scalars turned into lists and numbers (JSON-ready)."""
    return _plain(value)


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


def describe_training(training: na.AnnealProtocol, lr: str | None = None) -> str:
    """The training in a few words for a figure's title (``lr``: another text for the learning rate)."""
    text = training.describe(learning_rate=lr)
    return text if _fixed(training) else f"protocol {training.name!r}: {text}"


def _fixed(training: na.AnnealProtocol) -> bool:
    return (
        training.convergence is None
        and training.settle_steps == 0
        and training.ramp_steps == 0
        and training.preconditioner is None
    )


def describe_mode(mode: str, protocol: Protocol, lr: str | None = None) -> str:
    """Two lines for a figure's title (three for a protocol with a convergence test or a settle phase):
    the mode's protocol, and which curves are whose."""
    b = protocol.betas
    step = f"step {b[1] - b[0]:.2g}" if len(b) > 1 else "one β"
    text = f"{mode} mode: β = {b[0]:g} … {b[-1]:g} {step}, batch {protocol.n_samples}, "
    text += f"{protocol.n_final_samples} final samples"
    text += ", " if _fixed(protocol.training) else "\n"
    text += describe_training(protocol.training, lr)
    return f"{text}\ndark, solid: ours; light, dashed: {PAPER_CITATION}"


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
