"""Tests of node.policy.release: the extract is masked, filtered, serialized and recorded."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from node.consent.gate import ReleaseFirms
from node.policy import (
    FilterNotPermitted,
    PurposeNotPermitted,
    ReleaseQueryError,
    ReleaseRequest,
    RuleMissing,
    UnknownOrganization,
    build_release,
)
from tests.node.consent.test_gate import TOKENS, consent_store

from .conftest import BANK, THIRD, Caller

FIELDS = ("uscc", "legal_rep_id_number", "legal_rep_phone", "industry_code", "tax_paid_12m")


def test_release_is_masked_recorded_and_hashed(engine, gov_frame) -> None:
    # prepare
    records = []
    request = ReleaseRequest("government", FIELDS, filter="industry_code == 'C13'")
    expected_rows = int((gov_frame["industry_code"] == "C13").sum())
    # execute
    release = build_release(engine, BANK, request, gov_frame, on_record=records.append)
    # assert: the table bytes are what the record hashes, and they decode to the frame
    record = release.record
    assert records == [record]
    assert record.sha256 == hashlib.sha256(release.table).hexdigest()
    decoded = pq.read_table(io.BytesIO(release.table)).to_pandas()
    assert list(decoded.columns) == list(FIELDS)
    assert len(decoded) == record.rows == expected_rows
    assert record.policy_version == engine.version
    assert (record.organization, record.node_id, record.role) == (
        BANK.organization,
        BANK.node_id,
        BANK.role,
    )
    assert record.query == {
        "dataset": "government",
        "fields": list(FIELDS),
        "purpose": "release",
        "filter": "industry_code == 'C13'",
        "format": "parquet",
    }
    assert record.transforms["legal_rep_id_number"] == "mask(style=resident_id)"
    # masked, not raw
    raw = set(gov_frame["legal_rep_id_number"]) | set(gov_frame["uscc"])
    assert not raw & (set(decoded["legal_rep_id_number"]) | set(decoded["uscc"]))
    assert decoded["tax_paid_12m"].str.startswith("[").all()


def test_csv_release(engine, gov_frame) -> None:
    # execute
    release = build_release(
        engine, BANK, ReleaseRequest("government", ("industry_code",), format="csv"), gov_frame
    )
    # assert
    decoded = pd.read_csv(io.BytesIO(release.table), dtype=str)
    assert decoded["industry_code"].tolist() == gov_frame["industry_code"].tolist()
    assert release.record.format == "csv" and release.record.rows == len(gov_frame)


def test_unknown_format_is_refused_before_any_data_is_read(engine, gov_frame) -> None:
    with pytest.raises(ValueError, match="parquet, csv"):
        build_release(engine, BANK, ReleaseRequest("government", FIELDS, format="xlsx"), gov_frame)


def test_release_by_unknown_organization_is_refused_and_nothing_is_recorded(
    engine, gov_frame, decisions
) -> None:
    # prepare
    records = []
    # execute
    with pytest.raises(UnknownOrganization):
        build_release(
            engine,
            Caller("unknown-lender", "n", "bank"),
            ReleaseRequest("government", ("industry_code",)),
            gov_frame,
            on_record=records.append,
        )
    # assert
    assert records == []
    assert decisions.snapshot()[-1].code == "unknown_organization"


def test_release_for_a_role_without_release_purpose_is_refused(engine, gov_frame) -> None:
    with pytest.raises(PurposeNotPermitted):
        build_release(engine, THIRD, ReleaseRequest("government", ("industry_code",)), gov_frame)


def test_release_of_a_field_without_release_rule_is_refused(engine, federation) -> None:
    # the bank default policy has no release rule for the label
    with pytest.raises(RuleMissing, match="default_12m"):
        build_release(engine, BANK, ReleaseRequest("bank", ("default_12m",)), federation.bank)


def test_filter_on_a_masked_field_is_refused(engine, gov_frame) -> None:
    # an exact-match filter on a masked id would reveal by the row count whether a guess is right
    request = ReleaseRequest(
        "government", ("industry_code",), filter="legal_rep_id_number == '110105199001011232'"
    )
    with pytest.raises(FilterNotPermitted) as info:
        build_release(engine, BANK, request, gov_frame)
    assert "110105199001011232" not in str(info.value)


def test_filter_outside_the_syntax_is_refused(engine, gov_frame) -> None:
    request = ReleaseRequest("government", ("industry_code",), filter="industry_code.str.len() > 0")
    with pytest.raises(ReleaseQueryError):
        build_release(engine, BANK, request, gov_frame)


def test_scoring_purpose_through_release(engine, gov_frame) -> None:
    # the wire request carries a purpose; scoring values for a bank are the raw features
    request = ReleaseRequest("government", ("tax_paid_12m",), purpose="scoring")
    release = build_release(engine, BANK, request, gov_frame)
    assert release.frame["tax_paid_12m"].tolist() == gov_frame["tax_paid_12m"].tolist()


def test_a_release_withholds_and_counts_the_rows_of_unauthorized_firms(
    tmp_path: Path, engine, gov_frame: pd.DataFrame
) -> None:
    # prepare: the bank holds authorizations for three of the government's firms
    chosen = gov_frame["uscc"].astype(str).tolist()[:3]
    store = consent_store(tmp_path, {c: ("loan_approval",) for c in chosen}, BANK.organization)
    firms = ReleaseFirms(
        store, lambda codes: [TOKENS.token(c) for c in codes], "uscc", BANK.organization,
        "release",
    )  # fmt: skip
    request = ReleaseRequest("government", ("uscc", "tax_paid_12m"), format="csv")
    # execute
    release = build_release(engine, BANK, request, gov_frame, firms=firms)
    # assert
    record = release.record
    assert record.rows == 3 and record.withheld == len(gov_frame) - 3
    assert len(record.authorizations) == 3
    assert record.to_dict()["withheld"] == record.withheld
    assert set(firms.released) == {TOKENS.token(c) for c in chosen}
    assert len(firms.refused) == record.withheld
