"""The ``netket-arnn`` command.

``netket-arnn`` alone runs the built-in default job: β annealing of the Curie–Weiss model
with N = 100 (CW_N at its exact parameters, CW_∞ and 1P trained), printing a live per-β
table with the relative error to the exact free energy, and writing JSON and a PNG plot.
Options given without a sub-command go to that job (``netket-arnn --n 50``).

Sub-commands (``netket-arnn COMMAND --help`` for each)::

  anneal      train models over a β grid and compare with exact values
  reference   print exact reference values (closed forms, enumeration of a finite instance)
  sample      draw equilibrium Monte Carlo samples, write a dataset with its diagnostics
  fit         maximum likelihood on a dataset; coupling recovery when the couplings are known

Exit codes: 0 done, 1 the training diverged, 2 bad input (one line on stderr, as argparse
does), 130 interrupted (Ctrl-C, at any moment; a second Ctrl-C ends at once, also with 130;
the results so far are kept and an anneal run can be resumed).
Output is never written over an earlier run unless --overwrite is given; without --out, each
run takes a new folder (results/anneal, results/anneal-2, ...).
Set NETKET_ARNN_TRACEBACK=1 to see the full traceback of an error instead of one line.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import anneal, fit, reference, sample
from ._args import HelpFormatter, load_plugins, plain
from ._output import exit_now_on_second_interrupt

__all__ = ["COMMANDS", "build_parser", "main"]

#: The sub-command modules: each has ``NAME``, ``add_parser(subparsers)`` (which sets the
#: parser's default ``run``) and ``run(args) -> exit code``.
COMMANDS = (anneal, reference, sample, fit)
DEFAULT_COMMAND = anneal.NAME


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netket-arnn", description=plain(__doc__), formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        # Before the command had anything to keep (e.g. while importing jax); the commands
        # catch their own interrupts and say where their results are.
        exit_now_on_second_interrupt()
        print("netket-arnn: interrupted", file=sys.stderr, flush=True)
        return 130


def _main(argv: list[str]) -> int:
    if os.environ.get("NETKET_ARNN_DISTRIBUTED"):  # checked first: importing jax costs --help a second
        from .._distributed import initialize_from_environment

        try:  # join the launcher's other processes before NetKet builds its device mesh
            initialize_from_environment()
        except ValueError as error:
            print(f"netket-arnn: error: {error}", file=sys.stderr)
            return 2
    names = {command.NAME for command in COMMANDS}
    if not argv or (argv[0] not in names and argv[0] not in ("-h", "--help")):
        argv = [DEFAULT_COMMAND, *argv]
    try:
        load_plugins(argv)  # before the parser lists the nets: a plugin's nets are valid names
    except ValueError as error:
        print(f"netket-arnn {argv[0]}: error: {error}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"{parser.prog} {args.command}"
    try:
        return args.run(args)
    except (ValueError, TypeError, KeyError, OSError) as error:
        # Bad input found past argparse (an impossible system, a checkpoint of another run, ...).
        if os.environ.get("NETKET_ARNN_TRACEBACK"):
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
