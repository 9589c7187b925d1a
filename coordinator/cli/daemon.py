"""``fedcredit-coordinator``: run the coordinator from its configuration file until signalled."""

from __future__ import annotations

import sys

from coordinator.runtime.config import load_coordinator_config
from coordinator.runtime.server import CoordinatorServer
from node.cli.daemon_support import daemon_arguments, serve_until_signalled
from node.cli.exit_codes import ExitCode
from node.pki import PkiError
from node.runtime.config import ConfigError
from node.state import private_file, restrict_new_files
from node.telemetry.setup import configure_tracing


def main(argv: list[str] | None = None) -> int:
    args = daemon_arguments("fedcredit-coordinator", "Run the fedcredit coordinator.", argv)
    try:
        config = load_coordinator_config(args.config)
        restrict_new_files()
        traces = private_file(config.state_dir / "traces.jsonl")
        provider = configure_tracing("fedcredit-coordinator", traces)
        server = CoordinatorServer(config)
    except ConfigError as exc:
        print(f"fedcredit-coordinator: configuration error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    except PkiError as exc:
        print(f"fedcredit-coordinator: certificate problem: {exc}", file=sys.stderr)
        return ExitCode.CERTIFICATE
    server.start()
    print(f"fedcredit-coordinator listening on port {server.port}", flush=True)
    serve_until_signalled(server.stop, lambda: None)
    provider.shutdown()
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
