"""The bank's monitoring: refresh the whole book, keep the watch list, raise and track alerts.

A refresh (monthly, when a holder's panel changed, or on demand) runs in one pass:

1. the book (the firms of the bank's ``book`` dataset) is named to each holder by pair
   pseudonym and sent in chunks (``monitor``); holders answer partial log-odds and coded
   reasons (a logistic model) or split directions (a SecureBoost model,
   ``node.monitoring.trees``), and coded flags, for the firms they hold and may monitor for
   this bank;
2. meanwhile the bank computes its own signals from its own panel and its part's log-odds;
3. each holder is asked for its feed report (``monitor_end``);
4. the early-warning model's PD (the parts summed, or the trees walked; then the bank's
   calibration), the rules
   (``rules.assess``) and the watch-list step (``watchlist.step``, held while any feed is
   unhealthy) give each borrower's level and reasons;
5. level changes, feed issues and drift become alerts: stored, written to the access log,
   delivered to the sinks.

A holder that is offline, late or refuses counts as zero log-odds for that refresh (its
average), raises a data-quality alert and freezes step-downs, so missing data never lowers a
warning.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.audit import Action, Actor
from node.audit.sink import AuditSink
from node.models import LogisticPart, ModelNotFound, ModelRegistry, TreePart
from node.monitoring import rules, watchlist
from node.monitoring import wire as mwire
from node.monitoring.alerts import drift_alerts, feed_alerts, level_alerts
from node.monitoring.config import MonitoringConfig
from node.monitoring.drift import Reference
from node.monitoring.exceptions import MonitoringError, NotConfigured
from node.monitoring.feed import FeedIssue, FeedReport, feed_issues
from node.monitoring.holder import PanelView
from node.monitoring.panel import month_key, month_number
from node.monitoring.policy import LEVELS, MonitoringPolicy
from node.monitoring.policy_in_force import PolicyInForce
from node.monitoring.reasons import by_code, top_reasons
from node.monitoring.signals import compute_signals
from node.monitoring.sinks import SinkFailed
from node.monitoring.store import MonitoringStore, new_id
from node.monitoring.trees import KIND as SECUREBOOST
from node.monitoring.trees import HolderSplits, walk
from node.monitoring.workflow import next_state
from node.scoring import wire
from node.scoring.client import PartnerClient, Pending
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms
from node.telemetry.metrics import record_alert
from node.transport.directory import UnknownParty

log = logging.getLogger("fedcredit.monitoring")

PURPOSE: Final = "monitoring"
CHUNK: Final = wire.MAX_ITEMS
LOG_CHUNK: Final = 5000
DRIFTING: Final = "drift:alerting"  # the reference row naming the figures now past the alert


def gap_code(holder: str) -> str:
    """The reason code of a borrower assessed without ``holder``'s answer (``NO-DATA-...``)."""
    return f"NO-DATA-{holder.upper().replace('_', '-')}"


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did (counts only)."""

    refresh_id: str
    as_of: str
    book: int
    levels: dict[str, int]
    alerts: dict[str, int]
    feed: dict[str, list[str]]
    seconds: float
    delivered: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)  # borrowers without a holder's answer

    def to_dict(self) -> dict[str, Any]:
        return {
            "refresh_id": self.refresh_id,
            "as_of": self.as_of,
            "book": self.book,
            "levels": self.levels,
            "alerts": self.alerts,
            "feed": self.feed,
            "seconds": round(self.seconds, 3),
            "delivered": self.delivered,
            "gaps": self.gaps,
        }


@dataclass
class Collected:
    """One holder's answers over the book (``_collect``)."""

    score: NDArray[np.float64]  # partial log-odds of a logistic part, 0 where none
    gap: str  # why the feed as a whole had a gap ("" none)
    blind: NDArray[np.bool_]  # borrowers it holds but gave no answer for
    splits: HolderSplits  # a SecureBoost part's directions


