"""Named process exit codes of the fedcredit daemons and tools (ranges by cause)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """0 success; 2-9 configuration and input; 10-19 trust; 20-29 runtime."""

    OK = 0
    USAGE = 2
    CONFIG = 3
    DATA = 4
    POLICY = 5
    CERTIFICATE = 10
    REFUSED_BY_COORDINATOR = 11
    JOB_FAILED = 20
    INTERRUPTED = 21
