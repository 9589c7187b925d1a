"""The last line of defence of every fedcredit command: one clear line, never a traceback.

Commands turn the failures they expect into a message and an exit code themselves. Whatever
still escapes reaches :func:`run_guarded`, which prints one line naming the problem (and, for
the project's own error types, the fix their message carries) and exits with the code
:mod:`node.cli.exit_codes` assigns to that kind of failure. Set ``FEDCREDIT_DEBUG=1`` to get
the traceback instead, for a bug report.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import grpc

from node.cli.exit_codes import ExitCode
from node.data.exceptions import DatasetError
from node.jobs.exceptions import JobError, public_message
from node.pki import PkiError
from node.policy import PolicyError
from node.runtime.config import ConfigError

DEBUG_ENV = "FEDCREDIT_DEBUG"
T = TypeVar("T")

# Most specific first: the first matching class decides the exit code.
KNOWN: Mapping[type[BaseException], ExitCode] = {
    ConfigError: ExitCode.CONFIG,
    DatasetError: ExitCode.DATA,
    PolicyError: ExitCode.POLICY,
    PkiError: ExitCode.CERTIFICATE,
    JobError: ExitCode.USAGE,
}


def explain(
    exc: BaseException, known: Mapping[type[BaseException], ExitCode] = KNOWN
) -> tuple[ExitCode, str]:
    """The exit code and the one line to print for an exception nobody handled."""
    for kind, code in {**known, **KNOWN}.items():
        if isinstance(exc, kind):
            return code, str(exc)
    if isinstance(exc, grpc.RpcError):
        code_name = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
        details = exc.details() if hasattr(exc, "details") else ""
        fix = (
            "; check --coordinator HOST:PORT and that the coordinator runs"
            if code_name in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
            else ""
        )
        return ExitCode.FAILED, f"refused ({code_name}): {details}{fix}"
    if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        return ExitCode.USAGE, f"cannot read {exc.filename}: {exc.strerror}; check the path"
    return ExitCode.FAILED, (
        f"unexpected error ({public_message(exc)}) at {_where(exc)}; "
        f"set {DEBUG_ENV}=1 for the traceback and report it"
    )


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "an unknown place"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def run_guarded(
    entry: Callable[[], T],
    prog: str,
    known: Mapping[type[BaseException], ExitCode] | None = None,
) -> T:
    """Run a command's entry point and return what it returns; an escaping exception becomes
    one line on stderr and an exit code.

    ``known`` adds the caller's own error types (a package of ``coordinator/`` cannot be
    imported here) whose message already names the fix.
    """
    try:
        return entry()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        code, line = explain(exc, known or {})
        print(f"{prog}: {line}", file=sys.stderr, flush=True)
        sys.exit(int(code))
