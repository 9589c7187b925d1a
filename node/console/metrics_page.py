"""``/metrics`` on a console port: the process's metrics for Prometheus, for operators.

A scraper presents an operator (or auditor) certificate like any console user; the scrape is
in the access log like any page view.
"""

from __future__ import annotations

from starlette.responses import Response

from node.console.app import Ask, Page
from node.pki.roles import AUDITOR, OPERATOR
from node.telemetry.prometheus import CONTENT_TYPE, render
from node.telemetry.setup import installed


def _scrape(ask: Ask) -> Page.Result:
    telemetry = installed()
    body = render(telemetry.reader) if telemetry is not None else b""
    return Response(body, media_type=CONTENT_TYPE)


def metrics_page() -> Page:
    return Page("/metrics", "metrics", "Metrics", frozenset({OPERATOR, AUDITOR}), _scrape,
                in_nav=False)  # fmt: skip
