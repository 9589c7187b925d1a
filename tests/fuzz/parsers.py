"""Fuzz targets over every parser of untrusted input: each may only raise its own error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.harness import Target, expect, json_text, mutated, scratch_file

PSI = ("sender", "psi#1/points")


@functools.cache
def _envelope_parties() -> tuple[Any, Any, bytes]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from node.crypto.envelope import _RAW, seal

    sign, recipient = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    blob = seal(
        b"payload" * 8,
        sender="bank",
        sign_key=sign,
        recipient="gov",
        recipient_seal_public=recipient.public_key().public_bytes(*_RAW),
        job="job#1",
        topic="t",
    )
    return sign.public_key().public_bytes(*_RAW), recipient, blob


def envelope() -> Target:
    from node.crypto.envelope import ReplayGuard, open_envelope, peek_header
    from node.crypto.exceptions import InvalidEnvelope

    sign_public, recipient, valid = _envelope_parties()

    def check(blob: bytes) -> None:
        expect((InvalidEnvelope,), lambda: peek_header(blob))
        expect(
            (InvalidEnvelope,),
            lambda: open_envelope(
                blob,
                recipient="gov",
                seal_key=recipient,
                sender_sign_public=sign_public,
                replay_guard=ReplayGuard(),
            ),
        )

    return Target("envelope", mutated(valid), check)


@functools.cache
def _paillier() -> tuple[Any, Any, bytes, bytes]:
    # 512-bit keys: parsing and range checks do not depend on the key size, and generating
    # a 2048-bit key would cost the fuzz run seconds for nothing.
    from node.crypto.paillier import encrypt_many
    from node.crypto.paillier.keys import generate_keypair
    from node.crypto.paillier.serialization import (
        ciphertexts_to_bytes,
        private_key_to_bytes,
    )

    pk, sk = generate_keypair(512)
    blob = ciphertexts_to_bytes(encrypt_many(pk, [1, 2, 3]))
    return pk, sk, blob, private_key_to_bytes(sk)


def paillier() -> Target:
    from node.crypto.paillier.exceptions import InvalidCiphertext, InvalidKey
    from node.crypto.paillier.serialization import (
        ciphertexts_from_bytes,
        private_key_from_bytes,
        public_key_from_bytes,
        public_key_to_bytes,
    )

    pk, _, blob, private = _paillier()
    public = public_key_to_bytes(pk)

    def check(case: tuple[str, bytes]) -> None:
        kind, data = case
        if kind == "ciphertexts":
            expect((InvalidCiphertext,), lambda: ciphertexts_from_bytes(pk, data))
        elif kind == "public":
            expect((InvalidKey,), lambda: public_key_from_bytes(data))
        else:
            expect((InvalidKey,), lambda: private_key_from_bytes(data))

    return Target(
        "paillier",
        st.one_of(
            st.tuples(st.just("ciphertexts"), mutated(blob)),
            st.tuples(st.just("public"), mutated(public)),
            st.tuples(st.just("private"), mutated(private)),
        ),
        check,
    )


def psi_wire() -> Target:
    import numpy as np

    from node.psi import wire
    from node.psi.exceptions import MalformedMessage

    valid = [
        wire.encode_hello(wire.Status.OK, 12),
        wire.encode_start(wire.Status.OK, 12, b"s" * 32, "bank"),
        wire.encode_points(0, 2, b"p" * 64),
        wire.encode_seed(b"k" * 32),
        wire.encode_result([(3, 1), (4, 2)]),
        wire.encode_index(0, 1, np.arange(4)),
        wire.encode_summary({"intersection": 3}),
    ]
    decoders: list[Callable[[bytes], Any]] = [
        lambda b: wire.decode_hello(b, *PSI),
        lambda b: wire.decode_start(b, *PSI),
        lambda b: wire.decode_points(b, *PSI, 0, 2, 2),
        lambda b: wire.decode_seed(b, *PSI),
        lambda b: wire.decode_result(b, *PSI, 2),
        lambda b: wire.decode_index(b, *PSI, 0, 1, 4, 10),
        lambda b: wire.decode_summary(b, *PSI),
    ]

    def check(case: tuple[int, bytes]) -> None:
        index, data = case
        expect((MalformedMessage,), lambda: decoders[index](data))

    cases = st.one_of(*(st.tuples(st.just(i), mutated(v)) for i, v in enumerate(valid)))
    return Target("psi_wire", cases, check)


JOB_SKELETONS = (
    "type: check\nparties:\n  government: {}\n  bank: {}\n",
    "type: psi\nparties:\n  government: {dataset: government}\n  bank: {dataset: bank}\n",
    "type: vertical_lr\nparties:\n  bank: {dataset: bank, label: y}\n  government: {}\n",
    "type: horizontal\nparties:\n  bank_a: {}\n  bank_b: {}\nrounds: 3\n",
)


def yaml_text(skeletons: tuple[str, ...]) -> st.SearchStrategy[str]:
    """YAML near real files: skeletons with characters changed, or arbitrary text."""
    raw = st.one_of(*(mutated(s.encode()) for s in skeletons))
    return st.one_of(raw.map(lambda b: b.decode("utf-8", "replace")), st.text(max_size=300))


def job_yaml() -> Target:
    from node.jobs.exceptions import JobSpecError
    from node.jobs.spec import parse_job_file
    from node.jobtypes.registry import job_type

    # Every job type refuses a bad file with the one JobSpecError (PSI's PsiSpecError is
    # one); anything else escaping a validator is a crash.
    refusals = (JobSpecError,)

    def check(text: str) -> None:
        def validate() -> None:
            job = parse_job_file(text)
            job_type(job.job_type).validate(job)

        expect(refusals, validate)

    return Target("job_yaml", yaml_text(JOB_SKELETONS), check)


def policy_yaml() -> Target:
    from node.policy.exceptions import PolicyError
    from node.policy.loader import load_policy

    skeleton = (REPO_POLICY.read_text(),)

    def check(text: str) -> None:
        with scratch_file(".yaml", text.encode("utf-8", "replace")) as path:
            expect((PolicyError,), lambda: load_policy(path))

    return Target("policy_yaml", yaml_text(skeleton), check)


def _csv_schema() -> dict[str, Any]:
    return {
        "version": 1,
        "name": "loans",
        "id_column": "uscc",
        "id_is_uscc": True,
        "label_column": "y",
        "fields": [
            {"name": "uscc", "type": "str", "class": "C2"},
            {"name": "amount", "type": "float", "class": "C2"},
            {"name": "opened", "type": "date", "class": "C1", "required": False},
            {"name": "y", "type": "int", "class": "C2"},
        ],
    }


def csv_file() -> Target:
    from node.data.exceptions import DatasetError
    from node.data.loader import load_dataset

    valid = (
        b"uscc,amount,opened,y\n91350100M000100Y43,12.5,2020-01-02,0\n"
        b'911100001000000178,"1,000",2021-03-04,1\n'
    )
    schema = _csv_schema()

    def check(data: bytes) -> None:
        with scratch_file(".csv", data) as path:
            expect((DatasetError,), lambda: load_dataset(path, schema))

    return Target("csv", mutated(valid), check)


def checkpoint() -> Target:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from node.audit.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
    from node.audit.exceptions import InvalidCheckpoint

    key = Ed25519PrivateKey.generate()
    valid = sign_checkpoint(
        Checkpoint("bank", 5, b"r" * 32, "2026-01-01T00:00:00.000000Z"), key
    ).to_bytes()

    def check(data: bytes) -> None:
        def parse() -> None:
            SignedCheckpoint.from_bytes(data).verify(key.public_key())

        expect((InvalidCheckpoint,), parse)

    return Target("checkpoint", mutated(valid), check)


def audit_entry() -> Target:
    from node.audit.entry import decode, peek_index
    from node.audit.exceptions import InvalidEntry

    valid = (
        b'{"action":"read","actor":{"node":"b","org":"B","role":"bank"},"dataset":"d",'
        b'"details":{},"fields":[],"job":"","policy":"","purpose":"p","result":"ok",'
        b'"rows":null,"seq":0,"subjects":[],"time":"2026-01-01T00:00:00.000000Z","v":1}'
    )

    def check(data: bytes) -> None:
        expect((InvalidEntry,), lambda: decode(data))
        expect((), lambda: peek_index(data))

    return Target("audit_entry", st.one_of(mutated(valid), json_text().map(str.encode)), check)


def release_filter() -> Target:
    import pandas as pd

    from node.policy.exceptions import ReleaseQueryError
    from node.policy.query import evaluate, parse_filter

    frame = pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "y", None]})
    seeds = ("a >= 2 and b in ['x', 'y']", "not (a == 1) or b != 'x'", "a < -1")

    def check(text: str) -> None:
        def run() -> None:
            tree, fields = parse_filter(text)
            if set(fields) <= set(frame.columns):
                evaluate(tree, frame)

        expect((ReleaseQueryError,), run)

    text = st.one_of(yaml_text(seeds), st.sampled_from(["not " * 400 + "a == 1", "(" * 300 + "a"]))
    return Target("release_filter", text, check)


REPO_POLICY = Path(__file__).resolve().parents[2] / "policies" / "bank.yaml"

PARSERS: dict[str, Callable[[], Target]] = {
    "envelope": envelope,
    "paillier": paillier,
    "psi_wire": psi_wire,
    "job_yaml": job_yaml,
    "policy_yaml": policy_yaml,
    "csv": csv_file,
    "checkpoint": checkpoint,
    "audit_entry": audit_entry,
    "release_filter": release_filter,
}
