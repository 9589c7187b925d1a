"""The model registry: versions, current, serving by job, promote, roll back, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.models import ModelError, ModelNotFound, ModelRegistry, PartFormatError, load_part
from tests.node.scoring.parts import bank_part


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path)


def test_versions_count_up_and_the_newest_is_current(registry: ModelRegistry) -> None:
    # execute
    first = registry.deploy("sme-pd", bank_part(job="j1"))
    second = registry.deploy("sme-pd", bank_part(job="j2"))
    staged = registry.deploy("sme-pd", bank_part(job="j3"), promote=False)
    # assert
    assert (first.version, second.version, staged.version) == (1, 2, 3)
    assert registry.current("sme-pd").label() == "sme-pd@2"
    assert [d.current for d in registry.list("sme-pd")] == [False, True, False]


def test_a_holder_serves_the_newest_part_of_the_requested_job(registry: ModelRegistry) -> None:
    registry.deploy("sme-pd", bank_part(job="j1"))
    registry.deploy("sme-pd", bank_part(job="j2"))
    registry.deploy("sme-pd", bank_part(job="j1", intercept=0.5))
    assert registry.serving("sme-pd", "j1").version == 3
    assert registry.serving("sme-pd", "j2").version == 2
    with pytest.raises(ModelNotFound):
        registry.serving("sme-pd", "j9")


def test_rollback_retires_the_current_version_for_good(registry: ModelRegistry) -> None:
    # prepare
    registry.deploy("sme-pd", bank_part(job="j1"))
    registry.deploy("sme-pd", bank_part(job="j1", intercept=0.1))
    # execute
    back = registry.rollback("sme-pd")
    # assert: v1 current, v2 retired and no longer served or promotable
    assert back.label() == "sme-pd@1" and registry.current("sme-pd").version == 1
    assert registry.deployment("sme-pd", 2).status == "retired"
    assert registry.serving("sme-pd", "j1").version == 1
    with pytest.raises(ModelError, match="retired"):
        registry.promote("sme-pd", 2)
    with pytest.raises(ModelError, match="no earlier deployed version"):
        registry.rollback("sme-pd")


def test_promote_and_lookups_of_what_is_not_there(registry: ModelRegistry) -> None:
    registry.deploy("sme-pd", bank_part())
    registry.deploy("sme-pd", bank_part(), promote=False)
    assert registry.promote("sme-pd", 2).current
    with pytest.raises(ModelNotFound):
        registry.current("other")
    with pytest.raises(ModelNotFound):
        registry.deployment("sme-pd", 7)
    with pytest.raises(ModelError, match="must be 1-64"):
        registry.deploy("bad name!", bank_part())


def test_a_deployed_part_scores_as_it_did_before_storage(tmp_path: Path) -> None:
    # prepare
    part = bank_part()
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(20, 3)), columns=["a", "b", "c"])
    writer = ModelRegistry(tmp_path)
    deployed = writer.deploy("sme-pd", part)
    writer.close()
    # execute: another registry on the same folder (the node while the CLI deploys)
    stored = ModelRegistry(tmp_path).part(deployed)
    # assert
    np.testing.assert_array_equal(stored.partial_scores(frame), part.partial_scores(frame))
    np.testing.assert_allclose(
        stored.contributions(frame).sum(axis=1) + part.intercept, part.partial_scores(frame)
    )


def test_parts_of_unknown_format_or_kind_are_refused() -> None:
    body = bank_part().to_dict()
    with pytest.raises(PartFormatError, match="format 9 is not 1"):
        load_part({**body, "format": 9})
    with pytest.raises(PartFormatError, match="unknown model kind 'forest'"):
        load_part({**body, "kind": "forest"})
    with pytest.raises(PartFormatError, match="malformed logistic part"):
        load_part({**body, "weights": [1.0]})
