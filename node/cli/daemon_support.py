"""What both daemons share: logging set-up, signal handling, and the wait loop."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from node.compute.lifeline import on_exit_of

# A supervisor that starts a daemon (the local federation, a test) names itself here, so the
# daemon shuts down cleanly when the supervisor ends, even by SIGKILL.
ENV_STOP_WITH = "FEDCREDIT_STOP_WITH_PID"


def daemon_arguments(prog: str, description: str, argv: list[str] | None) -> argparse.Namespace:
    """``--config`` and ``--log-level``, parsed, with logging set up from them."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", required=True, help="configuration YAML")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    return args


def setup_logging(level: str) -> None:
    """Log to stderr; only entry points configure handlers, never library modules."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def serve_until_signalled(stop: Callable[[], None], failed: Callable[[], str | None]) -> str | None:
    """Block until SIGINT/SIGTERM, the end of the ``$FEDCREDIT_STOP_WITH_PID`` process, or until
    ``failed()`` returns a reason; then call ``stop``.

    Returns the failure reason, or ``None`` after a signal.
    """
    done = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        logging.getLogger("fedcredit").info("received signal %d, shutting down", signum)
        done.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    supervisor = os.environ.get(ENV_STOP_WITH)
    if supervisor:

        def orphaned() -> None:
            logging.getLogger("fedcredit").info(
                "supervising process %s ended, shutting down", supervisor
            )
            done.set()

        if not on_exit_of(int(supervisor), orphaned):
            orphaned()
    reason = None
    while not done.wait(0.5):
        reason = failed()
        if reason:
            break
    stop()
    return reason


def refuse_to_start(prog: str, code: int, message: str) -> int:
    """Say in one line on stderr why the daemon stops; return its exit code."""
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
    return code
