"""The traceability benchmark runs end to end at a small size and ends with its JSON figures.

Its imports follow the code it measures (a module move on main must not leave it broken), and
the figures the issue asks for are all in the last line. Small sizes only: the figures
themselves come from a full run (docs/governance.md, section 6).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ATTACKS = ("subset_10pct", "reorder", "drop_columns", "noise_30pct", "format_change", "collusion_2")

pytestmark = pytest.mark.slow


def test_a_small_run_prints_every_figure_last() -> None:
    small = ["--recipients", "4", "--rows", "800", "--trials", "3", "--innocent", "10",
             "--principals", "4", "--days", "8", "--attacks", "1", "--no-live"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench" / "traceability.py"), *small],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(ATTACKS) <= set(figures["trace_accuracy"])
    assert figures["trace_accuracy"]["as_released"] == 1.0
    assert figures["false_accusations"] == 0 and figures["never_released_leaks"] == 10
    for key in ("embed_rows_per_s", "detection_rate", "false_alarm_rate", "utility"):
        assert key in figures
    assert figures["seconds_to_containment"] is None  # --no-live
