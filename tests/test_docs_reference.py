"""The API reference (docs/api/*.md) covers every public symbol of the package.

A symbol is public when it is in the ``__all__`` of a module whose dotted path has no component
starting with an underscore. It is covered when the reference lists it in an ``autosummary``
table, under its own name or as the same object under another public name (a re-export, such as
``netket_arnn.PairwiseIsing`` for ``netket_arnn.operators.PairwiseIsing``). Every public module
is covered too: a subpackage by its page, a module by the "Modules" table of its subpackage's
page. The sub-command modules of :mod:`netket_arnn.cli` are documented by their ``--help``,
which the command-line guide includes from the parser at build time.

The documentation build (``sphinx -W``) checks the other direction: every listed name imports.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import netket_arnn

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
CLI_GUIDE = ROOT / "docs" / "guide" / "cli.md"
DIRECTIVE = re.compile(r"^\s*\.\.\s+(?P<name>[\w:-]+)::\s*(?P<arg>\S*)")


def documented_names(text: str) -> tuple[set[str], set[str]]:
    """Full names listed in the autosummary tables of a page, and the modules it ``automodule``s."""
    names, modules = set(), set()
    current = None
    in_autosummary = False
    for line in text.splitlines():
        directive = DIRECTIVE.match(line)
        if directive:
            kind, arg = directive["name"], directive["arg"]
            in_autosummary = kind == "autosummary"
            if kind in ("currentmodule", "automodule", "module"):
                current = arg
                if kind == "automodule":
                    modules.add(arg)
            continue
        if not in_autosummary:
            continue
        stripped = line.strip()
        if line.startswith("```") or (stripped and not line.startswith(" ")):
            in_autosummary = False
            continue
        if not stripped or stripped.startswith(":"):
            continue
        entry = stripped.lstrip("~")
        names.add(entry if entry.startswith("netket_arnn") or current is None else f"{current}.{entry}")
    return names, modules


def resolve(full_name: str):
    parts = full_name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(full_name)


def public_modules() -> list[str]:
    names = ["netket_arnn"]
    for info in pkgutil.walk_packages(netket_arnn.__path__, "netket_arnn."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def is_cli_command(module_name: str) -> bool:
    return module_name.startswith("netket_arnn.cli.")


def reference():
    names, modules = set(), set()
    for page in sorted(API.glob("*.md")):
        page_names, page_modules = documented_names(page.read_text(encoding="utf-8"))
        names |= page_names
        modules |= page_modules
    objects = {name: resolve(name) for name in names}
    return names, modules, objects


def test_every_public_symbol_is_in_the_reference():
    names, modules, objects = reference()
    documented_ids = {id(obj) for obj in objects.values()}
    missing = []
    for module_name in public_modules():
        if is_cli_command(module_name):
            continue
        module = importlib.import_module(module_name)
        for symbol in getattr(module, "__all__", ()):
            obj = getattr(module, symbol)
            full = f"{module_name}.{symbol}"
            if inspect.ismodule(obj):
                covered = obj.__name__ in modules or obj.__name__ in names or is_cli_command(obj.__name__)
            elif inspect.isclass(obj) or callable(obj):
                covered = full in names or id(obj) in documented_ids
            else:  # a constant: an int or a string is not identified by its id
                covered = full in names or any(n.rsplit(".", 1)[-1] == symbol and objects[n] == obj for n in names)
            if not covered:
                missing.append(full)
    assert not missing, f"public symbols missing from docs/api/*.md: {missing}"


def test_every_public_module_is_in_the_reference():
    names, modules, _ = reference()
    missing = [m for m in public_modules() if not is_cli_command(m) and m not in modules and m not in names]
    assert not missing, f"public modules missing from docs/api/*.md (add them to a 'Modules' table): {missing}"


def test_every_command_is_in_the_command_line_guide():
    from netket_arnn.cli import COMMANDS

    guide = CLI_GUIDE.read_text(encoding="utf-8")
    assert "_generated/cli_help.md" in guide  # the help of every sub-command, generated at build time
    for command in COMMANDS:
        assert command.__name__.startswith("netket_arnn.cli.")
        assert f"netket-arnn {command.NAME}" in guide, f"the command-line guide never mentions {command.NAME}"


def test_the_reference_parser_sees_what_a_page_lists():
    # Guards the parser: a page it misread would make the coverage tests vacuous.
    text = """
```{eval-rst}
.. automodule:: netket_arnn.driver
   :no-members:
```

```{eval-rst}
.. currentmodule:: netket_arnn.driver

.. autosummary::
   :toctree: _autosummary

   anneal
   ~netket_arnn.operators.PairwiseIsing
```

plain text
   not_listed
"""
    names, modules = documented_names(text)
    assert names == {"netket_arnn.driver.anneal", "netket_arnn.operators.PairwiseIsing"}
    assert modules == {"netket_arnn.driver"}
