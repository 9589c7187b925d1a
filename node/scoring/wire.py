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

A request's ``id`` is at most ``MAX_ID_CHARS`` letters, digits or ``._:-``: a holder
echoes it in every answer, a refusal included, so the bank's caller gets the answer at once;
a request whose id is not of that form is refused with an answer naming no request.

Firms are named by pair pseudonyms (``node.scoring.keys``), never codes; answers carry
partial log-odds, coded reasons and flags, never a feature value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

JOB_KEY: Final = "svc/scoring"
SCORE: Final = "score"
SCORED: Final = "scored"
RECORDS: Final = "records"
RECORDED: Final = "recorded"
VERSION: Final = 1
MAX_ITEMS: Final = 20_000
MAX_ID_CHARS: Final = 64
_ID: Final = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_ID_CHARS}}}")


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
    except (ValueError, UnicodeDecodeError, RecursionError):
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


def decode_request(payload: bytes, required: tuple[str, ...]) -> dict[str, Any]:
    """``decode`` for a request a holder answers: its ``id`` must be one it may echo.

    Raises
    ------
    MalformedMessage
        As ``decode``, or the id is not a string of the form ``request_id`` accepts.
    """
    raw = decode(payload, ("id", *required))
    if not _echoable(raw["id"]):
        raise MalformedMessage(
            f"id must be a string of 1 to {MAX_ID_CHARS} letters, digits or ._:-"
        )
    return raw


def request_id(payload: bytes) -> str:
    """The id of a request however malformed the rest, so a refusal reaches the bank's
    waiting caller at once rather than at its deadline; "" when there is none to echo.

    Only an id of the form ``decode_request`` accepts is returned: an answer or log line
    built from it carries no other part of the request (no pseudonym, reference or value).
    """
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    ident = raw.get("id") if isinstance(raw, dict) else None
    return ident if _echoable(ident) else ""


def _echoable(ident: object) -> TypeGuard[str]:
    return isinstance(ident, str) and _ID.fullmatch(ident) is not None
