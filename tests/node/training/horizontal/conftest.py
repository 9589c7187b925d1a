"""Fixtures for horizontal-training tests: small real bank splits and a threaded job runner."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from node.jobs.hooks import JobHooks
from node.training.horizontal import (
    BankData,
    HorizontalSpec,
    LocalTrainer,
    parse_horizontal_spec,
    read_labelled_csv,
    run_bank,
    split_bank_data,
)
from node.training.horizontal.simulate import run_in_memory
from node.transport.memory import MemoryHub

BANKS = ("guest", "host_1", "host_2")
ROWS_PER_BANK = 900  # a slice of each bank keeps local training in the tens of milliseconds


@pytest.fixture(scope="session")
def bank_data(default_credit_dir: Path) -> dict[str, BankData]:
    """Each bank's first rows of its real homo split; the guest also holds a held-out slice."""
    x_test, y_test = read_labelled_csv(default_credit_dir / "default_credit_homo_test.csv")
    out = {}
    for bank in BANKS:
        x, y = read_labelled_csv(default_credit_dir / f"default_credit_homo_{bank}.csv")
        test = (x_test[:600], y_test[:600]) if bank == "guest" else None
        out[bank] = split_bank_data(x[:ROWS_PER_BANK], y[:ROWS_PER_BANK], 0.25, 0, test)
    return out


def small_spec(**overrides: Any) -> HorizontalSpec:
    """A 3-bank spec with a 1024-bit key: small only to keep test runtime low (never in jobs)."""
    section = {"rounds": 3, "key_bits": 1024, "quorum": 2, "round_timeout_s": 10.0, **overrides}
    return parse_horizontal_spec(section, BANKS, allow_small_key=True)


@dataclass
class JobRun:
    """Outcome of one threaded run: each party's result or the exception it ended with."""

    hub: MemoryHub
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)

    def to_coordinator(self) -> list[bytes]:
        return [c.payload for c in self.hub.captured if c.recipient == "coordinator"]


def run_job(
    spec: HorizontalSpec,
    trainers: Mapping[str, LocalTrainer],
    hooks: Mapping[str, JobHooks] | None = None,
    hub: MemoryHub | None = None,
    bank_runner: Callable[..., Any] = run_bank,
) -> JobRun:
    """Run the aggregator and every bank in its own thread over one ``MemoryHub``."""
    hub = hub or MemoryHub(timeout=30.0)
    results, errors = run_in_memory(spec, trainers, hub, hooks, bank_runner, join_timeout_s=120)
    assert not any(isinstance(e, TimeoutError) for e in errors.values()), "a party hung"
    return JobRun(hub, results, errors)


def param_bytes(params: list[np.ndarray]) -> list[bytes]:
    return [np.asarray(p).tobytes() for p in params]
