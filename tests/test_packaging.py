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


def test_the_shared_checks_are_a_leaf_and_every_module_imports_on_its_own():
    import ast
    import subprocess
    import sys
    from pathlib import Path

    import netket_arnn

    source = Path(netket_arnn.__file__).with_name("_validation.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("netket_arnn"), ast.dump(node)
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("netket_arnn") for a in node.names)
    # no import cycle that only an import order hides: the two packages that refer to each other
    # (sampling keeps its samples in data's datasets, data re-exports the samplers), each first
    for module in ("sampling", "data"):
        code = f"import netket_arnn.{module}; import netket_arnn; netket_arnn.data.sample_boltzmann"
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
