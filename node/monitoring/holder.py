"""A holder's side of a monitoring refresh: signals, partial scores, flags and feed health.

For each chunk of the bank's book (firms named by the pair's pseudonyms) the holder, in one
gate: checks its masking policy (the panel figures the model reads, purpose ``scoring``, this
bank), finds which of its own firms are asked (a firm it does not hold stays a pseudonym it
cannot invert), keeps only firms whose authorization covers post-loan monitoring for this
bank (``node.consent.gate.authorized_subset``), computes their signals from its own panel as
of the refresh month, and answers partial log-odds of its deployed early-warning part, coded
reason categories and coded flags. The access log names the monitored firms by this holder's
token, citing the covering authorizations; refused firms get a denial entry. At the end of
the refresh it reports its feed health over the whole book (months, counts, PSI figures).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.audit import Action, Actor
from node.audit.sink import AuditSink
from node.audit.tokens import FirmTokenizer
from node.consent.gate import authorized_subset
from node.consent.store import ConsentStore
from node.data.datasets import NodeDatasets
from node.data.exceptions import DatasetError
from node.models import ModelNotFound, ModelRegistry
from node.models.logistic import LogisticPart
from node.models.secureboost import TreePart
from node.monitoring import wire as mwire
from node.monitoring.config import MonitoringConfig, monitored_panel
from node.monitoring.drift import Reference
from node.monitoring.exceptions import MonitoringError, PanelError
from node.monitoring.feed import FeedReport
from node.monitoring.panel import PanelCube, month_key, month_number
from node.monitoring.reasons import MAX_REASONS, by_code, top_reasons
from node.monitoring.signals import compute_signals, panel_figures, signal_names
from node.monitoring.trees import holder_answer
from node.pki.identity import Identity
from node.policy import PolicyDenied, PolicyEngine
from node.scoring import wire
from node.scoring.index import FirmIndex
from node.transport.relay_channel import EnvelopeRouter, Opened

log = logging.getLogger("fedcredit.monitoring.holder")

PURPOSE: Final = "monitoring"
# A refresh whose end never comes is forgotten after this long (its chunks' signals freed).
REFRESH_TTL_S: Final = 3600.0
_GONE: Final = (-1, -1)  # the stamp of a panel file that cannot be read


def _failure(msg: Opened, error: str) -> bytes:
    """The answer to a request the holder cannot serve, naming the request if it can."""
    return wire.encode({"id": wire.request_id(msg.payload), "error": error})


def _month(value: object) -> str:
    try:
        return month_key(str(value))
    except PanelError as exc:
        raise wire.MalformedMessage(f"as_of: {exc}") from None


def panel_version(latest_month: str, stamp: tuple[int, int]) -> str:
    """A panel's version: its latest month and a digest of its file's (mtime, size) stamp, so
    a corrected file of the same months is a new version too."""
    return f"{latest_month}/{hashlib.sha256(repr(stamp).encode()).hexdigest()[:12]}"


@dataclass
class _Refresh:
    """What a refresh collected across chunks, for the feed report at its end."""

    started: float = field(default_factory=time.monotonic)
    asked: int = 0
    matched: int = 0
    admitted: int = 0
    missing: int = 0
    signals: list[pd.DataFrame] = field(default_factory=list)  # model inputs, for drift
    figures: list[pd.DataFrame] = field(default_factory=list)  # the month's raw figures


class PanelView:
    """A holder's panel as a cube with its firm index, rebuilt when the panel file changes.

    A holder's monthly feed arrives as a rewritten panel file; the next request after the
    rewrite sees the new months (the bank's scheduler notices through ``version``). A new
    file that does not load leaves the last good panel in service and is logged here: the
    bank then sees the feed fall behind (``FEED-STALE``) rather than an error carrying data.
    """

    def __init__(
        self,
        datasets: NodeDatasets,
        config: MonitoringConfig,
        tokenizer: FirmTokenizer,
    ) -> None:
        self._datasets = datasets
        self._config = config
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self._built: tuple[PanelCube, FirmIndex, dict[str, str]] | None = None
        self._stamp: tuple[int, int] = (0, 0)
        self._failed: tuple[int, int] | None = None  # a changed file that did not load
        self.version = ""

    @property
    def dataset(self) -> str:
        assert self._config.panel is not None
        return self._config.panel

    def get(self) -> tuple[PanelCube, FirmIndex, dict[str, str]]:
        """(cube, index of its firms, figure -> kind), re-read if the file changed.

        A changed file that does not load or pivot is logged once and not tried again until
        it changes once more; the last good panel stays in service.

        Raises
        ------
        node.monitoring.exceptions.PanelError
            No good panel yet (the node's first panel does not pivot).
        """
        with self._lock:
            unreadable: OSError | None = None
            try:
                stamp = self._datasets.stamp(self.dataset)
            except OSError as exc:
                stamp, unreadable = _GONE, exc
            if self._built is not None and stamp in (self._stamp, self._failed):
                return self._built
            try:
                if unreadable is not None:
                    raise unreadable
                self._built = self._build()
                self._stamp, self._failed = stamp, None
                self.version = panel_version(self._built[0].latest_month, stamp)
            except (DatasetError, PanelError, OSError) as exc:
                self._failed = stamp
                problem = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
                log.warning("panel %s does not load%s: %s", self.dataset,
                            "" if self._built is None else ", serving the last good one",
                            problem)  # fmt: skip
                if self._built is None:
                    raise PanelError(f"panel {self.dataset} does not load") from None
            return self._built

    def _build(self) -> tuple[PanelCube, FirmIndex, dict[str, str]]:
        loaded = self._datasets.reload_if_changed(self.dataset, self._stamp) or (
            self._datasets.get(self.dataset)
        )
        schema = loaded.schema
        skip = {schema.id_column, self._config.month_column, *schema.key_columns}
        cube, kinds = monitored_panel(loaded.frame, schema.id_column, skip, self._config)
        return cube, FirmIndex(cube.codes, self._tokenizer), kinds


class MonitorHolder:
    """Answers monitoring chunks and end-of-refresh feed reports, off the stream thread."""

    def __init__(
        self,
        *,
        me: Identity,
        pair_key: Callable[[str], bytes],
        identity_of: Callable[[str], Identity],
        panel: PanelView,
        config: MonitoringConfig,
        reason_prefix: str,
        engine: PolicyEngine,
        registry: ModelRegistry,
        consent: ConsentStore,
        sink: AuditSink,
        router: EnvelopeRouter,
        executor: Executor,
        state_dir: Path,
    ) -> None:
        self._me = me
        self._pair_key = pair_key
        self._identity_of = identity_of
        self._panel = panel
        self._config = config
        self._prefix = reason_prefix
        self._engine = engine
        self._registry = registry
        self._consent = consent
        self._sink = sink
        self._router = router
        self._executor = executor
        self._references = state_dir / "monitoring" / "references.json"
        self._refreshes: dict[tuple[str, str], _Refresh] = {}
        self._lock = threading.Lock()

    def handle(self, msg: Opened) -> None:
        """The router's handler: queue the work and return."""
        self._executor.submit(self._safely, msg)

    def _safely(self, msg: Opened) -> None:
        """Answer ``msg``; nothing may escape into the pool's future, where it would be lost
        (a failed answer is logged by ``EnvelopeRouter.answer``)."""
        handler = {
            mwire.MONITOR: self._chunk,
            mwire.MONITOR_END: self._end,
            mwire.MONITOR_STATUS: self._status,
        }.get(msg.topic)
        if handler is None:
            return
        try:
            payload = wire.encode(handler(msg))
        except wire.MalformedMessage as exc:
            log.warning("refused a monitoring message from %s: %s", msg.sender, exc)
            payload = _failure(msg, f"malformed: {exc}")
        except MonitoringError as exc:  # no usable panel (its problem is logged here)
            log.warning("monitoring request from %s not answered: %s", msg.sender, exc)
            payload = _failure(msg, f"no_panel: {exc}")
        except Exception:
            log.exception("monitoring request from %s failed", msg.sender)
            payload = _failure(msg, "internal error at the holder")
        self._router.answer(wire.JOB_KEY, msg.sender, mwire.MONITORED, payload)

    # one chunk -------------------------------------------------------------------------

    def _chunk(self, msg: Opened) -> dict[str, Any]:
        req = wire.decode_request(msg.payload, ("refresh", "as_of", "model", "job", "firms"))
        base = {"id": req["id"]}
        if self._config.panel is None:
            return {**base, "error": "not_monitoring: this node serves no panel for monitoring"}
        bank = self._identity_of(msg.sender)
        actor = Actor(bank.organization, bank.node_id, bank.role)
        as_of = _month(req["as_of"])
        try:
            deployment = self._registry.serving(str(req["model"]), str(req["job"]))
        except ModelNotFound:
            return {**base, "error": "no_model: no deployed part of that model and job here"}
        part = self._registry.part(deployment)
        if not isinstance(part, LogisticPart | TreePart):
            return {
                **base,
                "error": "no_model: monitoring serves logistic and secureboost parts, "
                f"not {part.info.kind}",
            }
        cube, index, kinds = self._panel.get()
        unknown = sorted(set(part.info.features) - set(signal_names(kinds)))
        if unknown:
            return {
                **base,
                "error": f"no_model: the part reads signals this panel lacks ({unknown[0]})",
            }
        figures = sorted(
            {
                figure
                for signal in (*part.info.features, *self._flag_columns())
                for figure in panel_figures(signal, self._config.ratios)
            }
        )
        try:
            decision = self._engine.authorize(bank, PURPOSE, self._panel.dataset, figures)
        except PolicyDenied as exc:
            self._deny(actor, (), "denied: policy", {"refresh": req["refresh"]})
            return {**base, "error": f"policy: {exc}"}
        firms = [str(f) for f in req["firms"]]
        rows = index.rows(self._pair_key(msg.sender), firms)
        known = np.flatnonzero(rows >= 0)
        tokens = [index.tokens[r] for r in rows[known]]
        admission = authorized_subset(self._consent, tokens, bank.organization, PURPOSE)
        allowed = known[admission.allowed]
        status = np.full(len(firms), "no_record", dtype=object)
        status[known] = "unauthorized"
        status[allowed] = "ok"
        flags: list[list[str]] = [[] for _ in firms]
        if isinstance(part, TreePart):
            # trees also route the firms it does not hold, down each split's side for a
            # missing value, as in training; it has nothing of them to send but that side
            routed = np.union1d(allowed, np.flatnonzero(rows < 0))
            every = compute_signals(cube, rows[routed], as_of, kinds)
            signals = every[np.isin(routed, allowed)].reset_index(drop=True)
            answer = holder_answer(part, every, routed, len(firms), self._prefix)
        else:
            signals = compute_signals(cube, rows[allowed], as_of, kinds)
            answer = self._partial_scores(part, signals, allowed, len(firms))
        if len(allowed):
            for rule in self._config.flags:
                if rule.column in signals.columns:
                    hit = rule.holds(signals[rule.column].to_numpy(dtype=np.float64))
                    for i in allowed[hit].tolist():
                        flags[i].append(rule.code)
        self._collect(
            msg.sender,
            str(req["refresh"]),
            cube,
            rows[allowed],
            as_of,
            len(firms),
            len(known),
            signals,
        )
        self._log(
            actor,
            req,
            decision.decision_id,
            deployment.label(),
            figures,
            index,
            rows,
            allowed,
            known,
            admission.records,
        )
        return {
            **base,
            "error": "",
            "version": deployment.label(),
            "status": status.tolist(),
            **answer,
            "flags": flags,
        }

    def _partial_scores(
        self, part: LogisticPart, signals: pd.DataFrame, allowed: NDArray[np.int64], n: int
    ) -> dict[str, Any]:
        """A logistic part's answer: partial log-odds and up to two coded figures pushing
        each borrower's risk up (0 and none for the rows not ``allowed``)."""
        scores = np.zeros(n)
        reasons: list[list[str]] = [[] for _ in range(n)]
        if len(allowed):
            scores[allowed] = part.partial_scores(signals)
            names, credits = by_code(self._prefix, part.info.features, part.contributions(signals))
            for i, codes in zip(
                allowed.tolist(), top_reasons(names, credits, MAX_REASONS), strict=True
            ):
                reasons[i] = codes
        return {"score": scores.tolist(), "reasons": reasons}

    def _flag_columns(self) -> list[str]:
        return [r.column for r in self._config.flags]

    def _collect(
        self,
        bank: str,
        refresh: str,
        cube: PanelCube,
        rows: NDArray[np.int64],
        as_of: str,
        asked: int,
        matched: int,
        signals: pd.DataFrame,
    ) -> None:
        column = month_number(as_of) - cube.first_month
        within = 0 <= column < cube.n_months  # beyond the panel: stale, not missing records
        missing = int((~cube.present()[rows, column]).sum()) if within and len(rows) else 0
        figures = pd.DataFrame(
            {f: a[rows, column] if within else np.full(len(rows), np.nan)
             for f, a in cube.values.items()}
        )  # fmt: skip
        with self._lock:
            now = time.monotonic()
            for key in [k for k, r in self._refreshes.items() if now - r.started > REFRESH_TTL_S]:
                del self._refreshes[key]
            state = self._refreshes.setdefault((bank, refresh), _Refresh())
            state.asked += asked
            state.matched += matched
            state.admitted += len(rows)
            state.missing += missing
            state.signals.append(signals)
            state.figures.append(figures)

    def _log(
        self,
        actor: Actor,
        req: dict[str, Any],
        decision_id: str,
        version: str,
        figures: Sequence[str],
        index: FirmIndex,
        rows: NDArray[np.int64],
        allowed: NDArray[np.int64],
        known: NDArray[np.int64],
        records: Sequence[str],
    ) -> None:
        details = {"refresh": str(req["refresh"]), "as_of": str(req["as_of"]), "model": version}
        if len(allowed):
            self._sink.subject_use(
                actor, Action.SCORE, PURPOSE, "allowed", dataset=self._panel.dataset,
                fields=tuple(figures), subjects=tuple(index.tokens[r] for r in rows[allowed]),
                details={**details, "decision_id": decision_id,
                         "authorizations": ",".join(records[:200])},
            )  # fmt: skip
        refused = np.setdiff1d(known, allowed)
        if len(refused):
            self._deny(
                actor,
                tuple(index.tokens[r] for r in rows[refused]),
                "denied: no valid authorization",
                details,
            )
        unknown = len(rows) - len(known)
        if unknown:
            self._sink.subject_use(
                actor, Action.SCORE, PURPOSE, "no_record", dataset=self._panel.dataset,
                details={**details, "firms_not_held": unknown},
            )  # fmt: skip

    def _deny(
        self, actor: Actor, subjects: tuple[str, ...], reason: str, details: dict[str, Any]
    ) -> None:
        self._sink.subject_use(
            actor, Action.DENIAL, PURPOSE, reason, dataset=self._panel.dataset or "",
            subjects=subjects, details={"requested": "monitor", **details},
        )  # fmt: skip

    def _status(self, msg: Opened) -> dict[str, Any]:
        """The panel's latest month and version: the bank refreshes when they change."""
        req = wire.decode_request(msg.payload, ())
        if self._config.panel is None:
            return {"id": req["id"], "error": "not_monitoring: this node serves no panel"}
        cube, _, _ = self._panel.get()
        return {"id": req["id"], "error": "", "latest_month": cube.latest_month,
                "version": self._panel.version}  # fmt: skip

    # end of a refresh: the feed report -------------------------------------------------

    def _end(self, msg: Opened) -> dict[str, Any]:
        req = wire.decode_request(msg.payload, ("refresh", "as_of", "chunks"))
        base = {"id": req["id"]}
        if self._config.panel is None:
            return {**base, "error": "not_monitoring: this node serves no panel for monitoring"}
        bank = self._identity_of(msg.sender)
        cube, _, _ = self._panel.get()
        with self._lock:
            state = self._refreshes.pop((msg.sender, str(req["refresh"])), _Refresh())
        as_of = _month(req["as_of"])
        behind = max(0, month_number(as_of) - month_number(cube.latest_month))
        baseline: dict[str, float] = {}
        previous: dict[str, float] = {}
        if state.signals and not behind:
            # a stale panel's signals measure the gap, not the population: no drift figures
            # from it, and the references stay those of the last current month
            baseline, previous = self._drift_references(
                bank.organization,
                pd.concat(state.signals, ignore_index=True),
                pd.concat(state.figures, ignore_index=True),
            )
        report = FeedReport(
            latest_month=cube.latest_month,
            months_behind=behind,
            asked=state.asked,
            matched=state.matched,
            admitted=state.admitted,
            missing_share=state.missing / state.admitted if state.admitted else 0.0,
            input_psi=baseline,
            jump_psi=previous,
            version=self._panel.version,
        )
        self._sink.record(
            "admin",
            {
                "operation": "monitoring_feed_report",
                "purpose": PURPOSE,
                "dataset": self._panel.dataset,
                "refresh": str(req["refresh"]),
                "as_of": as_of,
                "asked": state.asked,
                "matched": state.matched,
                "admitted": state.admitted,
                "months_behind": report.months_behind,
            },
            actor=Actor(bank.organization, bank.node_id, bank.role),
        )
        return {**base, "error": "", "feed": report.to_dict()}

    def _drift_references(
        self, bank: str, signals: pd.DataFrame, figures: pd.DataFrame
    ) -> tuple[dict[str, float], dict[str, float]]:
        """PSI of every signal against the bank's first refresh here (the model's inputs
        drifting), and of every raw figure of the month against the previous refresh (the
        feed jumping); then this refresh becomes the previous one. Cut points and shares
        only are kept.

        The jump test reads the month's figures, not the signals: change signals move with
        the seasons for every firm at once (a 3-month change of power use swings by a PSI of
        0.3 from one month to the next on the synthetic panels), while a healthy feed's
        figures hold their distribution from one month to the next; a unit change, a column
        gone to zero or a burst of holes does not."""
        with self._lock:
            try:
                stored = json.loads(self._references.read_text())
            except (OSError, ValueError):
                stored = {}
            mine = stored.setdefault(bank, {"baseline": {}, "previous": {}})
            against_first: dict[str, float] = {}
            for name in signals.columns:
                values = signals[name].to_numpy(dtype=np.float64)
                if name in mine["baseline"]:
                    reference = Reference.from_dict(mine["baseline"][name])
                    against_first[name] = round(reference.psi(values), 4)
                else:
                    mine["baseline"][name] = Reference.of(values).to_dict()
            against_last: dict[str, float] = {}
            for name in figures.columns:
                values = figures[name].to_numpy(dtype=np.float64)
                if name in mine["previous"]:
                    reference = Reference.from_dict(mine["previous"][name])
                    against_last[name] = round(reference.psi(values), 4)
                mine["previous"][name] = Reference.of(values).to_dict()
            self._references.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._references.with_suffix(".tmp")
            tmp.write_text(json.dumps(stored))
            tmp.replace(self._references)
        return against_first, against_last
