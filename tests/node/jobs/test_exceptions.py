"""Failures leave a process only in words that cannot quote data."""

from __future__ import annotations

import pandas as pd
import pytest

from node.data import uscc
from node.jobs.exceptions import JobSpecError, public_message


def test_own_errors_keep_their_message() -> None:
    assert public_message(JobSpecError("job file", "needs a 'type'")) == (
        "JobSpecError: job file: needs a 'type'"
    )


def test_third_party_errors_are_reduced_to_their_class() -> None:
    # prepare: pandas quotes the value it could not convert
    code = "91350100M000100Y43"
    assert uscc.is_valid(code)
    with pytest.raises(ValueError) as err:
        pd.Series([code]).astype(float)
    assert code in str(err.value)
    # execute / assert
    message = public_message(err.value)
    assert code not in message
    assert message.startswith("ValueError")
