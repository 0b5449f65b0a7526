"""The architecture is enforced, not hoped for: import contracts, types, lint, no import cycles,
short functions in the write path. Each check runs the real tool on the real tree."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "corral"
BIN = Path(sys.executable).parent
MAX_FUNCTION_LINES = 60


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_import_contracts_hold() -> None:
    """Layers, only storage talks SQL, only api knows Starlette, only api renders Zoho JSON."""
    out = _run(_tool("lint-imports"), "--no-cache")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_is_clean() -> None:
    """The whole package type-checks; records/, storage/, auth/, jobs/ under --strict."""
    out = _run(_tool("mypy"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_is_clean() -> None:
    out = _run(_tool("ruff"), "check", "src", "tests", "scripts", "bench")
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_import_cycles() -> None:
    """No module imports one that (directly or not) imports it back."""
    graph = grimp.build_graph("corral")
    cycles = sorted({tuple(sorted((m, n))) for m in graph.modules
                     for n in graph.find_modules_directly_imported_by(m)
                     if graph.chain_exists(importer=n, imported=m)})
    assert cycles == []


def _long_functions(folder: Path) -> list[str]:
    out = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{path.relative_to(folder)}:{node.lineno} {node.name} "
                               f"({length} lines)")
    return out


def test_write_path_functions_are_short() -> None:
    assert _long_functions(SRC / "records") == []


def test_the_length_check_can_fail(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(f"def too_long():\n{body}\n")
    assert _long_functions(tmp_path) == [f"m.py:1 too_long ({MAX_FUNCTION_LINES + 1} lines)"]
