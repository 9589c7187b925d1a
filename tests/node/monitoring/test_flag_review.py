"""``fedcredit monitor review-flags``: each flag's track record from the bank's kept flags and
default records, the soft flags it proposes, and the policy file it rewrites on request.

The history is small enough to check by hand (horizon 2 months, flags kept for 2026-01 to
2026-04, so the raisings of 2026-01 and 2026-02 have a known outcome):

- GOV-TAX-ARREARS (orange, from PD 0.18) on B0..B4 in both months: B1 was in default since
  2026-01, so its two raisings do not count (8 left); B0 defaults 2026-03 (both of its
  raisings are followed by a default within 2 months), B2 2026-04 (only its 2026-02 raising
  is): 3 of 8, 0.375 >= 0.18 -> hard (the policy under test has it soft: a change);
- TP-SALES-COLLAPSE (yellow, from PD 0.06) on B5..B9 in both months, none defaults: 0 of 10
  -> soft; its 2026-03 and 2026-04 raisings have no known outcome yet and do not count;
- GOV-COURT-ENFORCEMENT (red) once: too few to judge, it stays as the policy says (hard);
- XX-OTHER, not in the policy, once: reported, not judged.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from node.audit import Action, Actor
from node.audit.log import AccessLog
from node.audit.sink import AuditSink
from node.audit.tokens import subject_tokenizer
from node.cli.app import app
from node.data.schema import FieldType, dump_schema
from node.data.synthetic.schemas import BANK_DEFAULTS
from node.data.uscc import generate
from node.monitoring.defaults import default_months
from node.monitoring.exceptions import MonitoringPolicyError, PanelError
from node.monitoring.flag_record import flag_record
from node.monitoring.flag_review import (
    TooLittleHistory,
    review_history,
    soft_flags_text,
)
from node.monitoring.policy import load_monitoring_policy, parse_monitoring_policy
from node.monitoring.policy_in_force import PolicyInForce
from node.monitoring.store import MonitoringStore
from node.runtime.secrets import node_secret
from tests.node.monitoring.support import POLICY_TEXT, bank_config, policy

runner = CliRunner()
SOFT_TAX = POLICY_TEXT.replace("soft_flags: []", "soft_flags: [GOV-TAX-ARREARS]")
DEFAULTS = {0: "2026-03-01", 1: "2026-01-01", 2: "2026-04-01"}


class Bank:
    """A bank node's files: config, policy, defaults dataset, state with its store."""

    def __init__(self, root: Path, policy_text: str = SOFT_TAX) -> None:
        rng = random.Random(7)
        self.codes = [generate(rng) for _ in range(10)]
        self.state = root / "state"
        self.state.mkdir()
        self.token = subject_tokenizer(node_secret(self.state)).token
        self.policy = root / "monitoring.yaml"
        self.policy.write_text(policy_text)
        frame = pd.DataFrame(
            {"uscc": [self.codes[i] for i in DEFAULTS], "default_month": list(DEFAULTS.values())}
        )
        frame.to_csv(root / "bank_defaults.csv", index=False)
        dump_schema(BANK_DEFAULTS, root / "bank_defaults.schema.yaml")
        files = (root / "bank_defaults.csv", root / "bank_defaults.schema.yaml")
        self.config = bank_config(root, {"bank_defaults": files}, self.policy)

    def store(self) -> MonitoringStore:
        return MonitoringStore(self.state / "monitoring" / "watch.sqlite")

    def keep_history(self) -> None:
        """The refreshes of 2026-01 .. 2026-04 and the flags they received (module docstring)."""
        firms = [self.token(c) for c in self.codes]
        store = self.store()
        for month in ("2026-01", "2026-02", "2026-03", "2026-04"):
            flags: list[list[str]] = [[] for _ in firms]
            for i in range(5):
                flags[i].append("GOV-TAX-ARREARS")
            for i in range(5, 10):
                flags[i].append("TP-SALES-COLLAPSE")
            if month == "2026-01":
                flags[3].append("GOV-COURT-ENFORCEMENT")
                flags[4].append("XX-OTHER")
            store.record_flags(month, firms, flags)
        store.record_flags("2026-02", firms, [["GOV-TAX-ARREARS"]] + [[]] * 9)  # a re-run
        store.close()

    def review(self, *args: str) -> tuple[int, str]:
        head = ["monitor", "review-flags", "--config", str(self.config)]
        result = runner.invoke(app, [*head, "--defaults", "bank_defaults", *args])
        return result.exit_code, result.output


