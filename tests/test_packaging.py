import ast
import sys
import tomllib
from pathlib import Path

import netket_arnn as na

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_has_one_source():
    assert na.__version__ == PYPROJECT["project"]["version"]


def test_license_file_matches_the_declared_licence():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def third_party_imports() -> set[str]:
    names = set()
    for path in (ROOT / "netket_arnn").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "netket_arnn"}


def test_dependencies_are_exactly_the_imported_libraries_with_lower_bounds():
    declared = {}
    for requirement in PYPROJECT["project"]["dependencies"]:
        name = requirement.split(">")[0].split("<")[0].split("=")[0].strip()
        declared[name] = requirement  # every dependency here imports under its own name
    assert set(declared) == third_party_imports()
    for requirement in declared.values():
        assert ">=" in requirement, f"{requirement} has no lower bound"
