"""The package's layers import only downward (ARCHITECTURE.md): a module that reaches up, or into a peer
layer, fails here with the import named. Light commands stay light: `epictl --help` and `epictl table`
load no Numba, SciPy or torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import epictl

PACKAGE = Path(epictl.__file__).parent
# Lowest first; a module may import its own layer's modules and any lower layer. Layers on one rank are
# peers that never import each other (agents act on spaces, not on envs).
RANKS = {
    "errors": 0, "atomic": 0, "paths": 0, "spaces": 0,
    "sim": 1,
    "rewards": 2, "budgets": 2,
    "envs": 3, "agents": 3,
    "report": 4,
    "rebuild": 5, "calibration": 5,
    "runners": 6,
    "config": 7, "validation": 7,
    "app": 8, "gym_ids": 8,
    "cli": 9,
    "__main__": 10,
}


def layer_of(module: str) -> str:
    """``epictl.sim.grid.kernels`` -> ``sim``."""
    return module.split(".")[1] if "." in module else module


def epictl_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported epictl module) for every import in the file, lazy ones inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("epictl."):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("epictl.")]
    return found


def test_every_module_belongs_to_a_layer():
    unknown = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.rglob("*.py")} - set(RANKS)
    assert not unknown - {"__init__"}, f"add {sorted(unknown)} to RANKS (and to ARCHITECTURE.md's layer table)"


def test_no_module_imports_a_layer_above_or_beside_it():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue
        layer = parts[0]
        for line, module in epictl_imports(path):
            target = layer_of(module)
            if target != layer and RANKS[target] >= RANKS[layer]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({layer}) imports {module} ({target})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_layer_check_catches_an_upward_import(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("def f():\n    from epictl.runners.checkpoint import restore_agent\n")
    assert epictl_imports(module) == [(2, "epictl.runners.checkpoint")]
    assert RANKS[layer_of("epictl.runners.checkpoint")] > RANKS["agents"]


def heavy_modules_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint('loaded:', *(m for m in ('numba', 'scipy', 'torch') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return result.stdout.rsplit("loaded:", 1)[1].split()


def test_help_and_table_load_no_kernels_or_torch(tmp_path):
    assert heavy_modules_after("from epictl.cli import main\nmain(['--help'])") == []
    table = f"""
from epictl.cli import main
try:
    main(['table', 'runs=[{tmp_path}/none]', 'hydra.run.dir={tmp_path}/table'])
except SystemExit:
    pass
"""
    assert heavy_modules_after(table) == []
