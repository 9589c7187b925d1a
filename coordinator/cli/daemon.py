"""``fedcredit-coordinator``: run the coordinator from its configuration file until signalled."""

from __future__ import annotations

import functools
import sys

from coordinator.runtime.config import load_coordinator_config
from coordinator.runtime.server import CoordinatorServer
from node.cli.daemon_support import daemon_arguments, refuse_to_start, serve_until_signalled
from node.cli.exit_codes import ExitCode
from node.cli.guard import run_guarded
from node.pki import PkiError
from node.runtime.config import ConfigError
from node.runtime.state_lock import StateDirInUse, StateLock
from node.telemetry.setup import configure_tracing

_refuse = functools.partial(refuse_to_start, "fedcredit-coordinator")


def main(argv: list[str] | None = None) -> int:
    return run_guarded(lambda: _run(argv), "fedcredit-coordinator")


def _run(argv: list[str] | None) -> int:
    args = daemon_arguments("fedcredit-coordinator", "Run the fedcredit coordinator.", argv)
    try:
        config = load_coordinator_config(args.config)
        lock = StateLock.acquire(config.state_dir)
        provider = configure_tracing("fedcredit-coordinator", config.state_dir / "traces.jsonl")
        server = CoordinatorServer(config)
    except ConfigError as exc:
        return _refuse(ExitCode.CONFIG, f"configuration error: {exc}")
    except PkiError as exc:
        return _refuse(ExitCode.CERTIFICATE, f"certificate problem: {exc}")
    except StateDirInUse as exc:
        return _refuse(ExitCode.STATE_IN_USE, str(exc))
    server.start()
    print(f"fedcredit-coordinator listening on port {server.port}", flush=True)
    serve_until_signalled(server.stop, lambda: None)
    provider.shutdown()
    lock.release()
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
