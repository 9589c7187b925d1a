"""Runs every party of a PSI job in its own thread over a ``MemoryHub``, for the tests."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from node.data import uscc
from node.jobs.hooks import MemoryHooks
from node.psi import PsiSpec, run_psi_coordinator, run_psi_follower, run_psi_leader
from node.psi.source import IdChunks
from node.transport.channel import PartyChannel
from node.transport.memory import MemoryHub

# No test run may hang: every party thread must end within this many seconds.
JOIN_S = 60.0


def make_codes(n: int, seed: int) -> list[str]:
    """``n`` distinct valid unified social credit codes."""
    rng = random.Random(seed)
    codes: set[str] = set()
    while len(codes) < n:
        codes.add(uscc.generate(rng))
    out = sorted(codes)
    rng.shuffle(out)
    return out


@dataclass
class PsiRun:
    """What every party of one run returned or raised."""

    hub: MemoryHub
    outcome: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, MemoryHooks] = field(default_factory=dict)

    def to_coordinator(self) -> list[bytes]:
        return [c.payload for c in self.hub.captured if c.recipient == "coordinator"]


def run_job(
    spec: PsiSpec,
    ids: Mapping[str, Sequence[object] | IdChunks],
    *,
    pool: Executor | None = None,
    timeout: float = 10.0,
    wrap: Callable[[str, PartyChannel], PartyChannel] | None = None,
) -> PsiRun:
    """Run leader, followers and the coordinator role concurrently; collect their outcomes."""
    hub = MemoryHub("job-psi-test", timeout=timeout)
    run = PsiRun(hub)

    def channel(party: str) -> PartyChannel:
        ch: PartyChannel = hub.channel(party)
        return wrap(party, ch) if wrap else ch

    def party(name: str) -> None:
        hooks = run.hooks[name] = MemoryHooks()
        role = run_psi_leader if name == spec.leader else run_psi_follower
        try:
            given = ids[name]
            party_ids = given if isinstance(given, IdChunks) else list(given)
            run.outcome[name] = role(channel(name), hooks, spec, party_ids, pool)
        except Exception as exc:
            run.outcome[name] = exc

    def coordinator() -> None:
        hooks = run.hooks["coordinator"] = MemoryHooks()
        try:
            run.outcome["coordinator"] = run_psi_coordinator(
                hub.channel("coordinator"), hooks, spec
            )
        except Exception as exc:
            run.outcome["coordinator"] = exc

    threads = [
        threading.Thread(target=party, args=(p,), daemon=True)
        for p in (spec.leader, *spec.followers)
    ]
    threads.append(threading.Thread(target=coordinator, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
    assert not any(t.is_alive() for t in threads), "a PSI party hung"
    return run
