"""The pages the documentation build generates from examples/ (docs/_ext/netket_arnn_docs.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("netket_arnn_docs", ROOT / "docs" / "_ext" / "netket_arnn_docs.py")
gallery = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = gallery  # dataclasses look their module up there
spec.loader.exec_module(gallery)


@pytest.fixture
def examples(tmp_path, monkeypatch):
    folder = tmp_path / "examples"
    folder.mkdir()
    monkeypatch.setattr(gallery, "EXAMPLES", folder)
    monkeypatch.setattr(gallery, "FIGURE_DIRS", (folder,))
    monkeypatch.setattr(gallery, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(gallery, "GALLERY_PAGES", tmp_path / "docs" / "gallery" / "examples")
    return folder


def test_readme_links_become_pages_and_missing_figures_placeholders(examples):
    (examples / "fig4_cw.py").write_text('"""Fig. 4."""\n')
    (examples / "present.png").write_bytes(b"png")
    (examples / "README.md").write_text(
        "# Examples\n\n[the script](fig4_cw.py), [data](data/x.csv), [paper](https://arxiv.org)\n\n"
        "![shown](present.png) ![absent](missing.png)\n\n```bash\n# a shell comment\n```\n"
    )
    text = gallery.readme_markdown({"fig4_cw": "..."})
    assert "[the script](examples/fig4_cw.md)" in text
    assert "`data`" in text and "[paper](https://arxiv.org)" in text
    assert "present.png)" in text and "missing.png" in text
    assert "missing.png`: placeholder" in text and "](missing.png)" not in text
    assert "## Examples" in text and "\n# a shell comment\n" in text


def test_example_pages_show_figures_or_a_placeholder(examples):
    script = examples / "fig6_recovery.py"
    script.write_text('"""Title line.\n\nShows :math:`r` and :class:`~a.B`; writes ``out.png``.\n"""\n--smoke\n')
    page = gallery.example_page(gallery.read_example(script))
    assert page.splitlines()[2] == "# Title line"
    assert "{math}`r`" in page and "{class}`~a.B`" in page
    assert "--smoke" in page and "--full" not in page
    assert "Figure: placeholder" in page and "`out.png`" in page
    (examples / "out.png").write_bytes(b"png")
    page = gallery.example_page(gallery.read_example(script))
    assert "```{figure}" in page and "placeholder" not in page


def test_usage_lines_become_code_blocks_so_their_double_dashes_survive(examples):
    """An indented usage line left in a paragraph would have its ``--`` typeset as an en dash."""
    script = examples / "fig4_cw.py"
    script.write_text(
        '"""Title.\n\nModes:\n\n- ``--smoke``: a pipeline check.\n\n'
        '    python examples/fig4_cw.py [--smoke | --full] [--out OUT]\n"""\n'
    )
    page = gallery.example_page(gallery.read_example(script))
    assert "```bash\npython examples/fig4_cw.py [--smoke | --full] [--out OUT]\n```" in page
    assert "    python examples/fig4_cw.py" not in page


def test_every_planned_example_is_recognised_by_its_file_name():
    names = {
        "fig4_curie_weiss": "fig4-curie-weiss",
        "fig5_sherrington_kirkpatrick": "fig5-sherrington-kirkpatrick",
        "overlaps": "overlap-distributions",
        "fig6_coupling_recovery": "fig6-coupling-recovery",
        "netket_dropin": "drop-in-netket",
        "edwards_anderson_sparse": "beyond-edwards-anderson",
    }
    for stem, slug in names.items():
        assert gallery.planned_for(Path(f"{stem}.py")).slug == slug
    assert gallery.planned_for(Path("compare_with_paper.py")) is None
