"""What both daemons share: logging set-up, signal handling, and the wait loop."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable


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
    """Block until SIGINT/SIGTERM or until ``failed()`` returns a reason; then call ``stop``.

    Returns the failure reason, or ``None`` after a signal.
    """
    done = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        logging.getLogger("fedcredit").info("received signal %d, shutting down", signum)
        done.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    reason = None
    while not done.wait(0.5):
        reason = failed()
        if reason:
            break
    stop()
    return reason
