"""Sphinx configuration of the netket-arnn documentation.

Built offline, as CI does (``-W``: every warning is an error):

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

Nothing is fetched at build or read time: no intersphinx inventories, MathJax served from the
site itself (``sphinx-mathjax-offline``), the theme's assets bundled with it.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import netket_arnn  # noqa: E402

# -- project ---------------------------------------------------------------------------------
project = "netket-arnn"
author = "the netket-arnn authors"
copyright = "2025, the netket-arnn authors"  # noqa: A001 (Sphinx's name)
release = netket_arnn.__version__
version = ".".join(release.split(".")[:2])

# -- extensions ------------------------------------------------------------------------------
extensions = [
    "myst_parser",  # markdown pages
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # Google-style "Args:" / "Returns:" docstrings
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # serves MathJax 3 from _static/mathjax instead of a CDN
    "netket_arnn_docs",  # docs/_ext: gallery pages and command-line help, generated at build
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# Offline build: no intersphinx, and no extension that downloads anything.
intersphinx_mapping: dict = {}

# -- MyST --------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- autodoc / autosummary / napoleon ----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "show-inheritance": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_class_signature = "separated"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- HTML ------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = f"netket-arnn {release}"
html_theme_options = {
    "show_toc_level": 2,
    # The sidebar lists pages down to the API subpackages; the ~200 symbol pages stay out of it,
    # which keeps the build fast (the theme renders the sidebar once per page).
    "max_navbar_depth": 2,
    "collapse_navbar": True,
    "navigation_with_keys": False,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
html_last_updated_fmt = None
# docs/_static/custom.css: wide display equations and tables scroll sideways instead of being cut.
html_static_path = ["_static"]
html_css_files = ["custom.css"]
