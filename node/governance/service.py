"""Breach traceability and abnormal-access response, assembled for one running node.

``NodeGovernance`` owns the governance database and wires: fingerprinted, registered
releases (``releases``), the access monitor fed from the log, alert delivery (access log,
file, webhook) and containment (``admit`` goes to the authentication interceptor: it
brings the monitor up to date with the log, then asks the containment registry). The node
process builds it after its access log and policy engine.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from node.audit.reader import LogReader
from node.governance.config import GovernanceConfig
from node.governance.containment import ContainmentRegistry
from node.governance.monitor.follower import LogFollower
from node.governance.monitor.monitor import AccessMonitor, Alert
from node.governance.monitor.profile import DAY
from node.governance.monitor.sinks import FileSink, WebhookSink
from node.governance.recording import Record
from node.governance.registry import ReleaseRegistry
from node.governance.releases import GovernedReleases
from node.governance.store import GovernanceDB
from node.pki.identity import Principal

log = logging.getLogger("fedcredit.governance")


class NodeGovernance:
    """Releases, monitor, alerts and containment of one node.

    Parameters
    ----------
    config
        The validated ``governance:`` section.
    state_dir
        The node's state directory (``governance/`` is created in it).
    node_secret
        The node secret (fingerprint keys and firm tokens derive from it).
    reader
        The node's access log, which the monitor follows.
    record
        Writes an access-log entry as the node (``AuditSink.record``).
    own
        The node's actor label (``organization/node/role``).
    """

    def __init__(
        self,
        config: GovernanceConfig,
        state_dir: Path,
        node_secret: bytes,
        reader: LogReader,
        record: Record,
        own: str,
    ) -> None:
        self.config = config
        self.directory = state_dir / "governance"
        self.db = GovernanceDB(self.directory)
        self._record = record
        self.releases = GovernedReleases(node_secret, ReleaseRegistry(self.db), record)
        self.containment = ContainmentRegistry(self.db, config.containment, record)
        self._sinks: list[Any] = [FileSink(state_dir / config.alerts.file)]
        if config.alerts.webhook:
            self._sinks.append(WebhookSink(config.alerts.webhook))
        self.monitor = AccessMonitor(config.monitor, on_alert=self.handle)
        self.follower = LogFollower(reader, self.monitor, own)

    def admit(self, method: str, who: Principal) -> None:
        """Refuse the call if ``who`` is contained, judged on every entry the log holds now.

        Catching up first makes containment independent of the follower thread's timing:
        the call after the one that raised a suspending alert is refused.

        Raises
        ------
        ServiceError
            ``access.suspended`` or ``access.throttled`` (``ContainmentRegistry.admit``).
        """
        try:
            self.follower.catch_up()
        except Exception as exc:  # the monitor failing must not stop the node serving
            log.error("access monitor catch-up failed: %s", exc)
        self.containment.admit(method, who)

    def handle(self, alert: Alert) -> None:
        """Contain as configured, record the alert, deliver it to the operators' sinks."""
        held = self.containment.respond(alert)
        action = held.level if held is not None else "none"
        index = self._record(
            "alert",
            {
                "alert_id": alert.alert_id,
                "principal": alert.principal,
                "severity": alert.severity.label,
                "detectors": ",".join(f.detector for f in alert.findings),
                "summary": alert.summary()[:500],
                "trigger_index": -1 if alert.log_index is None else alert.log_index,
                "action": action,
                "result": "raised",
            },
        )
        log.warning(
            "alert %s %s %s: %s", alert.severity.label, alert.principal, action, alert.summary()
        )
        if alert.severity < self.config.alerts.deliver_at:
            return
        payload = {**alert.to_dict(), "action": action, "access_log_index": index}
        for sink in self._sinks:
            try:
                sink(payload)
            except Exception as exc:  # one failing sink must not stop the others
                log.error("alert %s not written to a sink: %s", alert.alert_id, exc)

    def start(self) -> None:
        """Warm the baselines from the log, then follow it."""
        replayed = self.follower.replay(time.time() - self.config.monitor.baseline_days * DAY)
        log.info("access monitor warmed on %d log entries", replayed)
        self.follower.start()

    def stop(self) -> None:
        """Stop following, flush the sinks, close the database."""
        self.follower.stop()
        for sink in self._sinks:
            sink.close()
        self.db.close()