def test_the_record_counts_performing_borrower_months_with_a_known_outcome() -> None:
    # B0: defaults month 5; raised at 1, 2, 3 (outcome known through month 4 at horizon 2:
    # months 1 and 2 count, 1 -> (1, 3] no, 2 -> (2, 4] no); B1 raised at 2, in default at 2
    raised = [("B0", 1, "F"), ("B0", 2, "F"), ("B0", 3, "F"), ("B1", 2, "F"), ("B2", 2, "F")]
    record = flag_record(raised, {"B0": 5, "B1": 2, "B2": 4}, horizon=2, through=4)
    assert (record["F"].raised, record["F"].defaulted) == (3, 1)  # B0 x2, B2 (defaults at 4)


def test_review_of_a_hand_checked_history_proposes_the_soft_flags(tmp_path: Path) -> None:
    # prepare
    bank = Bank(tmp_path)
    bank.keep_history()
    months = {bank.token(bank.codes[i]): m[:7] for i, m in DEFAULTS.items()}
    store = bank.store()
    # execute
    review = review_history(
        store, load_monitoring_policy(bank.policy), months, horizon=2, min_raised=5
    )
    store.close()
    # assert
    got = {v.code: (v.record.raised, v.record.defaulted, v.now, v.proposed)
           for v in review.verdicts}  # fmt: skip
    assert got == {
        "GOV-COURT-ENFORCEMENT": (1, 0, "hard", "too_few"),
        "GOV-TAX-ARREARS": (8, 3, "soft", "hard"),
        "TP-SALES-COLLAPSE": (10, 0, "hard", "soft"),
    }
    assert review.soft == {"TP-SALES-COLLAPSE"}
    assert review.record["XX-OTHER"].raised == 1
    assert (review.months[0], review.months[-1]) == ("2026-01", "2026-04")
    assert review.through == "2026-04"


def test_the_cli_prints_the_proposal_then_writes_it_only_when_asked(tmp_path: Path) -> None:
    # prepare
    bank = Bank(tmp_path)
    bank.keep_history()
    before = bank.policy.read_text()
    # execute: a proposal, as JSON
    code, out = bank.review("--horizon", "2", "--min-raised", "5", "--format", "json")
    # assert: the policy file is untouched
    assert code == 0, out
    body = json.loads(out)
    assert body["soft_flags"] == ["TP-SALES-COLLAPSE"] and not body["written"]
    tax = next(f for f in body["flags"] if f["code"] == "GOV-TAX-ARREARS")
    assert (tax["raised"], tax["defaulted"], tax["default_rate"], tax["from_pd"]) == (
        8, 3, 0.375, 0.18,
    )  # fmt: skip
    assert bank.policy.read_text() == before
    # execute: the table, then --write
    code, out = bank.review("--horizon", "2", "--min-raised", "5")
    assert code == 0 and "proposed: soft_flags: [TP-SALES-COLLAPSE]; --write" in out
    assert "judged through 2026-04 (the latest refresh month: give --through" in " ".join(
        out.split()
    )
    # --write is refused without --through (default records lag the refreshes), and so is a
    # format that is not one
    code, out = bank.review("--horizon", "2", "--min-raised", "5", "--write")
    assert code == 2 and "--write needs --through" in out and bank.policy.read_text() == before
    code, out = bank.review("--format", "yaml")
    assert code == 2 and "give json or table" in out
    through = ("--through", "2026-04")
    code, out = bank.review("--horizon", "2", "--min-raised", "5", "--write", *through)
    # assert: only the soft_flags line changed, its comment kept, and the file loads
    assert code == 0 and "wrote soft_flags: [TP-SALES-COLLAPSE]" in out, out
    after = bank.policy.read_text()
    pairs = zip(before.splitlines(), after.splitlines(), strict=True)
    changed = [(a, b) for a, b in pairs if a != b]
    assert len(changed) == 1 and changed[0][1].startswith("soft_flags: [TP-SALES-COLLAPSE]  # ")
    assert load_monitoring_policy(bank.policy).soft_flags == {"TP-SALES-COLLAPSE"}
    code, out = bank.review("--horizon", "2", "--min-raised", "5", "--write", *through)
    assert code == 0 and "the policy already says soft_flags: [TP-SALES-COLLAPSE]" in out


