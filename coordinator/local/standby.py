"""An active coordinator and a standby on one PostgreSQL database, as local processes.

``CoordinatorPair`` writes one configuration per coordinator (its own state folder and fixed
port, the shared ``state.url``), starts the first and waits until it serves, then starts the
second, which stands by until the first lets go of the lease. The federation's nodes are
configured with both addresses. Used by the failover test and the scale benchmark.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from coordinator.local.federation import REPO_ROOT, FederationError, LocalFederation

SERVING = "listening on port"


class _Coordinator:
    """One coordinator process and the moment it started serving (None while standing by)."""

    def __init__(self, name: str, config: Path, log: Path) -> None:
        self.name = name
        self.serving_at: float | None = None
        self.serving = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coordinator.cli.daemon", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
            cwd=REPO_ROOT,
        )
        threading.Thread(target=self._watch, name=f"{name}-stdout", daemon=True).start()

    def _watch(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if SERVING in line.decode(errors="replace") and not self.serving.is_set():
                self.serving_at = time.monotonic()
                self.serving.set()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


class CoordinatorPair:
    """Two coordinators of ``fed`` sharing ``state_url``; ``active`` serves, the other waits."""

    def __init__(self, fed: LocalFederation, state_url: str) -> None:
        self.fed, self.state_url = fed, state_url
        self.ports = (_free_port(), _free_port())
        self._procs: list[_Coordinator] = []
        fed.coordinator_addresses = [f"127.0.0.1:{port}" for port in self.ports]

    def _config(self, index: int) -> Path:
        path = self.fed.root / "config" / f"coordinator-{index}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "certs": {"dir": str(self.fed.certs), "name": "coordinator"},
                    "listen": f"127.0.0.1:{self.ports[index]}",
                    "state_dir": str(self.fed.root / "state" / f"coordinator-{index}"),
                    "state": {"url": self.state_url},
                    "party_wait_s": 30,
                }
            )
        )
        return path

    def start(self, timeout: float = 120.0) -> None:
        """Start the first coordinator, wait until it serves, then start the standby."""
        logs = self.fed.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for index in range(2):
            self._procs.append(
                _Coordinator(f"coordinator-{index}", self._config(index), logs / f"c{index}.log")
            )
            if index == 0 and not self._procs[0].serving.wait(timeout):
                raise FederationError("the first coordinator did not start serving")
        self.fed.coordinator_port = self.ports[0]

    @property
    def active(self) -> int:
        """Index of the coordinator serving now (the one that started serving last)."""
        serving = [(c.serving_at, i) for i, c in enumerate(self._procs) if c.serving_at]
        return max(serving)[1]

    def kill_active(self) -> float:
        """SIGKILL the serving coordinator (no goodbye); return the moment it died."""
        victim = self._procs[self.active]
        victim.proc.kill()
        victim.proc.wait()
        return time.monotonic()

    def wait_takeover(self, timeout: float = 120.0) -> float:
        """Wait until the standby serves; point the federation at it; return the moment."""
        standby = next(c for c in self._procs if c.proc.poll() is None)
        if not standby.serving.wait(timeout):
            raise FederationError(f"the standby did not take over within {timeout}s")
        self.fed.coordinator_port = self.ports[self._procs.index(standby)]
        assert standby.serving_at is not None
        return standby.serving_at

    def stop(self) -> dict[str, int]:
        return {c.name: c.stop() for c in self._procs}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
