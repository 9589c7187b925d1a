"""Resource limits of the coordinator: per-caller request rates and stream counts.

Every limit is policy, set in the coordinator's configuration (``limits:``) with the defaults
below and documented in ``docs/trust-model.md``. They are enforced per certificate (the
caller's organization and node id), so one member cannot use up what the others need: a
certificate that opens too many job watches or sends too fast is refused with
``RESOURCE_EXHAUSTED`` naming the limit, while everyone else's calls go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from node.pki.identity import Principal
from node.transport.handlers import Behavior, WrappingInterceptor

log = logging.getLogger("fedcredit.coordinator.limits")

_SERVICE = "/fedcredit.v1.Coordinator/"
WATCH = _SERVICE + "WatchJob"
SEND = _SERVICE + "Send"
# How often refusals of one kind from one caller are written down: the first at once, then one
# line per interval with the count, so a flood of refused calls cannot flood the logs.
REFUSAL_LOG_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Limits:
    """The coordinator's resource limits (``limits:`` in its configuration file)."""

    # Unary calls per second per certificate (token bucket), and the burst it may spend at
    # once. Nodes heartbeat every 5 s and report progress a few times a second at most; the
    # CLI polls a job a few times a second.
    requests_per_s: float = 50.0
    request_burst: int = 200
    # Relayed envelopes per second per sending certificate, and the burst. PSI and training
    # send a few hundred envelopes per second at their busiest; scoring sends one envelope per
    # holder per round trip (decisions in flight share the next one), a few hundred per second
    # on loopback. Each envelope costs the relay one Ed25519 verification (~0.1 ms).
    envelopes_per_s: float = 2000.0
    envelope_burst: int = 4000
    # Open WatchJob streams per certificate and in total. Each open stream occupies one server
    # thread (of the configuration's ``server_threads``), so the total stays well below it.
    watch_streams_per_caller: int = 4
    watch_streams_total: int = 16
    # What a node may register about its datasets (ListNodes returns it to every caller).
    max_registration_bytes: int = 64 * 1024
    max_datasets: int = 32
    max_fields_per_dataset: int = 512
    max_purposes_per_field: int = 16
    # Job files, task reports and nesting of any YAML or JSON document a caller sends.
    max_job_file_bytes: int = 64 * 1024
    max_report_bytes: int = 256 * 1024
    max_nesting: int = 32

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"limits.{name} must be positive")


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; not thread-safe (callers hold a lock)."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = now

    def take(self, now: float) -> bool:
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class RefusalLog:
    """Logs refusals once per burst: the first one, then a count per interval."""

    def __init__(self, on_burst: Callable[[str, str, int], object] | None = None) -> None:
        self._seen: dict[tuple[str, str], list[float]] = {}  # -> [last logged, pending count]
        self._lock = threading.Lock()
        self._on_burst = on_burst

    def refused(self, caller: str, what: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._seen.setdefault((caller, what), [-REFUSAL_LOG_INTERVAL_S, 0])
            entry[1] += 1
            if now - entry[0] < REFUSAL_LOG_INTERVAL_S:
                return
            count = int(entry[1])
            entry[0], entry[1] = now, 0
        log.warning(
            "refused %d call(s) from %s: %s (counted, logged at most every %.0f s)",
            count,
            caller,
            what,
            REFUSAL_LOG_INTERVAL_S,
        )
        if self._on_burst is not None:
            self._on_burst(caller, what, count)


class Exhausted(Exception):
    """A caller went over one of its limits; the message names the limit."""


class CallerLimits:
    """Per-certificate token buckets and stream counts."""

    def __init__(self, limits: Limits, refusals: RefusalLog) -> None:
        self.limits = limits
        self.refusals = refusals
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._streams: dict[str, int] = {}
        self._lock = threading.Lock()

    def _take(self, caller: str, kind: str, rate: float, burst: int) -> bool:
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get((caller, kind))
            if bucket is None:
                bucket = self._buckets[(caller, kind)] = TokenBucket(rate, burst, now)
            return bucket.take(now)

    def admit_request(self, caller: str) -> None:
        """Raises ``Exhausted`` when ``caller`` is over its unary request rate."""
        lim = self.limits
        self._admit(caller, "requests", lim.requests_per_s, lim.request_burst)

    def admit_envelope(self, caller: str) -> None:
        """Raises ``Exhausted`` when ``caller`` sends envelopes faster than its rate."""
        lim = self.limits
        self._admit(caller, "envelopes", lim.envelopes_per_s, lim.envelope_burst)

    def _admit(self, caller: str, what: str, rate: float, burst: int) -> None:
        if self._take(caller, what, rate, burst):
            return
        setting = f"limits.{what}_per_s"
        self.refusals.refused(caller, f"{what[:-1]} rate ({setting})")
        raise Exhausted(
            f"more than {rate:g} {what} per second from this certificate ({setting}); "
            "slow down and retry"
        )

    def open_watch(self, caller: str) -> Callable[[], None]:
        """Take one of ``caller``'s watch slots; return the function that gives it back.

        Raises
        ------
        Exhausted
            The caller, or the coordinator as a whole, has every watch slot taken.
        """
        lim = self.limits
        with self._lock:
            mine = self._streams.get(caller, 0)
            total = sum(self._streams.values())
            if mine >= lim.watch_streams_per_caller or total >= lim.watch_streams_total:
                full = mine >= lim.watch_streams_per_caller
                problem = (
                    f"this certificate already has {mine} open job watches "
                    f"(limits.watch_streams_per_caller = {lim.watch_streams_per_caller})"
                    if full
                    else f"the coordinator has {total} open job watches "
                    f"(limits.watch_streams_total = {lim.watch_streams_total})"
                )
                admitted = False
            else:
                self._streams[caller] = mine + 1
                admitted = True
        if not admitted:
            self.refusals.refused(caller, "job watches (limits.watch_streams_*)")
            raise Exhausted(f"{problem}; close one and retry")

        def release() -> None:
            with self._lock:
                self._streams[caller] -= 1
                if not self._streams[caller]:
                    del self._streams[caller]

        return release


def caller_key(who: Principal) -> str:
    return f"{who.organization}/{who.node_id}"


class LimitInterceptor(WrappingInterceptor):
    """Applies ``CallerLimits`` to every coordinator call (after authentication).

    Unary calls and the opening of a ``Subscribe`` stream spend from the caller's request
    bucket, ``Send`` from its envelope bucket; ``WatchJob`` holds a watch slot for as long as the
    stream is open. Open ``Subscribe`` streams are bounded by the relay itself (one per node id:
    a new one replaces, and so closes, the old).
    """

    def __init__(self, limits: CallerLimits, identify: Callable[[grpc.ServicerContext], Principal]):
        self._limits = limits
        self._identify = identify

    def wrap(self, method: str, behavior: Behavior, streams_responses: bool) -> Behavior:
        if not method.startswith(_SERVICE):
            return behavior
        if method == WATCH:

            def watched(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                caller = caller_key(self._identify(context))
                try:
                    release = self._limits.open_watch(caller)
                except Exhausted as exc:
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
                try:
                    yield from behavior(request, context)
                finally:
                    release()

            return watched

        admit = self._limits.admit_envelope if method == SEND else self._limits.admit_request

        def limited(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                admit(caller_key(self._identify(context)))
            except Exhausted as exc:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
            return behavior(request, context)

        return limited
