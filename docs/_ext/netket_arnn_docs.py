"""Pages generated at build time, so that they never go stale.

- ``_generated/cli_help.md``: the ``--help`` of ``netket-arnn`` and of each sub-command, as the
  installed command prints it (included by ``guide/cli.md``).
- ``gallery/examples/<script>.md``: one page per script ``examples/*.py``: its docstring, how
  to run it, its figure when one exists, its source. A figure is any PNG whose name the
  docstring mentions or that starts with the script's name, found under ``examples/`` or
  ``docs/gallery/figures/``; a script without one gets a marked placeholder.
- ``gallery/examples/planned-*.md``: a placeholder page for each example the gallery plans
  (:data:`PLANNED`) that no script provides yet.
- ``_generated/gallery_readme.md``: ``examples/README.md`` (the gallery's index) with its
  links to scripts turned into links to their pages and its missing images into marked
  placeholders (included by ``gallery/index.md``).
- ``_generated/gallery_toctree.md``: the toctree of the gallery pages.

Everything generated lives in ``docs/_generated/`` and ``docs/gallery/examples/`` (both ignored
by git) and is rewritten only when its text changes, so incremental builds stay incremental.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
EXAMPLES = ROOT / "examples"
GENERATED = DOCS / "_generated"
GALLERY_PAGES = DOCS / "gallery" / "examples"
FIGURE_DIRS = (EXAMPLES, DOCS / "gallery" / "figures")
PLACEHOLDER_MARK = "placeholder"  # every placeholder's text contains this word (for grep)


@dataclass(frozen=True)
class Planned:
    """An example the gallery promises, recognised by words in its script's file name."""

    slug: str
    title: str
    shows: str
    keywords: tuple[str, ...]


PLANNED = (
    Planned(
        "fig4-curie-weiss",
        "Curie–Weiss (Fig. 4)",
        "f[q] − f against β for N = 50, 100, 200 for CW_N, CW_∞, 1P, 1L and MADE, and the mean and "
        "maximum relative error of CW_∞ and 1P against N up to 800, beside the paper's curves.",
        ("fig4", "curie", "cw"),
    ),
    Planned(
        "fig5-sherrington-kirkpatrick",
        "Sherrington–Kirkpatrick (Fig. 5)",
        "The relative difference to SK_2RSB of SK_RS, SK_1RSB, 1L and MADE on the published "
        "instances, with the published seed averages beside ours, and the relative error of every "
        "net against exact enumeration at N ≤ 24.",
        ("fig5", "sherrington", "spin_glass"),
    ),
    Planned(
        "overlap-distributions",
        "Overlap distributions P(q)",
        "P(q) for Curie–Weiss N = 200 at β = 1.2 and 1.3 and for SK N = 200 at β = 1.5, drawn over "
        "the published histograms.",
        ("overlap", "p_of_q", "pq"),
    ),
    Planned(
        "fig6-coupling-recovery",
        "Coupling recovery (Fig. 6)",
        "Couplings of an SK instance read back from the first layer of a network trained by maximum "
        "likelihood on Monte Carlo samples, beside pseudo-likelihood.",
        ("fig6", "recovery"),
    ),
    Planned(
        "drop-in-netket",
        "Drop-in in a NetKet script",
        "One line swaps nk.models.ARNNDense for a physics ARNN in a free-energy script; a physics ARNN "
        "as the ansatz of nk.driver.VMC with SR for a transverse-field Ising chain, against "
        "nk.exact.lanczos_ed.",
        ("drop", "netket", "vmc", "tfim"),
    ),
    Planned(
        "beyond-edwards-anderson",
        "Beyond the paper: Edwards–Anderson lattices",
        "Sparse SK_kRSB on a 2D Edwards–Anderson lattice (L = 16 quick, L = 32 and 64 full) against "
        "a MADE of equal size.",
        ("edwards", "beyond", "lattice", "ea_"),
    ),
)


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


# -- command-line help ---------------------------------------------------------------------------


def cli_help_markdown() -> str:
    """The help of ``netket-arnn`` and each sub-command, at a fixed width of 100 columns."""
    from netket_arnn.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        parser = build_parser()
        parts = ["% Generated from netket_arnn.cli at build time; do not edit.\n"]
        parts.append("### `netket-arnn --help`\n\n```text\n" + parser.format_help().rstrip() + "\n```\n")
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for name, command in sub.choices.items():
            parts.append(f"### `netket-arnn {name} --help`\n\n```text\n" + command.format_help().rstrip() + "\n```\n")
        return "\n".join(parts)
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