def test_too_little_history_is_one_line_naming_the_minimum_and_the_fix(tmp_path: Path) -> None:
    # prepare: no refresh kept yet
    bank = Bank(tmp_path)
    bank.store().close()
    # execute / assert
    code, out = bank.review()
    assert code == 2 and "keeps no refresh's flags yet" in out and "7 monthly refreshes" in out
    assert "Traceback" not in out
    # prepare: the hand-checked history, judged at the default minimum of 30 raisings
    bank.keep_history()
    before = bank.policy.read_text()
    # execute
    code, out = bank.review("--horizon", "2", "--write", "--through", "2026-04")
    # assert
    assert code == 2, out
    line = " ".join(out.split())
    assert "each needs at least 30 borrower-months" in line and "the most is 10" in line
    assert "2026-01 to 2026-04" in line and "--min-raised" in line
    assert bank.policy.read_text() == before
    with pytest.raises(TooLittleHistory):
        store = bank.store()
        try:
            review_history(store, policy(), {}, horizon=2)
        finally:
            store.close()


def test_bad_defaults_are_refused_by_row_never_by_value(tmp_path: Path) -> None:
    # prepare: default months kept as YYYY-MM text (a str column the dataset loader passes
    # as it is), one of them no month, so only the defaults reader can refuse it
    bank = Bank(tmp_path)
    bank.keep_history()
    frame = pd.read_csv(tmp_path / "bank_defaults.csv", dtype=str)
    frame["default_month"] = frame["default_month"].str[:7]
    frame.loc[1, "default_month"] = "2026-13"
    frame.to_csv(tmp_path / "bank_defaults.csv", index=False)
    fields = tuple(
        replace(f, dtype=FieldType.STR) if f.name == "default_month" else f
        for f in BANK_DEFAULTS.fields
    )
    dump_schema(replace(BANK_DEFAULTS, fields=fields), tmp_path / "bank_defaults.schema.yaml")
    # execute
    code, out = bank.review("--horizon", "2", "--min-raised", "5")
    # assert: refused naming the row, never the value
    line = " ".join(out.split())
    assert code == 2 and "row 2 of the defaults dataset" in line, out
    assert "2026-13" not in out and "Traceback" not in out


def test_the_policy_text_is_rewritten_in_place_in_every_form() -> None:
    # a block list goes with its items; a missing key is added; the result must validate
    block = POLICY_TEXT.replace(
        "soft_flags: []", "soft_flags:\n  - GOV-TAX-ARREARS\n  - TP-SALES-COLLAPSE"
    )
    new = soft_flags_text(block, ["GOV-COURT-ENFORCEMENT"], "p.yaml")
    assert parse_monitoring_policy(new).soft_flags == {"GOV-COURT-ENFORCEMENT"}
    assert "  - GOV-TAX-ARREARS" not in new and "release_after: 3" in new
    bare = "\n".join(line for line in POLICY_TEXT.splitlines() if not line.startswith("soft_"))
    added = soft_flags_text(bare, ["TP-SALES-COLLAPSE"], "p.yaml")
    assert parse_monitoring_policy(added).soft_flags == {"TP-SALES-COLLAPSE"}
    with pytest.raises(MonitoringPolicyError, match="soft_flags: must list codes named"):
        soft_flags_text(POLICY_TEXT, ["XX-UNKNOWN"], "p.yaml")
    # valid forms it cannot replace in place: said so, with the line to set by hand
    for form in (
        "soft_flags:\n  - GOV-TAX-ARREARS\n  # kept for now\n  - TP-SALES-COLLAPSE",
        "soft_flags:\n  - GOV-TAX-ARREARS\n\n  - TP-SALES-COLLAPSE",
        "soft_flags: [GOV-TAX-ARREARS,\n  TP-SALES-COLLAPSE]",
    ):
        text = POLICY_TEXT.replace("soft_flags: []", form)
        assert parse_monitoring_policy(text).soft_flags == {"GOV-TAX-ARREARS", "TP-SALES-COLLAPSE"}
        with pytest.raises(MonitoringPolicyError) as caught:
            soft_flags_text(text, ["GOV-COURT-ENFORCEMENT"], "p.yaml")
        said = str(caught.value)
        assert "cannot be rewritten in place" in said and "YAML" not in said
        assert said.endswith("set it by hand: soft_flags: [GOV-COURT-ENFORCEMENT]")


