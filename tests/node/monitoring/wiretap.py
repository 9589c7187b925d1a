"""Run a coordinator or node daemon that also writes down what it relays or opens.

The cross-process monitoring test starts its parties through this module so it can check
what actually crossed the wire: the coordinator records every scoring-service envelope it
relays (the route it reads and the sealed bytes, all it ever holds of them), and each node
records the payload of every scoring-service envelope it opened (what its peer told it).
Nothing is changed on the way: the daemon's own ``main`` runs, with the relay's ``push`` and
the sealer's ``open`` wrapped to append one JSON line each to ``<root>/wire/<party>.jsonl``.

    python -m tests.node.monitoring.wiretap --config <root>/config/<party>.yaml
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

SERVICE_JOB = "svc/scoring"  # monitoring rides the scoring service's envelopes


def _recorder(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    def record(entry: dict[str, str]) -> None:
        with lock, path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")

    return record


def _tap_node(record: Any) -> None:
    from node.transport.relay_channel import Opened
    from node.transport.sealing import DirectorySealer

    opened_by = DirectorySealer.open

    def open_and_record(self: DirectorySealer, sealed: bytes) -> Opened:
        opened = opened_by(self, sealed)
        if opened.job_key == SERVICE_JOB:
            record({"from": opened.sender, "topic": opened.topic,
                    "payload": opened.payload.decode()})  # fmt: skip
        return opened

    DirectorySealer.open = open_and_record  # type: ignore[method-assign]


def _tap_coordinator(record: Any) -> None:
    from coordinator.servicer.relay import Relay
    from node.transport.sealing import peek_route
    from protos.fedcredit.v1 import coordinator_pb2

    pushed_by = Relay.push

    def push_and_record(self: Relay, node_id: str, event: coordinator_pb2.NodeEvent) -> None:
        if event.HasField("envelope"):
            sender, recipient, job = peek_route(event.envelope.sealed)
            if job == SERVICE_JOB:
                record({"from": sender, "to": recipient, "job": job,
                        "sealed": base64.b64encode(event.envelope.sealed).decode()})  # fmt: skip
        pushed_by(self, node_id, event)

    Relay.push = push_and_record  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    raw = yaml.safe_load(Path(argv[argv.index("--config") + 1]).read_text())
    party = str(raw.get("node_id") or "coordinator")
    root = Path(raw["state_dir"]).parents[1]  # <root>/state/<party>
    record = _recorder(root / "wire" / f"{party}.jsonl")
    if party == "coordinator":
        _tap_coordinator(record)
        from coordinator.cli.daemon import main as run
    else:
        _tap_node(record)
        from node.cli.node_daemon import main as run
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
