"""``fedcredit-node``: run a node from its configuration file until signalled."""

from __future__ import annotations

import functools
import logging
import sys

from node.cli.daemon_support import daemon_arguments, refuse_to_start, serve_until_signalled
from node.cli.exit_codes import ExitCode
from node.cli.guard import run_guarded
from node.data.exceptions import DatasetError
from node.pki import PkiError
from node.policy import PolicyError
from node.runtime.config import ConfigError, load_node_config
from node.runtime.node_process import NodeProcess
from node.runtime.state_lock import StateDirInUse
from node.state import private_file, restrict_new_files
from node.telemetry.setup import configure_telemetry

log = logging.getLogger("fedcredit.node")


_refuse = functools.partial(refuse_to_start, "fedcredit-node")


def main(argv: list[str] | None = None) -> int:
    return run_guarded(lambda: _run(argv), "fedcredit-node")


def _run(argv: list[str] | None) -> int:
    args = daemon_arguments("fedcredit-node", "Run a fedcredit node beside its data.", argv)
    try:
        config = load_node_config(args.config)
        restrict_new_files()
        provider = configure_telemetry(
            f"fedcredit-node/{config.node_id}", private_file(config.state_dir / "traces.jsonl")
        )
        node = NodeProcess(config)
    except ConfigError as exc:
        return _refuse(ExitCode.CONFIG, f"configuration error: {exc}")
    except DatasetError as exc:
        return _refuse(ExitCode.DATA, f"dataset refused: {exc}")
    except PolicyError as exc:
        return _refuse(ExitCode.POLICY, f"policy refused: {exc}")
    except PkiError as exc:
        return _refuse(ExitCode.CERTIFICATE, f"certificate problem: {exc}")
    except StateDirInUse as exc:
        return _refuse(ExitCode.STATE_IN_USE, str(exc))
    node.start()
    print(f"fedcredit-node {node.config.node_id} listening on port {node.port}", flush=True)
    reason = serve_until_signalled(node.stop, lambda: node.link.fatal)
    provider.shutdown()
    if reason:
        return _refuse(ExitCode.REFUSED_BY_COORDINATOR, reason)
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
