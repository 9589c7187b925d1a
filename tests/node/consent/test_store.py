"""The authorization store: valid, expired, revoked, not yet valid, pending, purpose mismatch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node.audit.tokens import FirmTokenizer
from node.consent.exceptions import InvalidAuthorization, UnknownAuthorization
from node.consent.record import Authorization, Evidence
from node.consent.store import PENDING, ConsentStore, token_keys

NOW = 1_800_000_000.0
DAY = 86_400.0
EVIDENCE = Evidence("ab" * 32, "branch-7", NOW - DAY)
TOKENS = FirmTokenizer(b"k" * 32)


def _grant(
    n: int,
    token: str,
    purposes=("loan_approval",),
    start=NOW - DAY,
    end=NOW + DAY,
    recipient="bank-a",
) -> Authorization:  # type: ignore[no-untyped-def]
    record_id = f"auth-{n:016x}"
    return Authorization(record_id, token, recipient, tuple(purposes), start, end, EVIDENCE)


@pytest.fixture
def store(tmp_path: Path) -> ConsentStore:
    return ConsentStore(tmp_path / "auth.sqlite")


def test_each_verdict_names_why(store: ConsentStore) -> None:
    # prepare: one firm per case
    cases = ["valid", "expired", "future", "revoked", "other_purpose", "other_bank", "none"]
    firms = {k: TOKENS.token(f"9111000000000000{i:02d}") for i, k in enumerate(cases)}
    store.add(
        [
            _grant(1, firms["valid"]),
            _grant(2, firms["expired"], start=NOW - 9 * DAY, end=NOW - DAY),
            _grant(3, firms["future"], start=NOW + DAY, end=NOW + 9 * DAY),
            _grant(4, firms["revoked"]),
            _grant(5, firms["other_purpose"], purposes=("model_development",)),
            _grant(6, firms["other_bank"], recipient="bank-b"),
        ]
    )
    store.revoke("auth-0000000000000004", "rev-1", NOW - 60)
    # execute
    verdicts = {k: store.check(t, "bank-a", "scoring", NOW) for k, t in firms.items()}
    # assert
    assert verdicts["valid"].allowed and verdicts["valid"].record_id == "auth-0000000000000001"
    assert {k: v.reason for k, v in verdicts.items() if not v.allowed} == {
        "expired": "expired",
        "future": "not_yet_valid",
        "revoked": "revoked",
        "other_purpose": "no_authorization",
        "other_bank": "no_authorization",
        "none": "no_authorization",
    }
    # a revoked grant still covered uses before its revocation
    assert store.check(firms["revoked"], "bank-a", "scoring", NOW - 120).allowed
    # purposes map onto uses: model development covers training, not scoring
    assert store.check(firms["other_purpose"], "bank-a", "training", NOW).allowed


def test_the_batch_check_agrees_with_one_check_at_a_time(store: ConsentStore) -> None:
    # prepare: 2,000 firms, several grants each with random windows, purposes and recipients
    rng = np.random.default_rng(5)
    tokens = [TOKENS.token(f"91110000{i:010d}") for i in range(2000)]
    grants = []
    for n in range(5000):
        start = NOW + float(rng.uniform(-5, 1)) * DAY
        grants.append(
            _grant(n, tokens[int(rng.integers(0, 2000))],
                   purposes=(str(rng.choice(["loan_approval", "post_loan_monitoring"])),),
                   start=start, end=start + float(rng.uniform(0.5, 6)) * DAY,
                   recipient=str(rng.choice(["bank-a", "bank-b"])))
        )  # fmt: skip
    store.add(grants)
    for n in rng.choice(5000, 500, replace=False):
        store.revoke(f"auth-{int(n):016x}", "rev", NOW - float(rng.uniform(0, 2)) * DAY)
    # execute: every firm in a shuffled batch, a third of them asked twice
    asked = [tokens[int(i)] for i in rng.permutation([*range(2000), *range(0, 2000, 3)])]
    hi, lo = token_keys(asked)
    allowed, covering = store.check_many(hi, lo, "bank-a", "scoring", NOW)
    # assert: the same verdict and the same covering record as one check at a time
    for i, token in enumerate(asked):
        one = store.check(token, "bank-a", "scoring", NOW)
        assert one.allowed == bool(allowed[i]), i
        if one.allowed:
            assert store.record_id(int(covering[i])) == one.record_id
            assert store.get(one.record_id).covers("bank-a", "scoring", NOW)
        else:
            assert covering[i] == -1
    assert 0 < allowed.sum() < len(asked)
    covered = {store.check(t, "bank-a", "scoring", NOW).record_id for t in tokens}
    assert store.record_ids(covering[allowed]) == sorted(covered - {""})


def test_pending_records_join_the_index_once_the_firm_is_known(tmp_path: Path) -> None:
    # prepare: a record for a firm this party does not hold yet, kept under a pseudonym
    store = ConsentStore(tmp_path / "auth.sqlite")
    token = TOKENS.token("911100000000000001")
    store.add([_grant(1, f"{PENDING}bank:abc123")])
    assert not store.check(token, "bank-a", "scoring", NOW).allowed
    # execute: the firm appears; pending subjects resolve to its token
    moved = store.resolve_pending(lambda p: token if p == "bank:abc123" else None)
    # assert, also after a restart
    assert moved == 1 and store.check(token, "bank-a", "scoring", NOW).allowed
    store.close()
    assert ConsentStore(tmp_path / "auth.sqlite").check(token, "bank-a", "scoring", NOW).allowed


def test_records_are_kept_once_and_revocations_are_records(store: ConsentStore) -> None:
    token = TOKENS.token("911100000000000001")
    assert store.add([_grant(1, token)]) == ["auth-0000000000000001"]
    assert store.add([_grant(1, token)]) == []  # the same document again
    first = store.revoke("auth-0000000000000001", "rev-1", NOW)
    second = store.revoke("auth-0000000000000001", "rev-2", NOW + 5)
    assert (second.revoked_at, second.revocation_id) == (first.revoked_at, "rev-1")
    assert [r.record_id for r in store.for_subject(token)] == ["auth-0000000000000001"]


def test_bad_input_is_refused(store: ConsentStore) -> None:
    with pytest.raises(InvalidAuthorization, match="never a code"):
        store.check("911100000000000001", "bank-a", "scoring")
    with pytest.raises(InvalidAuthorization, match="no authorization purpose covers"):
        store.check(TOKENS.token("911100000000000001"), "bank-a", "marketing")
    with pytest.raises(UnknownAuthorization):
        store.revoke("auth-00000000000000ff", "rev")
    with pytest.raises(InvalidAuthorization, match="valid_to"):
        _grant(1, TOKENS.token("911100000000000001"), start=NOW, end=NOW - 1)
    with pytest.raises(InvalidAuthorization, match="unknown purpose"):
        _grant(1, TOKENS.token("911100000000000001"), purposes=("marketing",))
