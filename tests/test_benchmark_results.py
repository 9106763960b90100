"""The benchmarks' result files: written as they go, never silently replacing an earlier run's."""

import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "external" / "_measure.py"


@pytest.fixture
def measure():
    spec = importlib.util.spec_from_file_location("_measure_under_test", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a fresh module: a fresh "process" as far as write_json knows
    return module


def test_same_run_replaces_its_own_file(measure, tmp_path):
    out = tmp_path / "sub" / "r.json"
    measure.write_json(out, {"step": 1})
    measure.write_json(out, {"step": 2})
    assert json.loads(out.read_text()) == {"step": 2}
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.json"]  # no copies, no partial file


def test_rerun_keeps_the_earlier_results(measure, tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text(json.dumps({"run": "earlier"}))
    measure.write_json(out, {"run": "new"})
    kept = [p for p in tmp_path.iterdir() if p.name != "r.json"]
    assert len(kept) == 1 and kept[0].name.startswith("r.") and kept[0].suffix == ".json"
    assert json.loads(kept[0].read_text()) == {"run": "earlier"}
    assert json.loads(out.read_text()) == {"run": "new"}
    assert kept[0].name in capsys.readouterr().err


def test_reruns_with_the_same_stamp_get_distinct_names(measure, tmp_path):
    out = tmp_path / "r.json"
    for run in range(3):
        out.write_text(json.dumps({"run": run}))
        measure._WRITTEN.clear()  # another process
        measure.write_json(out, {"run": "new"})
    kept = sorted(json.loads(p.read_text())["run"] for p in tmp_path.iterdir() if p.name != "r.json")
    assert kept == [0, 1, 2]


def test_interrupted_write_leaves_the_last_complete_file(measure, tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    measure.write_json(out, {"step": 1})

    def interrupted(self, text, *args, **kwargs):
        with open(self, "w") as f:
            f.write(text[:5])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        measure.write_json(out, {"step": 2})
    monkeypatch.undo()
    assert json.loads(out.read_text()) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
