"""``fedcredit models deploy`` of the early-warning model: deployed only where the job's
federated AUC beats the bank alone's (from the summary the bank's node kept of the job),
otherwise refused and the bank's own model stays current unless ``--force``.

The job output is a real SecureBoost label-holder file (one split on the bank's own signal)
and the kept summary is the label holder's real ``GuestResult.summary()`` with the figures
each case needs, written by the function the node's task runner keeps it with.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from node.cli.app import app
from node.data.schema import DatasetSchema, FieldSpec, FieldType, dump_schema
from node.data.schema import Sensitivity as C
from node.jobs.summaries import keep_summary, kept_summary
from node.models import ModelRegistry
from node.monitoring.deployment import (
    NoGainOverBankAlone,
    beats_bank_alone,
    check_deployment,
    kept_yardstick,
)
from node.training.secureboost.model import (
    Ensemble,
    PartyPart,
    SplitRule,
    TreeNode,
    record_id,
    save_guest_model,
)
from node.training.secureboost.results import GuestResult
from tests.node.monitoring.support import POLICY_TEXT, bank_config

runner = CliRunner()
SIGNAL = "inflow__chg3m"


def _guest(job: str, auc: float, bank_only_auc: float) -> tuple[Ensemble, PartyPart, dict]:  # type: ignore[type-arg]
    tree = (
        TreeNode(left=1, right=2, party="bank", record=record_id(0, 0), gain=1.0),
        TreeNode(weight=0.4),
        TreeNode(weight=-0.3),
    )
    ensemble = Ensemble(-2.0, (tree,))
    part = PartyPart("bank", {record_id(0, 0): SplitRule(SIGNAL, -0.2, True)})
    figures = {"auc": auc, "ks": 0.3, "gini": 2 * auc - 1, "log_loss": 0.2}
    result = GuestResult(
        ensemble, part, 1, 0, figures, figures, [], {"train": 700, "test": 300}, {},
        {"bank_only": {"auc": bank_only_auc, "ks": 0.2, "gini": 2 * bank_only_auc - 1}},
    )  # fmt: skip
    return ensemble, part, {"aligned_rows": 1000, **result.summary()}


class BankNode:
    """The bank's config (its monitoring policy names ``sme-ew``), its table and state."""

    def __init__(self, root: Path) -> None:
        self.state = root / "state"
        table = root / "bank_ew.csv"
        pd.DataFrame({"firm_month": ["a@2026-01", "b@2026-01"], SIGNAL: [0.1, -0.5]}).to_csv(
            table, index=False
        )
        schema = DatasetSchema(
            name="bank_ew",
            id_column="firm_month",
            id_is_uscc=False,
            fields=(
                FieldSpec("firm_month", FieldType.STR, C.C3),
                FieldSpec(SIGNAL, FieldType.FLOAT, C.C2, required=False),
            ),
        )
        dump_schema(schema, root / "bank_ew.schema.yaml")
        policy = root / "monitoring.yaml"
        policy.write_text(POLICY_TEXT)
        files = (table, root / "bank_ew.schema.yaml")
        self.config = bank_config(root, {"bank_ew": files}, policy)

    def finished(self, job: str, auc: float, bank_only_auc: float, keep: bool = True) -> None:
        """A finished job at this node: its model part and, unless not ``keep``, its summary."""
        ensemble, part, summary = _guest(job, auc, bank_only_auc)
        save_guest_model(self.state / "jobs" / "models" / f"{job}.json", ensemble, part, job)
        if keep:
            keep_summary(self.state / "jobs", job, summary)

    def deploy(self, job: str, *extra: str, name: str = "sme-ew") -> tuple[int, str]:
        args = ["--config", str(self.config), "--job", job, "--name", name, "--dataset", "bank_ew"]
        result = runner.invoke(app, ["models", "deploy", *args, *extra])
        return result.exit_code, " ".join(result.output.split())

    def models(self, *args: str) -> tuple[int, str]:
        """``fedcredit models COMMAND --config CONFIG ARGS``: exit code and one-line output."""
        command, *rest = args
        result = runner.invoke(app, ["models", command, "--config", str(self.config), *rest])
        return result.exit_code, " ".join(result.output.split())

    def current(self, name: str = "sme-ew") -> str:
        registry = ModelRegistry(self.state)
        try:
            return registry.current(name).job_id
        finally:
            registry.close()


@pytest.fixture
def bank(tmp_path: Path) -> BankNode:
    return BankNode(tmp_path)


