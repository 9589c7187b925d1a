"""SecureBoost parts in the registry: holders answer with directions, the bank walks the trees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.models import ModelRegistry, TreePart, load_part
from node.models.part import JobContext, part_from_job
from node.scoring.answers import Answer
from node.scoring.combine import Gap, combine
from node.scoring.config import FlagRule
from node.scoring.engine import STATUSES, decide_many
from node.scoring.prepared import prepare
from node.training.secureboost import run_in_memory, save_guest_model, save_part, spec_from_job
from node.training.secureboost.model import directions_by_record, resolve_splits
from tests.node.scoring.parts import policy
from tests.node.training.secureboost.conftest import allow_all, credit_frames, section

__all__ = ["credit_frames"]  # the fixture, shared with the training tests

ROWS = 300  # firms scored (the model is trained on the fixture's 1,200 rows)


@pytest.fixture(scope="module")
def parts(
    credit_frames: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, TreePart]:
    """A three-party model trained in memory, each part deployed as its node would."""
    folder = tmp_path_factory.mktemp("secureboost-parts")
    spec = spec_from_job(section(trees=5, three_party=True), allow_all)
    results, errors = run_in_memory(spec, credit_frames)
    assert errors == {}
    save_guest_model(folder / "bank.json", results["bank"].ensemble, results["bank"].part, "sb-1")
    out: dict[str, TreePart] = {}
    for party in ("bank", "gov", "third"):
        if party != "bank":
            save_part(folder / f"{party}.json", results[party].part, "sb-1")
        part = part_from_job(
            folder / f"{party}.json", credit_frames[party], JobContext(party, "id")
        )
        assert isinstance(part, TreePart)
        out[party] = part
    return out


def _answer(part: TreePart, frame: pd.DataFrame, ok: np.ndarray) -> Answer:
    """What a holder sends for ``frame``'s firms (``ok``: the ones it answers for)."""
    categories = [f"GOV-{f.upper()}" for f in part.info.features]
    rule = FlagRule("GOV-HIGH", part.info.features[0], ">=", 1e9)
    prepared = prepare(part, frame, categories, [rule])
    rows = np.arange(len(frame))
    status = np.where(ok, 0, STATUSES.index("no_record")).astype(np.uint8)
    header = {"id": "x", "error": "", "version": "m@1", "kind": prepared.kind, "details": [],
              "flag_codes": list(prepared.flag_codes), **prepared.header}  # fmt: skip
    arrays = {"status": status, "detail": np.full(len(frame), -1, np.int16),
              **prepared.take(rows, ok)}  # fmt: skip
    return Answer.from_bytes(Answer(header, arrays).to_bytes())


def test_the_bank_walk_from_holders_bits_equals_the_trained_model(
    parts: dict[str, TreePart], credit_frames: dict[str, pd.DataFrame]
) -> None:
    # prepare: every party resolves its own splits; holders send only their bits
    frames = {p: f.head(ROWS) for p, f in credit_frames.items()}
    bank = parts["bank"]
    everyone = np.ones(ROWS, np.bool_)
    replies = {h: _answer(parts[h], frames[h], everyone) for h in ("gov", "third")}
    values = frames["bank"][list(bank.info.features)].to_numpy(np.float64)
    # execute
    contributions, holder_replies = combine(bank, values, replies)
    outcomes = decide_many(
        policy(), head=bank.head, names=bank.info.features, contributions=contributions,
        replies=holder_replies, amounts=np.full(ROWS, 1e5), bank_version="sb@1",
    )  # fmt: skip
    # assert: the decision's log-odds is the ensemble's margin from everyone's directions
    assert bank.ensemble is not None
    directions = {
        p: directions_by_record(sorted(parts[p].own.rules), resolve_splits(parts[p].own, frames[p]))
        for p in parts
    }
    expected = bank.ensemble.margin(directions, ROWS)
    np.testing.assert_allclose(outcomes.logit, expected, atol=1e-9)
    # the credits add up: bank features plus each holder's categories = margin - intercept
    credited = contributions.sum(axis=1) + sum(r.score for r in holder_replies)
    np.testing.assert_allclose(credited, expected - bank.head.intercept, atol=1e-9)
    # holders' reasons are their own categories, at most four, adverse only
    for reply in holder_replies:
        assert all(c.startswith("GOV-") for c in reply.categories)
        named = reply.reason_values[reply.reason_codes >= 0]
        assert (named > 0).all()


def test_an_unanswered_split_is_not_taken_and_credits_nobody(
    parts: dict[str, TreePart], credit_frames: dict[str, pd.DataFrame]
) -> None:
    frames = {p: f.head(ROWS) for p, f in credit_frames.items()}
    bank = parts["bank"]
    values = frames["bank"][list(bank.info.features)].to_numpy(np.float64)
    half = np.arange(ROWS) % 2 == 0
    replies = {"gov": _answer(parts["gov"], frames["gov"], half), "third": Gap("offline")}
    # execute
    contributions, holder_replies = combine(bank, values, replies)
    gov, third = holder_replies
    # assert: the gap and the firms gov did not answer for carry no credit; still finite
    assert (third.score == 0).all() and (gov.score[~half] == 0).all()
    assert np.isfinite(contributions).all() and np.isfinite(gov.score).all()
    assert gov.version == "m@1" and STATUSES[int(third.status[0])] == "offline"


def test_parts_deploy_roll_back_and_reload_identically(
    parts: dict[str, TreePart], tmp_path: Path, credit_frames: dict[str, pd.DataFrame]
) -> None:
    registry = ModelRegistry(tmp_path)
    deployed = registry.deploy("sme-trees", parts["gov"])
    again = registry.part(deployed)
    assert isinstance(again, TreePart) and again == parts["gov"]
    assert load_part(parts["bank"].to_dict()) == parts["bank"]
    frame = credit_frames["gov"].head(50)
    assert (again.directions(frame)[1] == parts["gov"].directions(frame)[1]).all()
    registry.close()
