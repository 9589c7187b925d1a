"""What the bank and holders say to each other in a monitoring refresh (sealed JSON).

Monitoring rides the scoring service's envelopes (job key ``svc/scoring``, the same pair
pseudonyms and the same client at the bank), with topics of its own::

    chunk    monitor      {"v": 1, "id", "refresh", "as_of", "model", "job", "firms": [pseudonym]}
    answer   monitored    {"v": 1, "id", "error", "version", "status": [...], "score": [...],
                           "reasons": [[code, ...], ...], "flags": [[code, ...], ...]}
             (trees)      {..., "kind": "secureboost", "records": [...], "categories": [...],
                           "record_categories": [...], "directions": base64 of packed bits}
    end      monitor_end  {"v": 1, "id", "refresh", "as_of", "chunks"}
    answer   monitored    {"v": 1, "id", "error", "feed": {FeedReport}}
    probe    monitor_status {"v": 1, "id"}
    answer   monitored    {"v": 1, "id", "error", "latest_month", "version"}

A book is sent in chunks of at most ``node.scoring.wire.MAX_ITEMS`` firms; the end message
lets the holder measure its feed over the whole book (drift needs all of it) and forget the
refresh. The probe is how the bank's scheduler learns that a holder's panel changed (a new
month, a corrected file) without the coordinator learning when holders update. Answers carry
partial log-odds and coded reasons or, for trees, one bit per split and borrower (which side;
no threshold), coded flags, and feed figures (months, counts, PSI values),
never a firm's value.
"""

from __future__ import annotations

from typing import Final

MONITOR: Final = "monitor"
MONITOR_END: Final = "monitor_end"
MONITOR_STATUS: Final = "monitor_status"
MONITORED: Final = "monitored"
TOPICS: Final = (MONITOR, MONITOR_END, MONITOR_STATUS)