# -- gallery ------------------------------------------------------------------------------------


@dataclass
class Example:
    script: Path
    title: str
    body: str
    figures: list[Path]
    wanted: list[str]  # PNG names the docstring promises
    modes: tuple[str, ...]

    @property
    def page(self) -> str:
        return self.script.stem


def example_scripts() -> list[Path]:
    if not EXAMPLES.is_dir():
        return []
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def find_figures(names: list[str], stem: str) -> list[Path]:
    found: dict[str, Path] = {}
    for folder in FIGURE_DIRS:
        if not folder.is_dir():
            continue
        for png in sorted(folder.rglob("*.png")):
            if png.name in names or png.name.startswith(stem):
                found.setdefault(png.name, png)
    return list(found.values())


def read_example(script: Path) -> Example:
    source = script.read_text(encoding="utf-8")
    try:
        doc = ast.get_docstring(ast.parse(source)) or ""
    except SyntaxError:  # a script being written right now: still list it
        doc = ""
    first, _, rest = doc.partition("\n")
    title = first.strip().rstrip(".") or script.name
    wanted = sorted(set(re.findall(r"[\w.-]+\.png", doc)))
    modes = tuple(m for m in ("--smoke", "--full") if m in source)
    return Example(script, title, rest.strip(), find_figures(wanted, script.stem), wanted, modes)


def planned_for(script: Path) -> Planned | None:
    name = script.stem.lower()
    return next((p for p in PLANNED if any(k in name for k in p.keywords)), None)


def figure_placeholder(names: list[str], command: str) -> str:
    wanted = ", ".join(f"`{n}`" for n in names) or "its PNG"
    return (
        ":::{admonition} Figure: placeholder\n:class: warning\n\n"
        f"The figure is not in the documentation yet ({PLACEHOLDER_MARK}). `{command}` writes {wanted}; "
        "copy it to `docs/gallery/figures/` to show it here.\n:::\n"
    )


ROLE = re.compile(r":(?P<role>[a-z]+(?::[a-z]+)?):`(?P<text>[^`]+)`")
COMMAND = re.compile(r"^ {4,}(?P<command>python \S+.*)$")


def docstring_markdown(text: str) -> str:
    """A script's docstring as MyST markdown: its roles (``:math:`x```, ``:class:`~a.B```) kept.

    Scripts' docstrings are written for the terminal as much as for this site, in loose
    reStructuredText; markdown reads them without complaint (a nested list or a ``|x|`` is not
    an error there) and MyST understands the roles written as ``{role}`text```.

    An indented command line (``    python examples/x.py [--smoke | --full]``) becomes a fenced
    ``bash`` block. Left as it is, markdown would take it for the continuation of the paragraph
    or list item above it, and the typography of the site would turn its ``--`` into an en
    dash: a copied command would then fail.
    """
    lines = []
    for line in text.splitlines():
        match = COMMAND.match(line)
        if match:
            lines += ["", "```bash", match["command"], "```", ""]
        else:
            lines.append(line)
    text = "\n".join(lines)
    return ROLE.sub(lambda m: f"{{{m['role']}}}`{m['text']}`", text)


def example_page(example: Example) -> str:
    page_dir = GALLERY_PAGES
    command = f"python examples/{example.script.name}"
    lines = [f"% Generated from examples/{example.script.name} at build time; do not edit.\n", f"# {example.title}\n"]
    if example.body:
        lines.append(docstring_markdown(example.body) + "\n")
    lines.append("## Run it\n\n```bash")
    if "--smoke" in example.modes:
        lines.append(f"{command} --smoke   # a minute or two: checks the pipeline")
    lines.append(f"{command}           # quick mode")
    if "--full" in example.modes:
        lines.append(f"{command} --full    # the longest mode (see above), meant for a GPU")
    lines.append("```\n")
    lines.append("## Figure\n")
    if example.figures:
        for png in example.figures:
            lines.append(f"```{{figure}} {relative(png, page_dir)}\n:width: 100%\n\n`{png.name}`\n```\n")
    else:
        lines.append(figure_placeholder(example.wanted, command))
    lines.append("## Source\n")
    lines.append(f"```{{literalinclude}} {relative(example.script, page_dir)}\n:language: python\n```\n")
    return "\n".join(lines)


