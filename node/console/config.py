"""The ``console:`` section of a node or coordinator configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class ConsoleConfigError(ValueError):
    """The ``console:`` section is malformed; ``key`` names the bad key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class ConsoleConfig:
    """Where the console listens. Absent section: no console (the safe default).

    The console speaks HTTPS with the process's own certificate and requires a client
    certificate from the federation CA, so it is no more exposed than the gRPC port; it still
    listens on loopback unless ``listen`` says otherwise.
    """

    listen: str = "127.0.0.1:0"


def parse_console_config(raw: object) -> ConsoleConfig | None:
    """``console: {listen: HOST:PORT}``, ``console: {}`` (loopback, any free port) or nothing.

    Raises
    ------
    ConsoleConfigError
        The section is not a mapping, has unknown keys, or ``listen`` is not HOST:PORT.
    """
    if raw is None or raw is False:
        return None
    if raw is True:
        return ConsoleConfig()
    if not isinstance(raw, Mapping):
        raise ConsoleConfigError("console", "must be a mapping such as {listen: 127.0.0.1:8443}")
    unknown = sorted(set(raw) - {"listen"})
    if unknown:
        raise ConsoleConfigError(f"console.{unknown[0]}", "unknown key; the section takes listen")
    listen = str(raw.get("listen", "127.0.0.1:0"))
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConsoleConfigError("console.listen", f"{listen!r} is not HOST:PORT")
    return ConsoleConfig(listen)