class MonitoringService:
    """The bank node's monitoring."""

    def __init__(
        self,
        *,
        me: Actor,
        config: MonitoringConfig,
        panel: PanelView | None,
        registry: ModelRegistry,
        client: PartnerClient,
        names: Callable[[str], Pseudonyms],
        index_of: Callable[[str], FirmIndex],
        store: MonitoringStore,
        sink: AuditSink,
        reason_prefix: str,
    ) -> None:
        self._me = me
        self._config = config
        self._panel = panel
        self._registry = registry
        self._client = client
        self._names = names
        self._index_of = index_of
        self.store = store
        self._sink = sink
        self._prefix = reason_prefix
        self._policy = None if config.policy is None else PolicyInForce(config.policy, store, sink)
        self._pseudonyms: dict[str, list[str]] = {}
        self._refresh_lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._config.policy is not None

    def policy(self) -> MonitoringPolicy:
        """The monitoring policy in force (re-read when its file changes, a change recorded).

        Raises
        ------
        NotConfigured
            No monitoring policy, book or panel is configured.
        node.monitoring.exceptions.MonitoringPolicyError
            The file is invalid.
        node.monitoring.exceptions.PolicyChangeNotRecorded
            The access log did not take the entry of a change of the file.
        """
        if self._policy is None or self._config.book is None or self._panel is None:
            raise NotConfigured(
                "this node does not monitor a book; set monitoring.panel, .policy and .book"
            )
        return self._policy.get()

    def _head(self, policy: MonitoringPolicy) -> tuple[str, LogisticPart | TreePart]:
        try:
            deployment = self._registry.current(policy.model)
        except ModelNotFound as exc:
            raise NotConfigured(f"{exc}; deploy the early-warning model first") from None
        part = self._registry.part(deployment)
        if not isinstance(part, LogisticPart | TreePart) or (
            isinstance(part, TreePart) and part.ensemble is None
        ):
            raise NotConfigured(
                f"{deployment.label()} is neither a logistic part nor a SecureBoost ensemble"
            )
        return deployment.label(), part

    def _book_names(self, holder: str, codes: Sequence[str]) -> list[str]:
        """The book's pseudonyms for ``holder``, computed once per book."""
        key = f"{holder}:{len(codes)}:{codes[0] if codes else ''}:{codes[-1] if codes else ''}"
        names = self._pseudonyms.get(key)
        if names is None:
            names = self._pseudonyms[key] = self._names(holder).many(codes)
        return names

    # the refresh -----------------------------------------------------------------------

    def refresh(self, as_of: str | None = None, trigger: str = "manual") -> RefreshResult:
        """Refresh the whole book (one at a time; a second caller waits for the first).

        Raises
        ------
        NotConfigured
            No policy, book, panel or deployed early-warning model.
        """
        with self._refresh_lock:
            return self._refresh(as_of, trigger)

    def _refresh(self, as_of: str | None, trigger: str) -> RefreshResult:
        started, t0 = time.time(), time.perf_counter()
        policy = self.policy()
        version, head = self._head(policy)
        assert self._panel is not None and self._config.book is not None
        cube, panel_index, kinds = self._panel.get()
        month = month_key(as_of) if as_of else cube.latest_month
        if month_number(month) > month_number(cube.latest_month):
            raise MonitoringError(
                f"as_of {month} is after the bank's latest panel month {cube.latest_month}; "
                "give a month the bank's panel has, or none for the latest"
            )
        cube.column_of(month)  # refuses a month before the panel
        book = self._index_of(self._config.book)
        codes, tokens = book.codes, book.tokens
        n = len(codes)
        refresh_id = new_id("refresh")
        deadline = time.monotonic() + policy.deadline_ms / 1000.0
        asked: dict[str, list[Pending]] = {}
        for holder in policy.holders:
            names = self._book_names(holder, codes)
            asked[holder] = [
                self._client.submit(
                    holder,
                    mwire.MONITOR,
                    {
                        "refresh": refresh_id,
                        "as_of": month,
                        "model": policy.model,
                        "job": head.info.job_id,
                        "firms": names[start : start + CHUNK],
                    },
                    min(CHUNK, n - start),
                )
                for start in range(0, n, CHUNK)
            ]
        # the bank's own part while the holders work
        rows = panel_index.rows_of_codes(codes)
        own = compute_signals(cube, rows, month, kinds)
        if isinstance(head, LogisticPart):
            logit, reasons = head.partial_scores(own), self._own_reasons(head, own)
        else:  # trees: the bank's splits are walked with the holders' below
            logit, reasons = np.zeros(n), [[] for _ in range(n)]
        flags: list[list[str]] = [[] for _ in range(n)]
        missing: list[list[str]] = [[] for _ in range(n)]
        answered: dict[str, str] = {}
        scores: dict[str, NDArray[np.float64]] = {}
        blinds: dict[str, NDArray[np.bool_]] = {}
        splits: dict[str, HolderSplits] = {}
        for holder, chunks in asked.items():
            got = self._collect(holder, chunks, deadline, n, reasons, flags)
            scores[holder], answered[holder], blinds[holder] = got.score, got.gap, got.blind
            if got.splits.started:
                splits[holder] = got.splits
            for i in np.flatnonzero(got.blind).tolist():
                missing[i].append(gap_code(holder))
        if isinstance(head, TreePart):
            walked = walk(head, own, splits, self._prefix)
            logit, scores = walked.margin, {h: walked.partials.get(h, np.zeros(n)) for h in asked}
            for i, own_reasons in enumerate(walked.own_reasons):
                reasons[i] = [*own_reasons, *(r for h in walked.reasons
                                              for r in walked.reasons[h][i])]  # fmt: skip
        else:
            for score in scores.values():
                logit = logit + score
        # a feed that is out says nothing about how its scores move
        partials = {h: scores[h][~blinds[h]] for h in asked if not answered[h]}
        reports = self._feed_reports(refresh_id, month, answered, deadline)
        pd_now = (head.head if isinstance(head, TreePart) else head).probability(logit)
        state = self.store.state(tokens)
        origination = np.where(np.isnan(state.origination_pd), pd_now, state.origination_pd)
        dpd = (
            own[policy.dpd_signal].to_numpy(dtype=np.float64)
            if policy.dpd_signal in own.columns
            else np.zeros(n)
        )
        assessed = rules.assess(policy, pd_now, origination, dpd, flags, reasons)
        last = self.store.refreshes(1)
        before: dict[str, Any] = last[0] if last else {}
        issues = self._issues(policy, answered, reports, before.get("unmatched") or {})
        fresh = np.array([month > seen for seen in state.as_of], np.bool_)
        stepped = watchlist.advance(
            state.level, state.below, assessed.level, assessed.hard, pd_now,
            release_after=policy.release_after, capacity=policy.capacity, hold=bool(issues),
            fresh=fresh,
        )  # fmt: skip
        refs = [f"book-{i}" for i in range(n)]
        alerts = level_alerts(
            refresh_id, month, tokens, refs, state.level, stepped.level, assessed.reasons
        )
        alerts += feed_alerts(refresh_id, month, issues)
        psi = self._score_drift(pd_now if len(partials) == len(asked) else None, partials, reports)
        drifting = self.store.reference(DRIFTING) or {"names": []}
        raised, still = drift_alerts(refresh_id, month, psi, policy.drift_alert, drifting["names"])
        alerts += raised
        self.store.set_reference(DRIFTING, {"names": sorted(still)})
        since = [
            month if changed or not s else s
            for changed, s in zip(stepped.changed.tolist(), state.since, strict=True)
        ]
        self.store.save_watch(
            [
                (tokens[i], refs[i], int(stepped.level[i]), int(stepped.below[i]),
                 json.dumps([*(assessed.reasons[i] if stepped.level[i] else []), *missing[i]]),
                 round(float(pd_now[i]), 6), float(origination[i]),
                 int(assessed.category[i]), since[i], month)
                for i in range(n)
            ]
        )  # fmt: skip
        self.store.add_alerts(alerts)
        for alert in alerts:  # counted by kind and level reached, never by firm
            record_alert(str(alert["kind"]), str(alert.get("to_level", "")))
        self._log_refresh(refresh_id, month, version, tokens, alerts)
        gaps = {h: int(sum(gap_code(h) in m for m in missing)) for h in policy.holders}
        delivered = self.deliver()
        self._keep_flags(month, tokens, flags)
        counts = np.bincount(stepped.level, minlength=len(LEVELS))
        result = RefreshResult(
            refresh_id=refresh_id,
            as_of=month,
            book=n,
            levels={LEVELS[k]: int(counts[k]) for k in range(len(LEVELS))},
            alerts={
                kind: sum(1 for a in alerts if a["kind"] == kind)
                for kind in ("level_change", "data_quality", "drift")
            },
            feed={h: [i.code for i in issues if i.holder == h] for h in policy.holders},
            seconds=time.perf_counter() - t0,
            delivered=delivered,
            gaps=gaps,
        )
        self.store.add_refresh(
            refresh_id, month, started, result.seconds,
            {**result.to_dict(), "trigger": trigger, "policy": policy.version[:16],
             "model": version, "psi": {k: round(v, 4) for k, v in psi.items()},
             "unmatched": {h: r.unmatched_share for h, r in reports.items()},
             "versions": {h: r.version for h, r in reports.items()}},
        )  # fmt: skip
        return result

    def _keep_flags(self, month: str, tokens: Sequence[str], flags: list[list[str]]) -> None:
        """Keep the refresh's flags for ``review-flags``, after its alerts are stored and sent:
        a failure here costs only that month's flag history, never the alerts."""
        try:
            self.store.record_flags(month, tokens, flags)
        except (sqlite3.Error, OSError) as exc:
            log.warning(
                "flags of %s not kept for review-flags (%s); refresh %s again to keep them",
                month, exc, month,
            )  # fmt: skip

    def _own_reasons(self, head: LogisticPart, own: pd.DataFrame) -> list[list[str]]:
        names, credits = by_code(self._prefix, head.info.features, head.contributions(own))
        return top_reasons(names, credits, 1)

    def _collect(
        self,
        holder: str,
        chunks: list[Pending],
        deadline: float,
        n: int,
        reasons: list[list[str]],
        flags: list[list[str]],
    ) -> Collected:
        """One holder's answers for the book: partial log-odds (0 where none) or split
        directions, the gap of the whole feed, and the borrowers it holds but gave no answer
        for (offline, late, refused, not authorized): they are assessed at the holder's
        average, and say so."""
        got = Collected(np.zeros(n), "", np.zeros(n, np.bool_), HolderSplits.empty(n))
        offset = 0
        for pending in chunks:
            failure = PartnerClient.wait(pending, deadline)
            answer = pending.answer
            size = pending.size
            if failure or answer is None:
                got.gap = got.gap or failure or "deadline"
                got.blind[offset : offset + size] = True
            elif answer.get("error"):
                got.gap = got.gap or str(answer["error"]).split(":", 1)[0]
                got.blind[offset : offset + size] = True
            else:
                try:
                    status = [str(s) for s in answer["status"]]
                    if len(status) != size:
                        raise ValueError("answer does not fit the chunk")
                    ok = np.array([s == "ok" for s in status], np.bool_)
                    if answer.get("kind") == SECUREBOOST:  # a firm not held has its sides too
                        routed = ok | np.array([s == "no_record" for s in status], np.bool_)
                        got.splits.add(answer, offset, routed)
                    else:
                        values = np.asarray(answer["score"], dtype=np.float64)
                        if values.shape != (size,) or not np.isfinite(values).all():
                            raise ValueError("answer does not fit the chunk")
                        got.score[offset : offset + size] = np.where(ok, values, 0.0)
                        for j in np.flatnonzero(ok).tolist():
                            reasons[offset + j] = [
                                *reasons[offset + j],
                                *map(str, answer["reasons"][j]),
                            ]
                    got.blind[offset : offset + size] = [s == "unauthorized" for s in status]
                    for j in np.flatnonzero(ok).tolist():
                        flags[offset + j] = [*flags[offset + j], *map(str, answer["flags"][j])]
                except (KeyError, TypeError, ValueError, IndexError):
                    got.gap = got.gap or "malformed"
                    got.blind[offset : offset + size] = True
            offset += size
        return got

    def _feed_reports(
        self, refresh_id: str, month: str, answered: dict[str, str], deadline: float
    ) -> dict[str, FeedReport]:
        asked = {
            holder: self._client.submit(
                holder, mwire.MONITOR_END, {"refresh": refresh_id, "as_of": month, "chunks": 0}, 1
            )
            for holder, gap in answered.items()
            if gap not in ("offline",)
        }
        reports: dict[str, FeedReport] = {}
        end = max(deadline, time.monotonic() + 5.0)
        for holder, pending in asked.items():
            if PartnerClient.wait(pending, end) or pending.answer is None:
                continue
            raw = pending.answer.get("feed")
            if isinstance(raw, dict):
                try:
                    reports[holder] = FeedReport.from_dict(raw)
                except (KeyError, TypeError, ValueError):
                    log.warning("malformed feed report from %s", holder)
        return reports

    def _issues(
        self,
        policy: MonitoringPolicy,
        answered: dict[str, str],
        reports: dict[str, FeedReport],
        previous: dict[str, float],
    ) -> list[FeedIssue]:
        issues: list[FeedIssue] = []
        for holder, gap in answered.items():
            report = reports.get(holder)
            if gap and report is not None and gap not in ("deadline", "offline"):
                issues.append(FeedIssue(holder, "FEED-REFUSED", f"{holder} refused: {gap}"))
            issues += feed_issues(
                holder,
                report if not gap or report is not None else None,
                gap,
                policy.feed,
                policy.drift_alert,
                previous.get(holder),
            )
        return issues

    def _score_drift(
        self,
        pd_now: NDArray[np.float64] | None,
        partials: dict[str, NDArray[np.float64]],
        reports: dict[str, FeedReport],
    ) -> dict[str, float]:
        """PSI of the PD and each holder's partial score against the first refresh (kept as
        cut points and shares), and the holders' own input PSI figures. A holder whose feed
        is out has no score figure, nor has the PD then (``pd_now`` None): the outage is its
        own alert, and a reference is never taken from a refresh that lacked a holder."""
        psi: dict[str, float] = {}
        scores = [(f"score:{h}", v) for h, v in partials.items()]
        if pd_now is not None:
            scores.insert(0, ("score:pd", pd_now))
        for name, values in scores:
            stored = self.store.reference(name)
            if stored is None:
                self.store.set_reference(name, Reference.of(values).to_dict())
            else:
                psi[name] = Reference.from_dict(stored).psi(values)
        for holder, report in reports.items():
            for signal, value in report.input_psi.items():
                psi[f"input:{holder}:{signal}"] = value
        return psi

    def _log_refresh(
        self,
        refresh_id: str,
        month: str,
        version: str,
        tokens: Sequence[str],
        alerts: Sequence[dict[str, Any]],
    ) -> None:
        """The bank's own use of its borrowers' data, and the alerts raised, in the access log."""
        for start in range(0, len(tokens), LOG_CHUNK):
            self._sink.subject_use(
                self._me, Action.SCORE, PURPOSE, "refreshed",
                dataset=self._config.panel or "", subjects=tuple(tokens[start : start + LOG_CHUNK]),
                details={"refresh": refresh_id, "as_of": month, "model": version},
            )  # fmt: skip
        changes = [
            (a["firm"], a["from_level"], a["to_level"])
            for a in alerts
            if a["kind"] == "level_change"
        ]
        if changes:
            self._sink.level_changes(refresh_id, month, changes)
        for a in alerts:
            if a["kind"] != "level_change":
                self._sink.alert_raised(
                    a["alert_id"], a["kind"], str(a.get("code", "")), a["subject"], refresh_id
                )

    # when a refresh is due ---------------------------------------------------------------

    def due(self, wait_s: float = 10.0) -> str:
        """Why a refresh is due now, or "" when none is: no refresh yet, a month newer than
        the last refresh's in the bank's panel, or a holder's panel version that differs from
        the one its last feed report named (a new month or a corrected file at the holder)."""
        assert self._panel is not None
        last = self.store.refreshes(1)
        if not last:
            return "first refresh"
        latest = self._panel.get()[0].latest_month
        if latest > str(last[0]["as_of"]):
            return f"new month {latest}"
        seen = dict(last[0].get("versions") or {})
        deadline = time.monotonic() + wait_s
        probes = {
            h: self._client.submit(h, mwire.MONITOR_STATUS, {}, 1) for h in self.policy().holders
        }
        for holder, pending in probes.items():
            if PartnerClient.wait(pending, deadline) or pending.answer is None:
                continue  # offline: the next refresh reports it; nothing new to read here
            version = str(pending.answer.get("version") or "")
            if version and holder not in seen:
                return f"feed back from {holder}"  # it did not report at the last refresh
            if version and version != seen[holder]:
                return f"panel changed at {holder}"
        return ""

    # delivery and workflow -------------------------------------------------------------

    def deliver(self) -> dict[str, int]:
        """Send every alert a sink has not accepted yet; return how many each sink took."""
        sent: dict[str, int] = {}
        for sinker in self._config.sinks:
            pending = list(self.store.undelivered(sinker.name))
            if not pending:
                continue
            try:
                for start in range(0, len(pending), 1000):
                    batch = pending[start : start + 1000]
                    sinker.deliver(batch)
                    self.store.mark_delivered([a["alert_id"] for a in batch], sinker.name)
                    sent[sinker.name] = sent.get(sinker.name, 0) + len(batch)
                result = "delivered"
            except SinkFailed as exc:
                log.warning("alert sink %s failed: %s", sinker.name, exc)
                result = f"failed: {exc}"
            self._sink.subject_use(
                self._me, Action.ADMIN, PURPOSE, result,
                details={"operation": "alerts_delivered", "sink": sinker.name,
                         "alerts": sent.get(sinker.name, 0)},
            )  # fmt: skip
        return sent

    def act(self, alert_id: str, action: str, actor: Actor, note: str = "") -> dict[str, Any]:
        """Record the bank's action on an alert (its workflow state moves; the log says who).

        Raises
        ------
        node.monitoring.exceptions.UnknownAlert
            No such alert.
        node.monitoring.exceptions.InvalidTransition
            The action is unknown or not allowed in the alert's state.
        """
        alert = self.store.alert(alert_id)
        state = next_state(alert["state"], action)
        self.store.transition(alert_id, actor.label(), action, state, note[:500])
        self._sink.alert_action(actor, alert_id, action, state, str(alert.get("firm") or ""))
        return self.store.alert(alert_id)


class Scheduler:
    """Runs a refresh when one is due (``MonitoringService.due``), checked every ``every_s``
    seconds; a refresh that fails is logged and tried again at the next check."""

    def __init__(self, service: MonitoringService, every_s: float) -> None:
        self._service = service
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitoring-scheduler", daemon=True)

    def start(self) -> None:
        if self._every > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _run(self) -> None:
        said = ""  # the reason last logged for not refreshing: said once, not every check
        while not self._stop.wait(self._every):
            try:
                trigger = self._service.due()
                if trigger:
                    self._service.refresh(trigger=trigger)
                said = ""
            except (MonitoringError, UnknownParty) as exc:  # no model deployed yet, a policy
                # being edited, or naming a holder that has not joined the federation
                if str(exc) != said:
                    log.warning("scheduled monitoring refresh not run: %s", exc)
                    said = str(exc)
            except Exception:
                log.exception("scheduled monitoring refresh failed")
