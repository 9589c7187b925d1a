"""The training benchmarks still start: their imports follow the code they measure.

A module move on main once left ``scripts/bench/model_quality.py`` importing a path that no
longer existed while every training test stayed green; running each script's ``--help`` in a
fresh interpreter catches that without running the (minutes-long) benchmark itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

# Each start is a fresh interpreter importing torch, Flower, LightGBM and scikit-learn: 4-10 s
# of CPU apiece, a fifth of the whole fast loop; CI runs them.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "script", ["model_quality.py", "vertical_lr.py", "horizontal.py", "secureboost.py"]
)
def test_bench_script_starts(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
