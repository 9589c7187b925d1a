"""``fedcredit-coordinator``: run the coordinator from its configuration file until signalled."""

from __future__ import annotations

import functools
import signal
import sys
import threading

from coordinator.runtime.config import load_coordinator_config
from coordinator.runtime.lease import lease_for
from coordinator.runtime.server import CoordinatorServer
from coordinator.state.database import DatabaseUnavailable
from coordinator.state.migrations import SchemaTooNew
from node.cli.daemon_support import daemon_arguments, refuse_to_start, serve_until_signalled
from node.cli.exit_codes import ExitCode
from node.cli.guard import run_guarded
from node.pki import PkiError
from node.runtime.config import ConfigError
from node.runtime.state_lock import StateDirInUse, StateLock
from node.state import private_dir, private_file, restrict_new_files
from node.telemetry.setup import configure_telemetry

_refuse = functools.partial(refuse_to_start, "fedcredit-coordinator")


def main(argv: list[str] | None = None) -> int:
    return run_guarded(lambda: _run(argv), "fedcredit-coordinator")


def _run(argv: list[str] | None) -> int:
    args = daemon_arguments("fedcredit-coordinator", "Run the fedcredit coordinator.", argv)
    try:
        config = load_coordinator_config(args.config)
        restrict_new_files()
        lock = StateLock.acquire(private_dir(config.state_dir))
        lease = lease_for(config.state_url)
        if not lease.acquire(_stop_on_signal()):
            lock.release()
            return ExitCode.OK  # stopped while standing by
        traces = private_file(config.state_dir / "traces.jsonl")
        provider = configure_telemetry("fedcredit-coordinator", traces)
        server = CoordinatorServer(config)
    except (DatabaseUnavailable, SchemaTooNew) as exc:
        return _refuse(ExitCode.STATE_UNAVAILABLE, str(exc))
    except ConfigError as exc:
        return _refuse(ExitCode.CONFIG, f"configuration error: {exc}")
    except PkiError as exc:
        return _refuse(ExitCode.CERTIFICATE, f"certificate problem: {exc}")
    except StateDirInUse as exc:
        return _refuse(ExitCode.STATE_IN_USE, str(exc))
    server.start()
    print(f"fedcredit-coordinator listening on port {server.port}", flush=True)
    lost = serve_until_signalled(
        server.stop, lambda: None if lease.held() else "lost the coordinator lease"
    )
    provider.shutdown()
    lease.release()
    lock.release()
    if lost:
        print(f"fedcredit-coordinator: {lost}; a standby takes over", file=sys.stderr, flush=True)
        return ExitCode.LEASE_LOST
    return ExitCode.OK


def _stop_on_signal() -> threading.Event:
    """An event set by SIGINT/SIGTERM, so a standby waiting for the lease stops when told."""
    stop = threading.Event()

    def handle(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop


if __name__ == "__main__":
    sys.exit(main())