def planned_page(planned: Planned) -> str:
    return (
        "% Generated at build time; do not edit.\n\n"
        f"# {planned.title}\n\n"
        ":::{admonition} Example: placeholder\n:class: warning\n\n"
        f"This example is planned and not written yet ({PLACEHOLDER_MARK}). It will show: {planned.shows}\n"
        ":::\n"
    )


LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
HTML_IMG = re.compile(r"<img\s[^>]*?src=\"([^\"]+)\"[^>]*>")


def readme_markdown(pages: dict[str, str]) -> str:
    """``examples/README.md`` as seen from ``docs/gallery/index.md``, its links rewritten."""
    readme = EXAMPLES / "README.md"
    if not readme.exists():
        return f"*The gallery's index, `examples/README.md`, is not written yet ({PLACEHOLDER_MARK}).*\n"
    includer = DOCS / "gallery"
    text = readme.read_text(encoding="utf-8")

    def image(target: str, alt: str) -> str:
        path = (EXAMPLES / target).resolve()
        if path.exists():
            return f"![{alt}]({relative(path, includer)})"
        return f"*(figure `{target}`: {PLACEHOLDER_MARK}, not generated yet)*"

    def link(match: re.Match) -> str:
        bang, label, target = match.groups()
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return match.group(0)
        if bang:
            return image(target, label)
        stem = Path(target.split("#")[0]).stem
        if target.endswith(".py") and stem in pages:
            return f"[{label}](examples/{stem}.md)"
        return label if label.startswith("`") else f"`{label}`"

    text = HTML_IMG.sub(lambda m: image(m.group(1), ""), text)
    text = LINK.sub(link, text)
    # The README's own title would compete with the gallery page's: demote every heading one
    # level (outside code blocks, where "# ..." is a shell comment).
    lines, in_code = [], False
    for line in text.splitlines():
        if re.match(r"\s*(```|~~~)", line):
            in_code = not in_code
        elif not in_code and re.match(r"#+ ", line):
            line = "#" + line
        lines.append(line)
    text = "\n".join(lines) + "\n"
    return "% Generated from examples/README.md at build time; do not edit.\n\n" + text


def generate(app) -> None:
    write_if_changed(GENERATED / "cli_help.md", cli_help_markdown())

    examples = [read_example(s) for s in example_scripts()]
    pages: dict[str, str] = {}
    order: list[str] = []
    claimed: set[str] = set()
    for example in examples:
        pages[example.page] = example_page(example)
        planned = planned_for(example.script)
        if planned:
            claimed.add(planned.slug)
    for planned in PLANNED:
        if planned.slug not in claimed:
            pages[f"planned-{planned.slug}"] = planned_page(planned)
    # Order: the planned topics first, in the gallery's order, then any other script.
    for planned in PLANNED:
        order += [e.page for e in examples if planned_for(e.script) is planned and e.page not in order]
        if planned.slug not in claimed:
            order.append(f"planned-{planned.slug}")
    order += [name for name in sorted(pages) if name not in order]

    GALLERY_PAGES.mkdir(parents=True, exist_ok=True)
    for stale in GALLERY_PAGES.glob("*.md"):
        if stale.stem not in pages:
            stale.unlink()
    for name, text in pages.items():
        write_if_changed(GALLERY_PAGES / f"{name}.md", text)
    toctree = "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(f"examples/{name}" for name in order) + "\n```\n"
    write_if_changed(GENERATED / "gallery_toctree.md", toctree)
    write_if_changed(GENERATED / "gallery_readme.md", readme_markdown(pages))

    missing = [e.script.name for e in examples if not e.figures]
    planned_missing = [p.title for p in PLANNED if p.slug not in claimed]
    if missing or planned_missing:
        logger.info(
            "gallery placeholders: figures missing for %s; examples not written: %s",
            ", ".join(missing) or "none",
            ", ".join(planned_missing) or "none",
        )


def drop_type_docstrings(app, what, name, obj, options, lines) -> None:
    """A constant without a ``#:`` comment would show its type's docstring (``dict``, ``int``): drop it."""
    type_doc = type(obj).__doc__
    # A slotted class may hold a descriptor, not a string, under __doc__: nothing to compare then.
    type_doc = type_doc.strip() if isinstance(type_doc, str) else ""
    if what in ("data", "attribute") and type_doc and "\n".join(lines).strip() == type_doc:
        lines.clear()


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", drop_type_docstrings)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
