"""The coordinator's part in a PSI job: collect every party's counts and check they agree.

The coordinator relays the parties' sealed messages but takes part only here: each party
sends it one SUMMARY of counts (set sizes, intersection size), never ids or points. The
coordinator returns the combined summary as the job result.
"""

from __future__ import annotations

from typing import Any

from node.jobs.hooks import JobHooks
from node.psi.exceptions import MalformedMessage, PsiAborted
from node.psi.protocol import TOPIC_SUMMARY
from node.psi.spec import PsiSpec
from node.psi.streaming import receive
from node.psi.wire import decode_summary
from node.transport.channel import PartyChannel

_COUNT_KEYS = ("input", "invalid", "intersection_size")


def run_psi_coordinator(channel: PartyChannel, hooks: JobHooks, spec: PsiSpec) -> dict[str, Any]:
    """Wait for every party's summary and return the job's JSON-able result (counts only).

    Raises
    ------
    PsiAborted
        A party reported that the run failed (the reason is an error class name only).
    PsiPeerLeft
        A party left before reporting, or reported nothing within ``spec.run_timeout_s``.
    MalformedMessage
        A summary is not valid, or a follower's intersection size disagrees with the leader's.
    """
    summaries: dict[str, dict[str, Any]] = {}
    for party in (spec.leader, *spec.followers):
        payload = receive(channel, party, TOPIC_SUMMARY, spec.run_timeout_s, "summary")
        summary = decode_summary(payload, party, TOPIC_SUMMARY)
        if summary.get("status") == "failed":
            culprit = summary.get("culprit")
            raise PsiAborted(
                culprit if isinstance(culprit, str) else party,
                f"{party!r} reported {summary.get('reason', 'a failure')}",
            )
        if not all(isinstance(summary.get(k), int) for k in _COUNT_KEYS):
            raise MalformedMessage(party, TOPIC_SUMMARY, "summary lacks its counts")
        summaries[party] = summary
    lead = summaries[spec.leader]
    for follower in spec.followers:
        if follower not in spec.required:
            continue
        if summaries[follower]["intersection_size"] != lead["intersection_size"]:
            raise MalformedMessage(
                follower, TOPIC_SUMMARY, "intersection size disagrees with the leader's"
            )
    result: dict[str, Any] = {
        "leader": spec.leader,
        "cardinality_only": spec.cardinality_only,
        "intersection_size": lead["intersection_size"],
        "subset_sizes": lead.get("subset_sizes", {}),
        "parties": {
            party: {k: s[k] for k in ("input", "invalid")} | {"valid": s["input"] - s["invalid"]}
            for party, s in summaries.items()
        },
    }
    hooks.progress("psi", 1, 1, {"intersection": float(result["intersection_size"])})
    hooks.record(
        "psi_run", {"intersection_size": result["intersection_size"], "parties": sorted(summaries)}
    )
    return result
