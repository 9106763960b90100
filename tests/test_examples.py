"""The examples gallery does not rot: every script runs in its ``--smoke`` mode and writes its files.

Each script of ``examples/`` is run as a user would (``python examples/NAME.py --smoke --out DIR``,
from an unrelated working directory), two at a time so that the two cores are both busy; the
test then checks what the script promises: a zero exit status, a CSV with data rows, strict JSON,
a PNG image, and that the gallery index lists the script and shows its figure. A second run of
one script into the same folder must reuse the finished runs instead of training again (what
lets an interrupted long run continue).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
# multiprocess.py runs on 2 processes in tests/distributed (its point); the others here, one process each
SMOKE_SCRIPTS = [p for p in SCRIPTS if p.stem != "multiprocess"]
# The longest smoke runs go with the slow tests: lattices.py (a minute or more: NetKet's convolutional
# and dense ARNNs, a full pass per site) and fig5 (about 45 s: five SK nets on three instances, whose
# models and anneal have their own tests); the default run keeps the rest.
SLOW_SMOKE = {"lattices", "fig5_sherrington_kirkpatrick"}
FAST_SMOKE_SCRIPTS = [p for p in SMOKE_SCRIPTS if p.stem not in SLOW_SMOKE]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TIMEOUT = 600


def _run(script: Path, out: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, str(script), "--smoke", "--out", str(out)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """``script name -> (completed process, output folder)`` of every example's smoke run."""
    root = tmp_path_factory.mktemp("examples")
    jobs = {s.stem: (s, root / s.stem) for s in FAST_SMOKE_SCRIPTS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, script, out, root) for name, (script, out) in jobs.items()}
        return {name: (f.result(), jobs[name][1]) for name, f in futures.items()}


def _failure(proc: subprocess.CompletedProcess) -> str:
    return (
        f"exit status {proc.returncode}\n--- stdout (tail)\n{proc.stdout[-3000:]}\n"
        f"--- stderr (tail)\n{proc.stderr[-3000:]}"
    )


def _no_constants(name: str):
    raise AssertionError(f"not strict JSON: the file holds {name}")


def test_gallery_has_scripts():
    names = {s.stem for s in SCRIPTS}
    for expected in (
        "fig4_curie_weiss",
        "fig5_sherrington_kirkpatrick",
        "overlaps",
        "fig6_coupling_recovery",
        "netket_dropin",
        "edwards_anderson_sparse",
    ):
        assert expected in names


@pytest.mark.parametrize("script", FAST_SMOKE_SCRIPTS, ids=lambda p: p.stem)
def test_smoke_run_writes_results_and_figure(script, smoke_runs):
    _check_smoke_run(script, *smoke_runs[script.stem])


@pytest.mark.slow
@pytest.mark.parametrize("script", [p for p in SMOKE_SCRIPTS if p.stem in SLOW_SMOKE], ids=lambda p: p.stem)
def test_slow_smoke_run_writes_results_and_figure(script, tmp_path):
    _check_smoke_run(script, _run(script, tmp_path / script.stem, tmp_path), tmp_path / script.stem)


def _check_smoke_run(script: Path, proc: subprocess.CompletedProcess, out: Path) -> None:
    assert proc.returncode == 0, _failure(proc)
    files = [p for p in out.iterdir() if p.is_file()]
    pngs = [p for p in files if p.suffix == ".png"]
    assert pngs, f"{script.name} wrote no PNG into {out}: {sorted(p.name for p in files)}"
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_MAGIC, f"{png} is not a PNG image"
    tables = [p for p in files if p.suffix == ".csv"]
    documents = [p for p in files if p.suffix == ".json"]
    assert tables and documents, f"{script.name} must write CSV and JSON results, wrote {sorted(p.name for p in files)}"
    for table in tables:
        with open(table, newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows, f"{table} has a header but no data rows"
    for document in documents:
        # Strict JSON: NaN and Infinity are not JSON; a standard parser must read the file.
        json.loads(document.read_text(), parse_constant=_no_constants)


def test_second_run_reuses_finished_runs(smoke_runs, tmp_path):
    """Run again into the same folder: every finished run is read back, none is trained again."""
    script = EXAMPLES / "fig4_curie_weiss.py"
    first, out = smoke_runs[script.stem]
    assert first.returncode == 0, _failure(first)
    n_runs = len(list((out / "runs").glob("*.json")))
    assert n_runs > 0
    again = _run(script, out, tmp_path)
    assert again.returncode == 0, _failure(again)
    assert again.stdout.count("reusing the finished run") == n_runs, again.stdout[-3000:]
    # anneal prints its per-β table header whenever it trains; a reused run never calls it.
    assert "f exact" not in again.stdout, again.stdout[-3000:]


def test_index_lists_every_script_with_its_figure():
    index = (EXAMPLES / "README.md").read_text()
    for script in SCRIPTS:
        assert f"{script.name}" in index, f"examples/README.md does not list {script.name}"
    thumbnails = [line.split("](", 1)[1].split(")", 1)[0] for line in index.splitlines() if "![" in line]
    assert thumbnails, "examples/README.md shows no figure"
    for path in thumbnails:
        assert (EXAMPLES / path).is_file(), f"examples/README.md shows {path}, which does not exist"


def test_examples_do_not_read_outside_the_project():
    for script in EXAMPLES.glob("*.py"):
        text = script.read_text()
        assert "../shared" not in text and "shared/reference" not in text, f"{script.name} reads outside the project"


def test_figure_titles_name_the_protocol_each_mode_runs(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import _gallery as gallery

    import netket_arnn as na

    fixed = gallery.Protocol(
        betas=(0.1, 0.3, 0.5), training=gallery.fixed_steps(12, 7, 2e-3), n_samples=64, n_final_samples=256
    )
    first, credit = gallery.describe_mode("quick", fixed).split("\n")
    assert first.startswith("quick mode: β = 0.1 … 0.5 step 0.2, batch 64, 256 final samples, ")
    assert first.endswith(fixed.training.describe())  # Adam 0.002, 7 warm-up + 12 steps/β
    assert gallery.PAPER_CITATION in credit
    assert "Adam 1e-3 → 1e-4" in gallery.describe_mode("quick", fixed, lr="1e-3 → 1e-4")

    tracking = gallery.paper_size_protocol(betas=(0.5,))
    lines = gallery.describe_mode("paper_size", tracking).split("\n")
    assert lines[0] == "paper_size mode: β = 0.5 … 0.5 one β, batch 2000, 40000 final samples"
    assert lines[1] == f"protocol 'tracking': {na.driver.TRACKING.describe()}"
    assert len(lines) == 3


def test_paper_size_trains_n_200_with_the_settled_protocol(monkeypatch):
    """The tracking protocol's rates from β = 1 on were chosen at N = 100 and make f[q] diverge at
    N = 200: the paper-size modes train N = 200 with the settled one."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import fig5_sherrington_kirkpatrick as fig5
    import overlaps

    import netket_arnn as na

    mode = fig5.MODES["paper_size"]
    assert mode["protocol"].training is na.driver.TRACKING and set(mode["relative"]) == {100, 200}
    assert mode["protocol_at"][200].training is na.driver.SETTLED
    assert mode["protocol_at"][200].betas == mode["protocol"].betas
    assert overlaps.MODES["paper_size"]["sk"]["N"] == 200
    assert overlaps.MODES["paper_size"]["sk"]["protocol"].training is na.driver.SETTLED
