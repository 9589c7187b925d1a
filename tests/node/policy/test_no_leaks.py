"""Nothing the policy protects appears in a log line, an error message, a decision, a release
record, or the bytes a release sends (for the C3 fields)."""

from __future__ import annotations

import io
import json
import logging

import pyarrow.parquet as pq
import pytest

from node.policy import PolicyDenied, PolicyEngine, ReleaseRequest, build_release
from node.policy.exceptions import PolicyError

from .conftest import BANK, POLICIES, THIRD, Caller

C3_GOV = ["uscc", "legal_rep_name", "legal_rep_id_number", "legal_rep_phone"]
C3_BANK = ["uscc", "account_no", "contact_phone"]


def test_logs_errors_decisions_and_records_hold_no_protected_value(
    caplog: pytest.LogCaptureFixture, node_key: bytes, decisions, federation
) -> None:
    # prepare
    gov = federation.government.head(100)
    bank = federation.bank.head(100)
    secrets = {str(v) for f in C3_GOV for v in gov[f]} | {str(v) for f in C3_BANK for v in bank[f]}
    secrets |= {str(v) for v in gov["firm_name"]} | {node_key.hex()}
    texts: list[str] = []
    records = []
    caplog.set_level(logging.DEBUG, logger="fedcredit")
    engine = PolicyEngine.load(POLICIES, node_key, on_decision=decisions)
    # execute: allowed uses, every kind of refusal, a release, a reload
    engine.apply(BANK, "training", "government", gov[["tax_paid_12m", "uscc"]])
    build_release(
        engine,
        BANK,
        ReleaseRequest("government", tuple(gov.columns), filter="industry_code != 'Z99'"),
        gov,
        on_record=records.append,
    )
    attempts = [
        (BANK, "scoring", "government", gov[["legal_rep_id_number"]]),
        (THIRD, "release", "government", gov[["uscc"]]),
        (Caller("nobody", "n", "bank"), "release", "bank", bank),
        (Caller("bank-b", "n", "auditor"), "training", "bank", bank),
        (BANK, "release", "bank", bank[["default_12m"]]),
    ]
    for who, purpose, dataset, frame in attempts:
        with pytest.raises(PolicyDenied) as info:
            engine.apply(who, purpose, dataset, frame)
        texts.append(str(info.value))
    with pytest.raises(PolicyError) as info:
        build_release(
            engine,
            BANK,
            ReleaseRequest("government", ("industry_code",), filter=f"uscc == '{gov['uscc'][0]}'"),
            gov,
        )
    texts.append(str(info.value))
    engine.reload()
    # assert
    texts += [r.getMessage() for r in caplog.records]
    texts += [json.dumps(d.to_dict(), ensure_ascii=False) for d in decisions.snapshot()]
    texts += [json.dumps(r.to_dict(), ensure_ascii=False) for r in records]
    assert len(caplog.records) >= 8 and len(records) == 1
    blob = "\n".join(texts)
    leaked = [s for s in secrets if s in blob]
    assert leaked == []


def test_release_bytes_carry_no_raw_c3_value(engine, federation) -> None:
    # prepare: the bytes are what crosses the wire
    gov = federation.government
    request = ReleaseRequest("government", tuple(gov.columns), format="csv")
    # execute
    release = build_release(engine, BANK, request, gov)
    # assert
    sent = release.table.decode("utf-8")
    for field in C3_GOV:
        assert not [v for v in gov[field] if v in sent], field


def test_parquet_release_carries_no_raw_c3_value(engine, federation) -> None:
    # prepare
    gov = federation.government
    # execute
    release = build_release(engine, BANK, ReleaseRequest("government", tuple(gov.columns)), gov)
    # assert: Parquet pages are compressed, so the table is read back rather than its bytes
    # searched; every cell and the schema's metadata are what the receiver gets
    table = pq.read_table(io.BytesIO(release.table))
    assert table.num_rows == len(gov)
    cells = [str(v) for column in table.columns for v in column.to_pylist()]
    sent = "\n".join([*cells, str(table.schema.metadata)])
    for field in C3_GOV:
        assert not [v for v in gov[field] if v in sent], field
