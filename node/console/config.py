"""The ``console:`` section of a node or coordinator configuration."""

from __future__ import annotations

from typing import Final

from pydantic import Field, field_validator

from node.validation import FileModel, Invalid

PORT_FILE: Final = "console.port"
"""Written into the state folder once the console listens: how local tools find its port
(here, not beside the server, so that they need not import the web stack to read it)."""


class ConsoleConfig(FileModel):
    """The web console: HTTPS with the process's certificate, client certificates required.

    It is no more exposed than the gRPC port, and still listens on loopback unless ``listen``
    says otherwise. `console: true` or `{}` is loopback on any free port; no section (or
    `false`): no console, the safe default.
    """

    listen: str = Field(
        "127.0.0.1:0",
        examples=["127.0.0.1:8443"],
        description="HOST:PORT the console listens on (port 0: any free port).",
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise Invalid("must be HOST:PORT", "e.g. 127.0.0.1:8443")
        return value


def console_config(section: ConsoleConfig | bool | None) -> ConsoleConfig | None:
    """The console to serve, from a validated ``console:`` value (``None``: no console)."""
    if section is True:
        return ConsoleConfig()
    return section if isinstance(section, ConsoleConfig) else None
