"""Records and results: strict JSON (no NaN tokens), atomic files, reading them back."""

from __future__ import annotations

import json
import math

import pytest

from netket_arnn.driver import AnnealRecord, AnnealResult, load_results
from netket_arnn.driver.results import format_header, format_row, write_json_atomic


def _record(beta=0.5, **changes):
    values = dict(
        beta=beta,
        free_energy=-1.0,
        free_energy_error=0.01,
        energy=-0.5,
        energy_error=0.01,
        entropy=0.3,
        entropy_error=0.01,
        abs_magnetization=0.2,
        abs_magnetization_error=0.01,
        log_z_total=3.0,
        log_z_total_error=0.1,
        ess_fraction=0.5,
        n_samples=100,
        steps=10,
        wall_time=1.0,
    )
    return AnnealRecord(**{**values, **changes})


def test_non_finite_values_become_null_with_a_flag_and_come_back():
    r = _record(log_z_total=math.nan, log_z_total_error=math.inf, free_energy=-math.inf)
    text = json.dumps(r.as_dict(), allow_nan=False)  # strict: would raise on a NaN token
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["log_z_total"] is None
    assert data["non_finite"] == {"free_energy": "-inf", "log_z_total": "nan", "log_z_total_error": "inf"}
    back = AnnealRecord.from_dict(data)
    assert math.isnan(back.log_z_total) and back.log_z_total_error == math.inf and back.free_energy == -math.inf
    assert back.beta == 0.5 and back.steps == 10


def test_result_file_is_strict_and_replaced_atomically(tmp_path):
    path = tmp_path / "r.json"
    result = AnnealResult(
        records=[_record(), _record(1.0, ess_fraction=math.nan)], metadata={"name": "m", "x": math.nan}
    )
    result.to_json(path)
    data = json.loads(path.read_text())
    assert data["metadata"]["x"] is None and data["records"][1]["non_finite"] == {"ess_fraction": "nan"}
    # a failed write leaves the previous complete file and no temporary file
    with pytest.raises(ValueError):
        write_json_atomic(path, {"bad": math.nan})
    assert json.loads(path.read_text()) == data
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert list(load_results(path)) == ["m"]
    assert math.isnan(load_results(path)["m"][1].ess)


def test_records_of_earlier_files_are_read_with_the_per_spin_names():
    # files written before the naming convention: log_z (total) and ess (a count)
    old = {
        k: v for k, v in _record().as_dict().items() if k not in ("log_z_total", "log_z_total_error", "ess_fraction")
    }
    old.update(log_z=3.0, log_z_error=0.1, ess=25.0, non_finite={"log_z_error": "inf"})
    back = AnnealRecord.from_dict(old)
    assert back.log_z_total == 3.0 and back.log_z_total_error == math.inf
    assert back.ess_fraction == 0.25 and back.ess == 25.0 and back.log_z == 3.0


def test_load_results_reads_the_command_output(tmp_path):
    path = tmp_path / "anneal.json"
    runs = {"a": AnnealResult(records=[_record()]).as_dict(), "b": AnnealResult().as_dict()}
    path.write_text(json.dumps({"runs": runs, "settings": {}}))
    loaded = load_results(path)
    assert list(loaded) == ["a", "b"] and len(loaded["a"]) == 1 and len(loaded["b"]) == 0
    path.write_text("{}")
    with pytest.raises(ValueError, match="neither"):
        load_results(path)


def test_table_shows_unknown_values_as_dashes():
    row = format_row(_record(exact_free_energy=None, distinct_fraction=None))
    assert len(row.split()) == len(format_header().split()) - 2  # "± err" and "f exact" are two words
    assert row.split()[3] == "-" and row.split()[9] == "-"
