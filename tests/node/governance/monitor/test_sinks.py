"""Alert sinks: JSON lines in a file; JSON POSTed to a real local HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from node.governance.monitor.sinks import FileSink, WebhookSink

ALERT = {"alert_id": "a1", "principal": "bank-a/bank/bank", "severity": "high"}


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, object]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_file_sink_appends_one_json_object_per_line(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "gov" / "alerts.jsonl")
    sink(ALERT)
    sink({**ALERT, "alert_id": "a2"})
    lines = (tmp_path / "gov" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["alert_id"] for line in lines] == ["a1", "a2"]


def test_the_webhook_posts_json_and_close_waits_for_delivery(receiver: str) -> None:
    sink = WebhookSink(receiver)
    sink(ALERT)
    sink.close()
    assert Receiver.received == [("application/json", ALERT)]


def test_an_unreachable_webhook_does_not_block_the_caller(tmp_path: Path) -> None:
    sink = WebhookSink("http://127.0.0.1:9/unreachable", timeout=0.2)
    sink(ALERT)  # returns at once; delivery fails in the background and is logged
    sink.close()


def test_a_webhook_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookSink("ftp://ops.example/hook")
