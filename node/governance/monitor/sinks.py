"""Where alerts go besides the access log: a JSON-lines file and an operator's webhook.

The file sink appends one JSON object per line (the node's own record, readable by any log
shipper). The webhook sink POSTs the same JSON to an HTTP(S) endpoint from a background
thread, with a timeout and three attempts, so a slow or absent receiver never delays the
node; a delivery that finally fails is logged (the alert is still in the file and the log).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final

log = logging.getLogger("fedcredit.governance.alerts")

WEBHOOK_TIMEOUT_S: Final = 5.0
WEBHOOK_ATTEMPTS: Final = 3


class FileSink:
    """Appends each alert as one JSON line to ``path`` (created with its folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def __call__(self, alert: dict[str, Any]) -> None:
        line = json.dumps(alert, sort_keys=True, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)

    def close(self) -> None:
        """Nothing to release (each write opens and closes the file)."""


class WebhookSink:
    """POSTs each alert as JSON to ``url`` from a background thread.

    Raises
    ------
    ValueError
        ``url`` is not an http(s) URL.
    """

    def __init__(self, url: str, timeout: float = WEBHOOK_TIMEOUT_S) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook must be an http:// or https:// URL, got {url!r}")
        self.url = url
        self._timeout = timeout
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, name="fedcredit-alert-webhook", daemon=True
        )
        self._thread.start()

    def __call__(self, alert: dict[str, Any]) -> None:
        self._queue.put(alert)

    def _post(self, alert: dict[str, Any]) -> None:
        body = json.dumps(alert, sort_keys=True, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:
                    response.read()
                return
            except (urllib.error.URLError, OSError) as exc:
                if attempt == WEBHOOK_ATTEMPTS:
                    log.warning(
                        "alert %s not delivered to the webhook: %s", alert.get("alert_id"), exc
                    )

    def _run(self) -> None:
        while (alert := self._queue.get()) is not None:
            self._post(alert)

    def close(self) -> None:
        """Deliver what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=WEBHOOK_TIMEOUT_S * WEBHOOK_ATTEMPTS + 1)
