"""Run every role of a horizontal job in one process over a ``MemoryHub`` (tests, benchmarks).

Each bank and the aggregator run in their own thread, exactly as they would in their own node;
the hub records every message, which is what the tests inspect. Errors are collected per party,
not raised, so a caller can assert on how each role ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from node.jobs.hooks import JobHooks, MemoryHooks
from node.training.horizontal.aggregator import run_aggregator
from node.training.horizontal.bank import run_bank
from node.training.horizontal.spec import HorizontalSpec
from node.training.horizontal.trainer import LocalTrainer
from node.transport.memory import MemoryHub

COORDINATOR = "coordinator"


def run_in_memory(
    spec: HorizontalSpec,
    trainers: Mapping[str, LocalTrainer],
    hub: MemoryHub | None = None,
    hooks: Mapping[str, JobHooks] | None = None,
    bank_runner: Callable[..., Any] = run_bank,
    join_timeout_s: float | None = None,
) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """Run the aggregator and every bank; return ``(results, errors)`` keyed by party.

    ``bank_runner`` replaces ``run_bank`` (tests inject faulty banks); a thread still running
    after ``join_timeout_s`` is reported as a ``TimeoutError`` for its party.
    """
    hub = hub or MemoryHub(timeout=600.0)
    hooks = dict(hooks or {})
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}

    def role(party: str, fn: Callable[[], Any]) -> None:
        try:
            results[party] = fn()
        except BaseException as exc:  # collected and reported to the caller
            errors[party] = exc

    parties: dict[str, Callable[[], Any]] = {
        COORDINATOR: lambda: run_aggregator(
            hub.channel(COORDINATOR), hooks.get(COORDINATOR, MemoryHooks()), spec
        )
    }

    def bank_role(bank: str, trainer: LocalTrainer) -> Any:
        return bank_runner(hub.channel(bank), hooks.get(bank, MemoryHooks()), spec, trainer)

    for bank, trainer in trainers.items():
        parties[bank] = partial(bank_role, bank, trainer)
    threads = {
        party: threading.Thread(target=role, args=(party, fn), name=f"hfl-{party}", daemon=True)
        for party, fn in parties.items()
    }
    for thread in threads.values():
        thread.start()
    for party, thread in threads.items():
        thread.join(timeout=join_timeout_s)
        if thread.is_alive():
            errors[party] = TimeoutError(f"{party} did not finish in {join_timeout_s} s")
    return results, errors
