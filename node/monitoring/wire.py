"""What the bank and holders say to each other in a monitoring refresh (sealed JSON).

Monitoring rides the scoring service's envelopes (job key ``svc/scoring``, the same pair
pseudonyms and the same client at the bank), with topics of its own::

    chunk    monitor      {"v": 1, "id", "refresh", "as_of", "model", "job", "firms": [pseudonym]}
    answer   monitored    {"v": 1, "id", "error", "version", "status": [...], "score": [...],
                           "reasons": [[code, ...], ...], "flags": [[code, ...], ...]}
    end      monitor_end  {"v": 1, "id", "refresh", "as_of", "chunks"}
    answer   monitored    {"v": 1, "id", "error", "feed": {FeedReport}}

A book is sent in chunks of at most ``node.scoring.wire.MAX_ITEMS`` firms; the end message
lets the holder measure its feed over the whole book (drift needs all of it) and forget the
refresh. Answers carry partial log-odds, coded reasons and flags, and feed figures (months,
counts, PSI values), never a firm's value.
"""

from __future__ import annotations

from typing import Final

MONITOR: Final = "monitor"
MONITOR_END: Final = "monitor_end"
MONITORED: Final = "monitored"
TOPICS: Final = (MONITOR, MONITOR_END)