def test_a_federated_model_that_beats_the_bank_alone_is_deployed(bank: BankNode) -> None:
    bank.finished("ew1", auc=0.81, bank_only_auc=0.74)
    code, out = bank.deploy("ew1")
    assert code == 0, out
    assert "deployed sme-ew@1" in out and "beats the bank alone" in out
    assert "federated AUC 0.8100, bank alone 0.7400 (the job's test rows, 1000 aligned" in out
    assert bank.current() == "ew1"


def test_one_that_does_not_is_refused_and_the_current_version_stays(bank: BankNode) -> None:
    # prepare: a first model in service
    bank.finished("ew1", auc=0.81, bank_only_auc=0.74)
    assert bank.deploy("ew1")[0] == 0
    # execute: a retrained model no better than the bank alone (a tie counts as no better)
    bank.finished("ew2", auc=0.74, bank_only_auc=0.74)
    code, out = bank.deploy("ew2")
    # assert: refused in one line with both figures and the way forward; nothing deployed
    assert code == 1, out
    assert "not deployed: job ew2: federated AUC 0.7400, bank alone 0.7400" in out
    assert "--force" in out and "Traceback" not in out
    assert bank.current() == "ew1"
    assert len(ModelRegistry(bank.state).list("sme-ew")) == 1
    # execute: forced
    code, out = bank.deploy("ew2", "--force")
    # assert
    assert code == 0 and "warning:" in out and "deployed sme-ew@2" in out, out
    assert bank.current() == "ew2"


def test_other_models_and_jobs_without_figures_are_deployed_as_before(bank: BankNode) -> None:
    # a model the monitoring policy does not name is not the early-warning model
    bank.finished("pd1", auc=0.60, bank_only_auc=0.70)
    code, out = bank.deploy("pd1", name="sme-pd")
    assert code == 0 and "beats" not in out and bank.current("sme-pd") == "pd1", out
    # no summary kept at this node: deployed, and said so
    bank.finished("ew0", auc=0.60, bank_only_auc=0.70, keep=False)
    code, out = bank.deploy("ew0")
    assert code == 0 and "kept no bank-alone figure for job ew0" in out, out


def test_the_kept_summary_and_the_rule_the_bench_shares(bank: BankNode) -> None:
    bank.finished("ew1", auc=0.81, bank_only_auc=0.74)
    assert kept_summary(bank.state / "jobs", "ew1")["bank_only"]["auc"] == 0.74  # type: ignore[index]
    found = kept_yardstick(bank.state, "ew1")
    assert found is not None and found.federated_wins and found.split == "test"
    assert kept_yardstick(bank.state, "nope") is None
    assert beats_bank_alone(0.75, 0.74) and not beats_bank_alone(0.74, 0.74)
    # the rule as any deploying code calls it
    bank.finished("ew2", auc=0.70, bank_only_auc=0.74)
    with pytest.raises(NoGainOverBankAlone, match=r"bank alone 0\.7400") as refused:
        check_deployment(bank.state, "ew2", "sme-ew")
    assert refused.value.yardstick == kept_yardstick(bank.state, "ew2")  # the figures judged
    assert not check_deployment(bank.state, "ew2", "sme-ew", force=True).federated_wins
    with pytest.raises(LookupError, match="no bank-alone figure for job nope"):
        check_deployment(bank.state, "nope", "sme-ew")


def test_a_configured_policy_that_does_not_load_refuses_the_deployment(bank: BankNode) -> None:
    # prepare: a model no better than the bank alone, and the policy naming sme-ew broken
    bank.finished("ew1", auc=0.70, bank_only_auc=0.74)
    policy = bank.config.parent / "monitoring.yaml"
    policy.write_text("model: [unclosed\n")
    # execute
    code, out = bank.deploy("ew1")
    # assert: refused in one line naming the policy and the way forward, nothing deployed
    assert code == 3, out
    assert "cannot check the early-warning deployment rule" in out and "monitoring.yaml" in out
    assert "--force" in out and "Traceback" not in out
    assert ModelRegistry(bank.state).list("sme-ew") == []
    # a missing policy file is refused the same way
    policy.unlink()
    code, out = bank.deploy("ew1")
    assert code == 3 and "cannot be read" in out, out
    # execute: forced, deployed without the check
    code, out = bank.deploy("ew1", "--force")
    assert code == 0 and "deployed sme-ew@1" in out, out


