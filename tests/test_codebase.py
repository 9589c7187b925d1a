"""House rules the whole tree keeps: lint and format clean, types checked, every package has an
__init__."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("node", "coordinator", "protos")
PYTHON_PATHS = ("node", "coordinator", "protos", "scripts", "tests")


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.fail("ruff is not installed; install the dev extra (scripts/test.sh does)")
    return subprocess.run([ruff, *args], cwd=REPO, capture_output=True, text=True, check=False)


def test_ruff_check_is_clean() -> None:
    result = _ruff("check", *PYTHON_PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _ruff("format", "--check", *PYTHON_PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # a minute or more from a cold cache
@pytest.mark.timeout(1200)
def test_mypy_strict_is_clean() -> None:
    """``mypy --strict`` on node and coordinator (settings in pyproject.toml's [tool.mypy])."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_every_package_folder_has_an_init() -> None:
    missing = [
        str(d.relative_to(REPO))
        for top in PACKAGES
        for d in [REPO / top, *(REPO / top).rglob("*")]
        if d.is_dir()
        and d.name != "__pycache__"
        and any(d.glob("*.py"))  # templates and static files are data, not packages
        and not (d / "__init__.py").exists()
    ]
    assert missing == []
