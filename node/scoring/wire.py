"""What bank and holders say to each other about scoring and authorizations (sealed JSON).

Every message travels as the payload of a sealed envelope under job key ``svc/scoring``, so
the coordinator relays it without reading it. Format (``v`` is the format version)::

    score request   {"v": 1, "id", "model", "job", "refs": [...], "firms": [pseudonym, ...]}
    score answer    {"v": 1, "id", "error", "version", "status": [...], "score": [...],
                     "reasons": [[[code, contribution], ...], ...], "flags": [[code, ...], ...],
                     "detail": [...]}
    records         {"v": 1, "id", "grants": [{...record, "firm": pseudonym}],
                     "revocations": [{"record_id", "revocation_id", "at"}]}
    records answer  {"v": 1, "id", "stored", "pending", "revoked", "error"}

Firms are named by pair pseudonyms (``node.scoring.keys``), never codes; answers carry
partial log-odds, coded reasons and flags, never a feature value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

JOB_KEY: Final = "svc/scoring"
SCORE: Final = "score"
SCORED: Final = "scored"
RECORDS: Final = "records"
RECORDED: Final = "recorded"
VERSION: Final = 1
MAX_ITEMS: Final = 20_000


class MalformedMessage(ValueError):
    """A scoring message failed validation; nothing of it was used."""


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps({"v": VERSION, **message}, separators=(",", ":")).encode()


def decode(payload: bytes, required: tuple[str, ...]) -> dict[str, Any]:
    """Parse and check a message's version, keys and size.

    Raises
    ------
    MalformedMessage
        Not JSON, another version, a key missing, or too many items.
    """
    try:
        raw = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedMessage("not JSON") from None
    if not isinstance(raw, dict) or raw.get("v") != VERSION:
        raise MalformedMessage(f"not a version {VERSION} scoring message")
    missing = [k for k in required if k not in raw]
    if missing:
        raise MalformedMessage(f"missing {', '.join(missing)}")
    for key in ("firms", "grants"):
        items = raw.get(key, [])
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise MalformedMessage(f"{key} must be a list of at most {MAX_ITEMS}")
    return raw
