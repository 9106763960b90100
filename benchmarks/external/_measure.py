"""Timing helpers shared by ``bench_training.py`` and its adapters (standard library only).

Every measurement runs a callable ``warmup + repeats`` times and keeps, per repetition, the
wall time and the *foreign load*: the fraction of the machine's CPU time used by other
processes during that repetition,

    foreign = (Δ machine busy time − Δ own CPU time) / (wall time × online CPUs),

read from ``/proc/stat`` and ``time.process_time`` (all threads of this process). The
reported time is the median over the repetitions whose foreign load stays under the
threshold ("clean"), or over all of them, flagged ``contended``, when none does.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes spent busy since boot (``/proc/stat``), None where unavailable."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user / nice
    return (sum(fields) - idle - guest) / _TICK


def online_cpus() -> int:
    return os.cpu_count() or 1


class Stamp:
    """A point in time: wall clock, machine busy seconds, own CPU seconds."""

    __slots__ = ("busy", "own", "wall")

    def __init__(self):
        self.wall = time.perf_counter()
        self.busy = machine_busy_seconds()
        self.own = time.process_time()


def foreign_load(start: Stamp, end: Stamp) -> float | None:
    """Fraction of the machine's CPU capacity used by other processes between two stamps.

    None where ``/proc/stat`` is missing or the interval is shorter than 5 clock ticks.
    """
    wall = end.wall - start.wall
    if start.busy is None or end.busy is None or wall < 5 / _TICK:  # too short for clock ticks
        return None
    other = (end.busy - start.busy) - (end.own - start.own)
    return min(1.0, max(0.0, other / (wall * online_cpus())))


def summarise(times: list[float], loads: list, warmup: list[float], threshold: float) -> dict:
    """Median of the clean repetitions (foreign load <= threshold), with everything measured."""
    clean = [t for t, f in zip(times, loads) if f is None or f <= threshold]
    return {
        "median_s": statistics.median(clean or times) if times else None,
        "median_all_s": statistics.median(times) if times else None,
        "min_s": min(times) if times else None,
        "times_s": times,
        "foreign_load": loads,
        "n_clean": len(clean),
        "foreign_load_median": statistics.median(f for f in loads if f is not None)
        if any(f is not None for f in loads)
        else None,
        "contended": bool(times) and not clean,
        "warmup_s": warmup,
        "compile_and_warmup_s": sum(warmup),
    }


def measure(
    fn: Callable[[], object], repeats: int, warmup: int, threshold: float, sync=None, compiles=None, extra: int = 3
) -> dict:
    """Time ``fn()`` ``warmup`` times (reported, not counted), then ``repeats`` times.

    ``sync(result)`` waits for asynchronous work (e.g. ``jax.block_until_ready``).
    ``compiles()`` (e.g. :func:`jax_compile_counter`) counts compilations so far: a repetition
    that compiled counts as warm-up, and up to ``extra`` more repetitions replace it.
    """
    sync = sync or (lambda r: r)
    compiles = compiles or (lambda: 0)
    warm, times, loads = [], [], []
    for r in range(warmup + repeats + extra):
        if len(times) == repeats:
            break
        before, start = compiles(), Stamp()
        sync(fn())
        end = Stamp()
        if r < warmup or compiles() != before:
            warm.append(end.wall - start.wall)
        else:
            times.append(end.wall - start.wall)
            loads.append(foreign_load(start, end))
    return summarise(times, loads, warm, threshold)


def from_stamps(stamps: list[Stamp], warmup: int, threshold: float, counts: list | None = None) -> dict:
    """Summary of the intervals between consecutive stamps.

    The first ``warmup`` intervals, and any interval in which ``counts`` (compilations so far,
    one per stamp) changed, are warm-up.
    """
    counts = counts or [0] * len(stamps)
    warm, times, loads = [], [], []
    for i, (a, b) in enumerate(zip(stamps, stamps[1:])):
        if i < warmup or counts[i + 1] != counts[i]:
            warm.append(b.wall - a.wall)
        else:
            times.append(b.wall - a.wall)
            loads.append(foreign_load(a, b))
    return summarise(times, loads, warm, threshold)


def jax_compile_counter() -> Callable[[], int]:
    """A function returning how many XLA compilations this process has run so far."""
    import jax

    count = [0]

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    return lambda: count[0]


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """The machine a measurement ran on."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        mem = None
    return {
        "cpu_model": cpu_model(),
        "cpu_count": online_cpus(),
        "cpu_affinity": affinity,
        "memory_bytes": mem,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def versions(*names: str) -> dict:
    """Installed versions of the given distributions (None if absent)."""
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(path) -> str | None:
    """Commit (with ``-dirty`` if modified) of the git checkout at ``path``, None if not one."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty else "")


def log(message: str) -> None:
    """Progress on stderr (stdout may carry the measured code's own prints)."""
    print(message, file=sys.stderr, flush=True)


#: the result files this process has written: later writes replace them, the first one keeps what was there
_WRITTEN: set[Path] = set()


def write_json(path, obj) -> Path:
    """Write ``obj`` to ``path`` as JSON, atomically (a temporary file renamed over it).

    Benchmarks write their results as they go, so a file that is already there when this
    process first writes to ``path`` is an earlier run's: it is moved aside to
    ``<stem>.<its modification time><suffix>`` (a counter added if that name is taken) and the
    new name is printed, so a rerun never silently replaces earlier results. Later writes of
    the same process replace its own file. Returns ``path``.
    """
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path not in _WRITTEN and path.exists():
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(path.stat().st_mtime))
        kept = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
        counter = 1
        while kept.exists():
            counter += 1
            kept = path.with_name(f"{path.stem}.{stamp}-{counter}{path.suffix}")
        path.rename(kept)
        log(f"earlier results kept: {path.name} moved to {kept.name}")
    _WRITTEN.add(path)
    # an interrupt while writing leaves the previous complete file, never a truncated one (the
    # package's netket_arnn._io.atomic_write does the same, but this module is standard library
    # only: the adapters run it in other codes' environments)
    text = json.dumps(obj, indent=2, default=str)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
