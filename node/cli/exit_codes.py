"""Every exit code of the fedcredit commands and daemons, in one place (ranges by cause).

docs/operations.md lists the same table for operators; a test keeps the two in step.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """0 success; 1-9 refusals, input and configuration; 10-19 trust; 20-29 runtime;
    30-39 diagnostics."""

    OK = 0
    # A check failed or a request was refused (invalid policy, log that does not verify, a
    # coordinator or node that said no, an error nobody foresaw); the line printed says why.
    FAILED = 1
    # The command line or a file it names is unusable (missing, unreadable, malformed).
    USAGE = 2
    # A daemon's or project's configuration file is missing a key or names nothing.
    CONFIG = 3
    # A dataset does not match its schema (file, column and row are named).
    DATA = 4
    # A masking policy does not validate (file, line and key are named).
    POLICY = 5
    # Another process already runs on this state folder.
    STATE_IN_USE = 6
    # The coordinator's state database (state.url) cannot be reached or opened.
    STATE_UNAVAILABLE = 7
    # A certificate or key is missing, expired, revoked or from another CA.
    CERTIFICATE = 10
    # The coordinator refused this node (another organization holds the id, revoked, ...).
    REFUSED_BY_COORDINATOR = 11
    # ``audit verify`` found nothing wrong, but only against the log's own checkpoint.
    UNANCHORED = 12
    # A job (or a federation run) ended without success.
    JOB_FAILED = 20
    # Stopped by Ctrl-C.
    INTERRUPTED = 21
    # The active coordinator lost its lease on the shared database; a standby takes over.
    LEASE_LOST = 22
    # ``fedcredit diagnose`` found warnings, and nothing worse.
    DIAGNOSE_WARNINGS = 30
    # ``fedcredit diagnose``: at least one check failed.
    DIAGNOSE_FAILED = 31
