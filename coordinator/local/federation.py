"""Run a coordinator and nodes as separate local processes over loopback mutual TLS.

``prepare`` writes everything a federation needs into one folder: a CA and certificates,
synthetic SME tables with their schemas, node and coordinator configuration files. ``start``
launches each party as its own OS process and waits until all are healthy and registered;
``stop`` sends SIGTERM and waits, so no process outlives its federation; should the owning
process die without calling ``stop`` (SIGKILL), each daemon notices and shuts down on its own.
The root is made absolute at once (against the current directory), so every path written into
the generated configuration files is absolute and means the same to a daemon whatever folder
it reads its configuration from. The folder layout::

    <root>/certs/            CA, certificates and 0600 keys
    <root>/data/             synthetic tables and schemas
    <root>/config/           coordinator.yaml and one <node>.yaml per node
    <root>/state/<party>/    SQLite, access logs, checkpoints
    <root>/logs/<party>.log  each process's output
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import grpc
import yaml

from node.cli.daemon_support import ENV_STOP_WITH
from node.console.config import PORT_FILE
from node.onboarding.certificates import issue_federation_certificates
from node.pki.roles import BANK, LOAN_OFFICER
from node.transport.client import health_status, open_channel
from protos.fedcredit.v1 import coordinator_pb2, coordinator_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = REPO_ROOT / "policies"
_PORT = re.compile(r"listening on port (\d+)")
# The local federation serves a console from every process (docs/console.md), on loopback.
CONSOLE: Final = {"listen": "127.0.0.1:0"}


@dataclass(frozen=True)
class PartySpec:
    """One node of the local federation: its id, role, organization and datasets."""

    node_id: str
    role: str
    organization: str
    # dataset name -> (table path, schema path, PSI id field or None)
    datasets: Mapping[str, tuple[Path, Path, str | None]] = field(default_factory=dict)
    policy: Path | None = None
    scoring: Mapping[str, Any] | None = None  # the node's ``scoring:`` section, if any
    monitoring: Mapping[str, Any] | None = None  # its ``monitoring:`` section, if any


class FederationError(RuntimeError):
    """A local party did not start, or did not become healthy and registered in time."""


class LocalFederation:
    """A coordinator plus nodes on loopback, each a child process."""

    # the modules each party runs as (``python -m MODULE --config FILE``)
    coordinator_module = "coordinator.cli.daemon"
    node_module = "node.cli.node_daemon"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.certs = self.root / "certs"
        self.parties: list[PartySpec] = []
        self.coordinator_port: int | None = None
        # Every coordinator address a node is configured with (an active one and standbys);
        # empty: just the one coordinator this federation started.
        self.coordinator_addresses: list[str] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        # exit codes of processes that ended before ``stop`` (e.g. failed to start)
        self._ended: dict[str, int] = {}
        self.node_ports: dict[str, int] = {}

    # preparation -----------------------------------------------------------------------

    def prepare_certificates(self, parties: Sequence[PartySpec]) -> None:
        """CA, coordinator, operator and auditor certificates, and one per node; for the
        consoles, a staff certificate per node (``<node>-staff``: its role and organization)
        and a loan officer's per bank (``<node>-officer``)."""
        people = [(f"{p.node_id}-staff", p.role, p.organization) for p in parties]
        people += [(f"{p.node_id}-officer", LOAN_OFFICER, p.organization)
                   for p in parties if p.role == BANK]  # fmt: skip
        issue_federation_certificates(
            self.certs, [(p.node_id, p.role, p.organization) for p in parties] + people
        )

    def prepare(self, parties: Sequence[PartySpec]) -> None:
        """Write certificates and configuration for ``parties`` (their data must exist)."""
        self.parties = list(parties)
        self.prepare_certificates(parties)
        config = self.root / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "coordinator.yaml").write_text(
            yaml.safe_dump(
                {
                    "certs": {"dir": str(self.certs), "name": "coordinator"},
                    "listen": "127.0.0.1:0",
                    "state_dir": str(self.root / "state" / "coordinator"),
                    "party_wait_s": 30,
                    "console": CONSOLE,
                }
            )
        )

    def add_dataset(self, node_id: str, name: str, table: Path, schema: Path) -> None:
        """Serve one more dataset at ``node_id`` (from its next start): a file the node wrote
        itself once the federation was prepared, such as its early-warning table."""
        self.parties = [
            replace(p, datasets={**p.datasets, name: (table, schema, None)})
            if p.node_id == node_id
            else p
            for p in self.parties
        ]

    def _write_node_config(self, p: PartySpec) -> Path:
        path = self.root / "config" / f"{p.node_id}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "node_id": p.node_id,
                    "certs": {"dir": str(self.certs), "name": p.node_id},
                    "coordinator": self.coordinator_addresses
                    or f"127.0.0.1:{self.coordinator_port}",
                    "listen": "127.0.0.1:0",
                    "state_dir": str(self.root / "state" / p.node_id),
                    "policy": str((p.policy or POLICY_DIR / f"{p.role}.yaml").resolve()),
                    "checkpoint_interval_s": 5,
                    "console": CONSOLE,
                    "datasets": {
                        name: {
                            "path": str(table.resolve()),
                            "schema": str(schema.resolve()),
                            **({"psi_id_field": psi} if psi else {}),
                        }
                        for name, (table, schema, psi) in p.datasets.items()
                    },
                    **({"scoring": dict(p.scoring)} if p.scoring else {}),
                    **({"monitoring": dict(p.monitoring)} if p.monitoring else {}),
                }
            )
        )
        return path

    # processes -------------------------------------------------------------------------

    def _spawn(self, name: str, module: str, config: Path, timeout: float) -> int:
        self._launch(name, module, config)
        return self._port_of(name, time.monotonic() + timeout)

    def _launch(self, name: str, module: str, config: Path) -> None:
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{name}.log").open("ab") as out:  # the child keeps its own descriptor
            self._procs[name] = subprocess.Popen(
                [sys.executable, "-m", module, "--config", str(config)],
                stdout=subprocess.PIPE,
                stderr=out,
                cwd=REPO_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", ENV_STOP_WITH: str(os.getpid())},
            )
        self._ended.pop(name, None)

    def _port_of(self, name: str, deadline: float) -> int:
        """The port a launched party says it listens on; it is stopped if it does not say."""
        proc = self._procs[name]
        assert proc.stdout is not None
        line = b""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            match = _PORT.search(line.decode(errors="replace"))
            if match:
                return int(match.group(1))
        self._procs.pop(name)
        if proc.poll() is None:
            proc.kill()
        self._ended[name] = proc.wait()
        proc.stdout.close()
        log_path = self.root / "logs" / f"{name}.log"
        reason = _last_line(log_path) or "it printed nothing"
        raise FederationError(
            f"{name} did not start (exit {self._ended[name]}): {reason} (log: {log_path})"
        )

    def start_coordinator(self, timeout: float = 30.0) -> int:
        config = self.root / "config" / "coordinator.yaml"
        if self.coordinator_port is not None:
            raw = yaml.safe_load(config.read_text())
            raw["listen"] = f"127.0.0.1:{self.coordinator_port}"
            config.write_text(yaml.safe_dump(raw))
        self.coordinator_port = self._spawn("coordinator", self.coordinator_module, config, timeout)
        return self.coordinator_port

    def write_node_config(self, node_id: str) -> Path:
        """Write ``node_id``'s config (pointing at the running coordinator); return its path."""
        return self._write_node_config(next(p for p in self.parties if p.node_id == node_id))

    def pid(self, name: str) -> int:
        """Process id of a party this federation started."""
        return self._procs[name].pid

    def start_node(self, node_id: str, timeout: float = 60.0) -> int:
        config = self.write_node_config(node_id)
        self.node_ports[node_id] = self._spawn(node_id, self.node_module, config, timeout)
        return self.node_ports[node_id]

    def start(self, timeout: float = 90.0) -> None:
        """Start the coordinator, then every node at once (each loads its data meanwhile);
        wait until all are registered and online."""
        self.start_coordinator()
        for p in self.parties:
            self._launch(p.node_id, self.node_module, self.write_node_config(p.node_id))
        deadline = time.monotonic() + 60.0 * len(self.parties)
        for p in self.parties:
            self.node_ports[p.node_id] = self._port_of(p.node_id, deadline)
        self.wait_online([p.node_id for p in self.parties], timeout)

    def stop_party(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Stop one party and return its exit code (also when it had already ended)."""
        return self._stop_parties([name], sig, timeout)[name]

    def _stop_parties(
        self, names: Sequence[str], sig: int = signal.SIGTERM, timeout: float = 60.0
    ) -> dict[str, int]:
        """Signal every party in ``names`` first, then wait for each: a node takes about a
        second to drain its calls and close its logs, and nodes stopped one after another
        would add those seconds up."""
        procs = {name: self._procs.pop(name, None) for name in names}
        for proc in procs.values():
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        codes: dict[str, int] = {}
        for name, proc in procs.items():
            if proc is None:
                codes[name] = self._ended.pop(name, 0)
                continue
            try:
                proc.wait(max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
            codes[name] = int(proc.returncode)
        return codes

    def stop(self) -> dict[str, int]:
        """Stop nodes first (all at once), then the coordinator; return each process's exit
        code."""
        nodes = [n for n in dict.fromkeys([*self._procs, *self._ended]) if n != "coordinator"]
        codes = self._stop_parties(nodes)
        codes["coordinator"] = self.stop_party("coordinator")
        return codes

    def running(self) -> list[str]:
        return [n for n, p in self._procs.items() if p.poll() is None]

    def __enter__(self) -> LocalFederation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # operator view ---------------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.coordinator_port}"

    def channel(self, name: str = "operator") -> grpc.Channel:
        """A channel to the coordinator presenting the ``name`` certificate."""
        return open_channel(self.address, self.certs, name)

    def coordinator(self, name: str = "operator") -> coordinator_pb2_grpc.CoordinatorStub:
        return coordinator_pb2_grpc.CoordinatorStub(self.channel(name))

    def console_url(self, name: str) -> str:
        """``https://127.0.0.1:PORT`` of party ``name``'s console (once it has started)."""
        port = (self.root / "state" / name / PORT_FILE).read_text().strip()
        return f"https://127.0.0.1:{port}"

    def health(self) -> str:
        with self.channel() as ch:
            return health_status(ch)

    def wait_online(self, node_ids: Sequence[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        online: set[str] = set()
        with self.channel() as ch:
            stub = coordinator_pb2_grpc.CoordinatorStub(ch)
            while time.monotonic() < deadline:
                try:
                    nodes = stub.ListNodes(coordinator_pb2.ListNodesRequest(), timeout=5).nodes
                    online = {n.node_id for n in nodes if n.online}
                    if set(node_ids) <= online:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        raise FederationError(
            f"nodes not online after {timeout}s: {sorted(set(node_ids) - online)}"
        )

    def submit(self, spec_yaml: str, job_id: str = "", as_: str = "operator") -> str:
        with self.channel(as_) as ch:
            status = coordinator_pb2_grpc.CoordinatorStub(ch).SubmitJob(
                coordinator_pb2.SubmitJobRequest(spec_yaml=spec_yaml.encode(), job_id=job_id),
                timeout=15,
            )
        return status.job_id

    def wait_job(self, job_id: str, timeout: float = 600.0) -> coordinator_pb2.JobStatus:
        deadline = time.monotonic() + timeout
        with self.channel() as ch:
            stub = coordinator_pb2_grpc.CoordinatorStub(ch)
            while time.monotonic() < deadline:
                try:
                    status = stub.GetJob(coordinator_pb2.GetJobRequest(job_id=job_id), timeout=5)
                    if status.state in ("succeeded", "failed", "cancelled"):
                        return status
                except grpc.RpcError:
                    pass  # the coordinator may be restarting
                time.sleep(0.2)
        raise FederationError(f"job {job_id} did not finish within {timeout}s")


def _last_line(log: Path) -> str:
    """The daemon's own last word: its one-line reason when it refused to start."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "")
