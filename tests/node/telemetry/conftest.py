"""The OpenTelemetry SDK as a daemon installs it, once for this test process."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from node.telemetry.setup import Telemetry, configure_telemetry, installed


@pytest.fixture(scope="session")
def telemetry(tmp_path_factory: pytest.TempPathFactory) -> Telemetry:
    """The process's providers (global, so installed once: later calls return the first)."""
    return installed() or configure_telemetry(
        "fedcredit-test", tmp_path_factory.mktemp("telemetry") / "traces.jsonl"
    )


@pytest.fixture()
def finished_spans(telemetry: Telemetry) -> Callable[[], list[dict[str, Any]]]:
    """Flush the batch processor and read every span exported so far, as JSON objects."""

    def read() -> list[dict[str, Any]]:
        telemetry.tracer_provider.force_flush()
        lines = telemetry.traces.read_text().splitlines()
        return [json.loads(line) for line in lines]

    return read