def test_only_the_policy_of_the_monitoring_section_has_a_say(bank: BankNode) -> None:
    # prepare: a webhook sink whose secret file cannot be read (the node would refuse to
    # start on it), beside a policy that loads
    raw = yaml.safe_load(bank.config.read_text())
    missing = bank.config.parent / "no-such-secret"
    raw["monitoring"]["sinks"] = [
        {"webhook": "https://alerts.example", "secret_file": str(missing)}
    ]
    bank.config.write_text(yaml.safe_dump(raw))
    bank.finished("ew1", auc=0.81, bank_only_auc=0.74)
    bank.finished("pd1", auc=0.60, bank_only_auc=0.70)
    # execute / assert: both models are deployed and promoted, the rule judged on the policy
    code, out = bank.deploy("ew1")
    assert code == 0 and "beats the bank alone: job ew1" in out, out
    assert bank.deploy("pd1", "--no-promote", name="sme-pd")[0] == 0
    code, out = bank.models("promote", "sme-pd", "1")
    assert code == 0 and bank.current("sme-pd") == "pd1", out


def test_promote_applies_the_same_rule(bank: BankNode) -> None:
    # prepare: ew1 in service; ew2, no better than the bank alone, deployed but not current
    bank.finished("ew1", auc=0.81, bank_only_auc=0.74)
    bank.finished("ew2", auc=0.70, bank_only_auc=0.74)
    assert bank.deploy("ew1")[0] == 0
    assert bank.deploy("ew2", "--force", "--no-promote")[0] == 0
    # execute: promoted without --force
    code, out = bank.models("promote", "sme-ew", "2")
    # assert: refused in one line with both figures and the way forward; ew1 stays
    assert code == 1, out
    assert "not promoted: job ew2: federated AUC 0.7000, bank alone 0.7400" in out
    assert "promote it anyway with --force" in out and "Traceback" not in out
    assert bank.current() == "ew1"
    # forced: promoted, with a warning
    code, out = bank.models("promote", "sme-ew", "2", "--force")
    assert code == 0 and "sme-ew@2 is current" in out and "warning:" in out, out
    assert bank.current() == "ew2"
    # a version that beats is promoted with its figures; other models are not judged
    code, out = bank.models("promote", "sme-ew", "1")
    assert code == 0 and "beats the bank alone: job ew1" in out, out
    bank.finished("pd1", auc=0.60, bank_only_auc=0.70)
    assert bank.deploy("pd1", "--no-promote", name="sme-pd")[0] == 0
    code, out = bank.models("promote", "sme-pd", "1")
    assert code == 0 and "beats" not in out and bank.current("sme-pd") == "pd1", out


def test_a_version_deployed_without_promotion_is_judged_when_promoted(bank: BankNode) -> None:
    # prepare: ew1 in service; ew2 no better than the bank alone
    bank.finished("ew1", auc=0.81, bank_only_auc=0.74)
    bank.finished("ew2", auc=0.70, bank_only_auc=0.74)
    assert bank.deploy("ew1")[0] == 0
    # execute: ew2 deployed without promotion, with and without --force
    for extra in ((), ("--force",)):
        code, out = bank.deploy("ew2", "--no-promote", *extra)
        # assert: deployed, not current, and nothing says it is in service
        assert code == 0 and "deployed sme-ew@" in out and ", current" not in out, out
        assert "in service" not in out and "warning" not in out and "beats" not in out, out
    assert bank.current() == "ew1"
    # the rule applies when one of them is put into service
    code, out = bank.models("promote", "sme-ew", "2")
    assert code == 1 and "not promoted: job ew2" in out, out
    assert bank.current() == "ew1"


def test_rollback_is_never_held_back_and_says_what_it_returns_to(bank: BankNode) -> None:
    # prepare: ew1 forced into service although no better, then ew2 that beats
    bank.finished("ew1", auc=0.70, bank_only_auc=0.74)
    bank.finished("ew2", auc=0.81, bank_only_auc=0.74)
    assert bank.deploy("ew1", "--force")[0] == 0
    assert bank.deploy("ew2")[0] == 0
    # execute: ew2 misbehaves in service; the bank rolls back to the forced ew1
    code, out = bank.models("rollback", "sme-ew")
    # assert: rolled back, and warned that ew1 does not beat the bank alone
    assert code == 0 and "rolled back: sme-ew@1 is current" in out, out
    assert "warning: job ew1: federated AUC 0.7000, bank alone 0.7400" in out
    assert "put into service with --force" in out
    assert bank.current() == "ew1"
