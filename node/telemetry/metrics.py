"""The federation's metrics, on the OpenTelemetry metrics API (the SDK is set up by daemons).

Every instrument is named ``fedcredit.*`` and takes only low-cardinality attributes from a
fixed vocabulary: method names, status codes, job types, stages, rule names and severities.
No attribute ever carries a job id, a party's data, an enterprise identifier or a value; a
test scrapes ``/metrics`` after a job and scans it for identifiers. Without an SDK every call
here is a no-op.
"""

from __future__ import annotations

from typing import Final

from opentelemetry import metrics

_meter = metrics.get_meter("fedcredit")

# Buckets for call and scoring latency, in seconds: loopback calls take about a millisecond,
# a Paillier-heavy Send or a federated score tens to hundreds of milliseconds.
LATENCY_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPC_DURATION: Final = _meter.create_histogram(
    "fedcredit.rpc.server.duration",
    unit="s",
    description="Time to serve a gRPC call (streams: until the stream ends)",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
)
RELAY_BYTES: Final = _meter.create_counter(
    "fedcredit.relay.bytes",
    unit="By",
    description="Sealed envelope bytes the coordinator relayed between parties",
)
RELAY_ENVELOPES: Final = _meter.create_counter(
    "fedcredit.relay.envelopes", description="Sealed envelopes the coordinator relayed"
)
JOB_PROGRESS: Final = _meter.create_counter(
    "fedcredit.job.progress",
    description="Progress steps parties reported: one per epoch, round or tree (by stage)",
)
SCORING_DURATION: Final = _meter.create_histogram(
    "fedcredit.scoring.duration",
    unit="s",
    description="Time for the bank's node to answer a decision request, parties included",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
)
ALERTS_RAISED: Final = _meter.create_counter(
    "fedcredit.alerts.raised", description="Early-warning alerts raised (by rule and severity)"
)
CONSOLE_REQUESTS: Final = _meter.create_counter(
    "fedcredit.console.requests", description="Console page views and actions (by view and outcome)"
)


def record_rpc(method: str, code: str, seconds: float) -> None:
    """One served call: ``method`` is ``Service/Method``, ``code`` a gRPC status name."""
    service, _, name = method.lstrip("/").partition("/")
    RPC_DURATION.record(
        seconds, {"rpc.service": service, "rpc.method": name, "rpc.grpc.status_code": code}
    )


def record_relay(size: int) -> None:
    """One envelope of ``size`` bytes pushed to its recipient's stream."""
    RELAY_BYTES.add(size)
    RELAY_ENVELOPES.add(1)


def record_progress(job_type: str, stage: str) -> None:
    """A party reported a step of ``stage`` (``epoch``, ``round``, ``tree``, ``psi/...``)."""
    JOB_PROGRESS.add(1, {"job.type": job_type, "stage": stage})


def record_scoring(kind: str, outcome: str, seconds: float) -> None:
    """One decision request (``single``/``batch``/``book``) and how it ended."""
    SCORING_DURATION.record(seconds, {"scoring.kind": kind, "outcome": outcome})


def record_alert(rule: str, severity: str) -> None:
    """One early-warning alert raised by ``rule``."""
    ALERTS_RAISED.add(1, {"rule": rule, "severity": severity})


def record_console(view: str, outcome: str) -> None:
    """One console request: the route's name (never its parameters) and allowed/denied."""
    CONSOLE_REQUESTS.add(1, {"view": view, "outcome": outcome})
