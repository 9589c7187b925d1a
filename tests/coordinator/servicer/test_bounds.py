"""Input bounds and rate limits of the coordinator edge, on the real parsers and buckets."""

from __future__ import annotations

import grpc
import pytest

from coordinator.servicer.bounds import OutOfBounds, check_job_file, check_json
from coordinator.servicer.limits import CallerLimits, Exhausted, Limits, RefusalLog, TokenBucket

LIMITS = Limits()


@pytest.mark.parametrize(
    "spec",
    [
        b"[" * 50_000,
        b"{a: " * 40,
        b"type: check\nparties: " + b"[" * 33 + b"]" * 33,
        "".join(f"{' ' * i}k{i}:\n" for i in range(40)).encode(),
    ],
)
def test_job_files_nested_too_deep_are_refused(spec: bytes) -> None:
    with pytest.raises(OutOfBounds, match="nests deeper than 32") as err:
        check_job_file(spec, LIMITS)
    assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT


def test_brackets_inside_quoted_strings_do_not_count() -> None:
    check_job_file(b"type: check\nnote: '" + b"[" * 100 + b"'\nparties: {a: {}}\n", LIMITS)
    check_json("m", '{"k": "' + "{" * 100 + '"}', 1000, "x", LIMITS)


def test_job_file_aliases_and_oversize_are_refused() -> None:
    with pytest.raises(OutOfBounds, match="YAML alias"):
        check_job_file(b"a: &x [1]\nb: *x\n", LIMITS)
    with pytest.raises(OutOfBounds, match="max_job_file_bytes") as err:
        check_job_file(b"#" * (LIMITS.max_job_file_bytes + 1), LIMITS)
    assert err.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_deep_json_is_refused_before_json_parses_it() -> None:
    with pytest.raises(OutOfBounds, match="nests deeper"):
        check_json("metrics_json", "[" * 50_000, 10**6, "limits.max_report_bytes", LIMITS)


def test_token_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.1)  # one token back after 1/rate seconds
    assert not bucket.take(0.1)


def test_watch_slots_are_bounded_per_caller_and_given_back() -> None:
    limits = CallerLimits(Limits(watch_streams_per_caller=2), RefusalLog())
    releases = [limits.open_watch("a"), limits.open_watch("a")]
    with pytest.raises(Exhausted, match="watch_streams_per_caller"):
        limits.open_watch("a")
    limits.open_watch("b")  # another caller is not affected
    releases[0]()
    limits.open_watch("a")


def test_refusals_are_reported_once_per_burst() -> None:
    bursts: list[int] = []
    refusals = RefusalLog(lambda caller, what, count: bursts.append(count))
    for i in range(100):
        refusals.refused("x", "flood", now=i * 0.01)  # one second of refusals
    refusals.refused("x", "flood", now=20.0)
    assert bursts == [1, 100]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="requests_per_s"):
        Limits(requests_per_s=0)
