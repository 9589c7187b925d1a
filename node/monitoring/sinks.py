"""Where alerts go: the bank's systems over a webhook, and an append-only file.

Each sink gets every alert once: a refresh delivers its new alerts and retries any earlier
one a sink has not accepted yet, so a receiver that was down catches up at the next refresh.
A webhook receives one JSON POST per batch (``{"alerts": [...]}``) and must answer 2xx; when
the sink has a secret, ``X-Fedcredit-Signature`` carries ``sha256=`` and the HMAC-SHA-256 of
the body under it. The file sink appends one JSON line per alert and syncs the file.
Alerts carry tokens, levels and coded reasons only (see ``node.monitoring.alerts``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class SinkFailed(Exception):
    """A sink did not accept a batch; the alerts stay undelivered to it and are retried."""


class AlertSink(Protocol):
    """Delivers alerts. MUST raise ``SinkFailed`` unless the whole batch was accepted."""

    @property
    def name(self) -> str: ...

    def deliver(self, alerts: Sequence[Mapping[str, Any]]) -> None: ...


@dataclass(frozen=True)
class WebhookSink:
    """POST alerts as JSON to the bank's alert endpoint."""

    url: str
    timeout_s: float = 5.0
    secret: bytes = b""

    @property
    def name(self) -> str:
        return f"webhook:{self.url}"

    def deliver(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        body = json.dumps({"alerts": list(alerts)}, sort_keys=True).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
            headers["X-Fedcredit-Signature"] = f"sha256={digest}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            raise SinkFailed(f"{self.url} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SinkFailed(f"{self.url} not reached: {reason}") from None
        if not 200 <= status < 300:
            raise SinkFailed(f"{self.url} answered HTTP {status}")


@dataclass(frozen=True)
class FileSink:
    """Append alerts as JSON lines to a file (for a mail gateway or a batch pick-up)."""

    path: Path

    @property
    def name(self) -> str:
        return f"file:{self.path.name}"

    def deliver(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        lines = "".join(json.dumps(a, sort_keys=True) + "\n" for a in alerts)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise SinkFailed(f"{self.path} not written: {exc.strerror}") from None