def test_default_months_keep_each_firms_first_default_and_refuse_by_row() -> None:
    frame = pd.DataFrame(
        {"uscc": ["A", "B", "A"], "default_month": ["2026-05-01", "2026-02", "2026-03-01"]}
    )
    assert default_months(frame, "uscc") == {"A": "2026-03", "B": "2026-02"}
    frame.loc[2, "default_month"] = "March 2026"
    with pytest.raises(PanelError, match="row 3 of the defaults dataset") as caught:
        default_months(frame, "uscc")
    assert "March" not in str(caught.value)
    with pytest.raises(PanelError, match="no default_month column"):
        default_months(frame.drop(columns="default_month"), "uscc")


def test_a_written_proposal_is_recorded_in_the_access_log_before_a_refresh_uses_it(
    tmp_path: Path,
) -> None:
    # prepare: the bank's node holds its policy in force and its access log open
    bank = Bank(tmp_path)
    bank.keep_history()
    store = bank.store()
    old = hashlib.sha256(bank.policy.read_bytes()).hexdigest()
    access_log = AccessLog.open(bank.state / "audit", Ed25519PrivateKey.generate(), "bank")
    sink = AuditSink(access_log, Actor("bank-a", "bank", "node"))
    in_force = PolicyInForce(bank.policy, store, sink)
    assert in_force.get().version == old and access_log.size() == 0  # first use: no change
    # execute: the operator writes the review's proposal into the policy file
    code, out = bank.review(
        "--horizon", "2", "--min-raised", "5", "--through", "2026-04", "--write"
    )
    assert code == 0 and "records the change in the node's access log" in " ".join(out.split())
    new = hashlib.sha256(bank.policy.read_bytes()).hexdigest()
    # execute: the next refresh takes the policy up (twice: recorded once)
    assert in_force.get().version == new and in_force.get().version == new
    # assert: one policy_change entry with both SHA-256 and the flags that changed
    changes = _policy_changes(access_log)
    assert [(c["old_sha256"], c["new_sha256"]) for c in changes] == [(old, new)]
    assert changes[0]["flags_changed"] == "GOV-TAX-ARREARS,TP-SALES-COLLAPSE"
    assert changes[0]["soft_flags"] == "TP-SALES-COLLAPSE"
    # prepare: a refresh used the new policy; the node stops, the file is edited back by hand
    store.add_refresh("r1", "2026-04", 0.0, 1.0, {"policy": new[:16]})
    bank.policy.write_text(SOFT_TAX)
    # execute: the restarted node takes it up
    assert PolicyInForce(bank.policy, store, sink).get().version == old
    # assert: compared with the policy the last refresh used
    changes = _policy_changes(access_log)
    assert [(c["old_sha256"], c["new_sha256"]) for c in changes][-1] == (new, old)
    access_log.close()
    store.close()


def _policy_changes(access_log: AccessLog) -> list[dict[str, object]]:
    entries = [access_log.entry(i) for i in range(access_log.size())]
    return [dict(e.details) for e in entries if e.action is Action.POLICY_CHANGE]
