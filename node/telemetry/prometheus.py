"""Render the process's OpenTelemetry metrics in the Prometheus text format for ``/metrics``.

The in-memory reader installed by ``node.telemetry.setup`` is collected on each scrape and
converted to metric families of the ``prometheus_client`` library, which writes the
exposition format: ``fedcredit.rpc.server.duration`` becomes
``fedcredit_rpc_server_duration_seconds`` (a histogram), ``fedcredit.relay.bytes`` becomes
``fedcredit_relay_bytes_total`` and so on, as Prometheus' naming conventions ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

from opentelemetry.sdk.metrics.export import (
    Histogram,
    InMemoryMetricReader,
    Metric,
    Sum,
)
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.core import (
    Metric as PromMetric,
)

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_UNITS: Final = {"s": "seconds", "By": "bytes"}
_INVALID: Final = re.compile(r"[^a-zA-Z0-9_]")


def _name(metric: Metric) -> str:
    name = _INVALID.sub("_", metric.name)
    unit = _UNITS.get(metric.unit or "", "")
    return f"{name}_{unit}" if unit and not name.endswith(unit) else name


def _labels(attributes: Mapping[str, object] | None) -> dict[str, str]:
    return {_INVALID.sub("_", k): str(v) for k, v in (attributes or {}).items()}


def _family(metric: Metric) -> PromMetric | None:
    name, doc, data = _name(metric), metric.description or metric.name, metric.data
    if isinstance(data, Histogram):
        bars = list(data.data_points)
        keys = sorted({k for p in bars for k in _labels(p.attributes)})
        hist = HistogramMetricFamily(name, doc, labels=keys)
        for bar in bars:
            labels = _labels(bar.attributes)
            cumulative, buckets = 0, []
            for bound, count in zip(bar.explicit_bounds, bar.bucket_counts, strict=False):
                cumulative += count
                buckets.append((repr(float(bound)), cumulative))
            buckets.append(("+Inf", sum(bar.bucket_counts)))
            hist.add_metric([labels.get(k, "") for k in keys], buckets, bar.sum)
        return hist
    if isinstance(data, Sum):
        points = list(data.data_points)
        keys = sorted({k for p in points for k in _labels(p.attributes)})
        family: CounterMetricFamily | GaugeMetricFamily = (
            CounterMetricFamily(name.removesuffix("_total"), doc, labels=keys)
            if data.is_monotonic
            else GaugeMetricFamily(name, doc, labels=keys)
        )
        for point in points:
            labels = _labels(point.attributes)
            family.add_metric([labels.get(k, "") for k in keys], point.value)
        return family
    return None  # gauges of our own: none yet


class _Collector:
    """A ``prometheus_client`` collector over one OpenTelemetry reader."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self._reader = reader

    def collect(self) -> Iterator[PromMetric]:
        data = self._reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                yield from _families(scope.metrics)


def _families(metrics: Iterable[Metric]) -> Iterator[PromMetric]:
    for metric in metrics:
        family = _family(metric)
        if family is not None:
            yield family


def render(reader: InMemoryMetricReader) -> bytes:
    """The current value of every metric, in the Prometheus text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(reader))
    return generate_latest(registry)
