"""``kill -9`` in the middle of appends leaves a log that reopens and verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.log import AccessLog
from node.audit.reader import LogReader
from node.audit.verify import verify_log

from .conftest import make_entry

REPO = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import random, sys, threading
    sys.path.insert(0, sys.argv[3])
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from node.audit.log import AccessLog
    from tests.node.audit.conftest import make_entry

    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sys.argv[2]))
    log = AccessLog.open(sys.argv[1], key, "bank-a")
    out_lock = threading.Lock()

    def say(line):
        with out_lock:
            sys.stdout.write(line + "\\n")
            sys.stdout.flush()

    def single_appender():
        while True:
            say(f"ack {log.append(make_entry(7))}")

    threading.Thread(target=single_appender, daemon=True).start()
    rng = random.Random(5)
    n = 0
    while True:
        idx = log.append_many([make_entry(i) for i in range(rng.randrange(1, 60))])
        say(f"ack {idx[-1]}")
        n += 1
        if n % 10 == 0:
            say(f"cp {log.checkpoint().size}")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("run", range(2))
def test_sigkill_during_appends_leaves_a_verifiable_log(
    tmp_path: Path, signing_key: Ed25519PrivateKey, run: int
) -> None:
    # prepare
    raw = signing_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), raw.hex(), str(REPO)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acked = -1
    checkpoints = 0

    # execute: wait for real progress (acknowledged entries and checkpoints), then kill -9
    for line in child.stdout:
        kind, value = line.split()
        if kind == "ack":
            acked = max(acked, int(value))
        else:
            checkpoints += 1
        if checkpoints >= 3 + run and acked >= 500:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()

    # assert: everything acknowledged survived, and the log verifies as it is
    with LogReader.open(tmp_path) as reader:
        assert reader.size() > acked
        report = verify_log(reader, signing_key.public_key())
        assert report.ok and report.entries_checked == reader.size()
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append(make_entry(1))
        final = log.checkpoint()
    with LogReader.open(tmp_path) as reader:
        assert verify_log(reader, signing_key.public_key(), final).ok
