"""Sealed envelopes between parties holding real federation certificates.

Must show (issue 2): a replayed envelope is refused, and the coordinator, with its own real
keys, cannot open an envelope addressed to a node.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from node.crypto.envelope import (
    DEFAULT_WINDOW_S,
    SIGNATURE_BYTES,
    ReplayGuard,
    open_envelope,
    open_from,
    peek_header,
    seal,
    seal_to,
)
from node.crypto.exceptions import InvalidEnvelope, ReplayedEnvelope
from node.pki import NodeCredentials, create_ca, issue_certificate, load_identity_files

PAYLOAD = b"partial score 0.731 for USCC 91350211MA2YQ5XX3K" * 3
T0 = 1_800_000_000.0


@dataclass(frozen=True)
class Federation:
    bank_a: NodeCredentials
    bank_b: NodeCredentials
    gov: NodeCredentials
    coordinator: NodeCredentials


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    """Real certificates and keys for two banks, a government node and the coordinator."""
    cert_dir = tmp_path_factory.mktemp("certs")
    create_ca(cert_dir)
    parties = {
        "bank-a": ("bank", "Bank A"),
        "bank-b": ("bank", "Bank B"),
        "gov": ("government", "Tax Bureau"),
        "coordinator": ("coordinator", "Operator"),
    }
    for name, (role, org) in parties.items():
        issue_certificate(cert_dir, name, role=role, organization=org)
    return Federation(*(load_identity_files(cert_dir, name) for name in parties))


def _seal(fed: Federation, payload: bytes = PAYLOAD, now: float = T0) -> bytes:
    """bank-a -> bank-b."""
    return seal_to(
        payload,
        sender=fed.bank_a,
        recipient=fed.bank_b.identity,
        job="job-7",
        topic="score",
        now=now,
    )


def _open(fed: Federation, blob: bytes, guard: ReplayGuard | None = None, now: float = T0):
    return open_from(
        blob,
        recipient=fed.bank_b,
        sender=fed.bank_a.identity,
        replay_guard=ReplayGuard() if guard is None else guard,
        now=now,
    )


def test_round_trip(fed: Federation) -> None:
    # prepare
    blob = _seal(fed)
    # execute
    opened = _open(fed, blob)
    # assert
    assert opened.payload == PAYLOAD
    assert (opened.sender, opened.job, opened.topic) == ("bank-a", "job-7", "score")
    assert opened.timestamp == T0
    assert len(opened.nonce) == 16


def test_empty_and_large_payloads(fed: Federation) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    for payload in (b"", big):
        assert _open(fed, _seal(fed, payload)).payload == payload


def test_low_level_api_matches(fed: Federation) -> None:
    # prepare
    blob = seal(
        PAYLOAD,
        sender="bank-a",
        sign_key=fed.bank_a.sign_key,
        recipient="bank-b",
        recipient_seal_public=fed.bank_b.identity.seal_public,
        job="j",
        topic="t",
    )
    # execute
    opened = open_envelope(
        blob,
        recipient="bank-b",
        seal_key=fed.bank_b.seal_key,
        sender_sign_public=fed.bank_a.identity.sign_public,
        replay_guard=ReplayGuard(),
    )
    # assert
    assert opened.payload == PAYLOAD


def test_sealing_is_randomised_and_hides_the_payload(fed: Federation) -> None:
    # execute
    first, second = _seal(fed), _seal(fed)
    # assert
    assert first != second
    for blob in (first, second):
        assert b"USCC" not in blob and b"0.731" not in blob


def test_peek_header_gives_routing_only(fed: Federation) -> None:
    # execute
    header = peek_header(_seal(fed))
    # assert
    assert (header.sender, header.recipient, header.job, header.topic) == (
        "bank-a",
        "bank-b",
        "job-7",
        "score",
    )
    assert header.timestamp_ms == int(T0 * 1000)
    assert PAYLOAD not in repr(header).encode()


def test_peek_header_refuses_garbage() -> None:
    with pytest.raises(InvalidEnvelope):
        peek_header(b"\x01\x00\x00\xff\xff" + b"x" * 100)


class TestCoordinatorCannotOpen:
    """The coordinator holds real federation keys, relays every envelope, and learns nothing."""

    def test_with_its_own_key_posing_as_the_recipient(self, fed: Federation) -> None:
        # prepare
        blob = _seal(fed)
        # execute / assert: right name, but its own sealing key
        with pytest.raises(InvalidEnvelope, match="does not decrypt"):
            open_envelope(
                blob,
                recipient="bank-b",
                seal_key=fed.coordinator.seal_key,
                sender_sign_public=fed.bank_a.identity.sign_public,
                replay_guard=ReplayGuard(),
                now=T0,
            )

    def test_with_its_own_identity(self, fed: Federation) -> None:
        blob = _seal(fed)
        with pytest.raises(InvalidEnvelope, match="not addressed"):
            open_from(
                blob,
                recipient=fed.coordinator,
                sender=fed.bank_a.identity,
                replay_guard=ReplayGuard(),
                now=T0,
            )

    def test_readdressing_to_itself_and_resigning_fails(self, fed: Federation) -> None:
        # prepare: the coordinator rewrites the sender to itself and signs with its real key
        blob = _seal(fed)
        forged = _resign(_replace_field(blob, b"bank-a", b"coord1"), fed.coordinator.sign_key)
        # execute / assert: its signature verifies, but the AEAD is bound to the real header
        with pytest.raises(InvalidEnvelope, match="does not decrypt"):
            open_envelope(
                forged,
                recipient="bank-b",
                seal_key=fed.bank_b.seal_key,
                sender_sign_public=fed.coordinator.identity.sign_public,
                replay_guard=ReplayGuard(),
                now=T0,
            )

    def test_substituting_the_payload_fails(self, fed: Federation) -> None:
        # prepare: the coordinator seals its own payload but claims to be bank-a
        forged = seal(
            b"forged",
            sender="bank-a",
            sign_key=fed.coordinator.sign_key,
            recipient="bank-b",
            recipient_seal_public=fed.bank_b.identity.seal_public,
            job="job-7",
            topic="score",
            now=T0,
        )
        # execute / assert
        with pytest.raises(InvalidEnvelope, match="signature"):
            _open(fed, forged)


def _replace_field(blob: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new)
    body = blob[:-SIGNATURE_BYTES]
    return body.replace(old, new, 1) + blob[-SIGNATURE_BYTES:]


def _resign(blob: bytes, key: Ed25519PrivateKey) -> bytes:
    body = blob[:-SIGNATURE_BYTES]
    return body + key.sign(b"fedcredit envelope v1 sig" + hashlib.sha256(body).digest())


class TestReplay:
    def test_replayed_envelope_refused(self, fed: Federation) -> None:
        # prepare
        guard = ReplayGuard()
        blob = _seal(fed)
        _open(fed, blob, guard)
        # execute / assert
        with pytest.raises(ReplayedEnvelope, match="already received"):
            _open(fed, blob, guard, now=T0 + 1)

    def test_replay_after_the_window_refused_as_stale(self, fed: Federation) -> None:
        # prepare
        guard = ReplayGuard()
        blob = _seal(fed)
        _open(fed, blob, guard)
        # execute / assert: the nonce may be forgotten, the timestamp is not
        with pytest.raises(ReplayedEnvelope, match="outside the 300 s window"):
            _open(fed, blob, guard, now=T0 + DEFAULT_WINDOW_S + 1)

    def test_too_old_and_too_new_refused(self, fed: Federation) -> None:
        blob = _seal(fed)
        for now in (T0 + DEFAULT_WINDOW_S + 0.01, T0 - DEFAULT_WINDOW_S - 0.01):
            with pytest.raises(ReplayedEnvelope):
                _open(fed, blob, now=now)

    def test_within_the_window_accepted(self, fed: Federation) -> None:
        blob = _seal(fed)
        assert _open(fed, blob, now=T0 - DEFAULT_WINDOW_S + 1).payload == PAYLOAD

    def test_memory_is_bounded_by_the_window(self, fed: Federation) -> None:
        # prepare
        guard = ReplayGuard(window_s=10)
        for i in range(5):
            _open(fed, _seal(fed, now=T0 + i), guard, now=T0 + i)
        assert guard.remembered == 5
        # execute: much later, one more envelope
        _open(fed, _seal(fed, now=T0 + 100), guard, now=T0 + 100)
        # assert
        assert guard.remembered == 1

    def test_concurrent_replays_let_exactly_one_through(self, fed: Federation) -> None:
        # prepare
        guard = ReplayGuard()
        blob = _seal(fed, now=time.time())
        outcomes: list[str] = []
        barrier = threading.Barrier(8)

        def attempt() -> None:
            barrier.wait()
            try:
                _open(fed, blob, guard, now=time.time())
                outcomes.append("ok")
            except ReplayedEnvelope:
                outcomes.append("replay")

        # execute
        threads = [threading.Thread(target=attempt) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # assert
        assert sorted(outcomes) == ["ok"] + ["replay"] * 7

    def test_rejected_envelope_does_not_use_up_the_nonce(self, fed: Federation) -> None:
        # prepare: a tampered copy arrives first
        guard = ReplayGuard()
        blob = _seal(fed)
        with pytest.raises(InvalidEnvelope):
            _open(fed, blob[:-1] + bytes([blob[-1] ^ 1]), guard)
        # execute / assert: the genuine one still opens
        assert _open(fed, blob, guard).payload == PAYLOAD

    def test_non_positive_window_refused(self) -> None:
        with pytest.raises(ValueError, match="window_s must be positive"):
            ReplayGuard(window_s=0)

    def test_non_positive_cap_refused(self) -> None:
        with pytest.raises(ValueError, match="max_entries must be positive"):
            ReplayGuard(max_entries=0)

    def test_full_cache_refuses_new_envelopes_but_keeps_old_nonces(self, fed: Federation) -> None:
        # prepare
        guard = ReplayGuard(window_s=10, max_entries=2)
        first = _seal(fed)
        _open(fed, first, guard)
        _open(fed, _seal(fed), guard)
        # execute / assert: a third is refused, the first is still a replay
        with pytest.raises(ReplayedEnvelope, match="cache full"):
            _open(fed, _seal(fed), guard)
        with pytest.raises(ReplayedEnvelope, match="already received"):
            _open(fed, first, guard)
        # once the window has passed, room again
        _open(fed, _seal(fed, now=T0 + 25), guard, now=T0 + 25)
        assert guard.remembered == 1


class TestTampering:
    @pytest.mark.parametrize(
        "where",
        [
            "version",
            "header_length",
            "sender",
            "job",
            "topic",
            "nonce",
            "timestamp",
            "ephemeral",
            "ciphertext",
            "tag",
            "signature",
        ],
    )
    def test_any_flipped_byte_refused(self, fed: Federation, where: str) -> None:
        # prepare
        blob = bytearray(_seal(fed))
        hlen = int.from_bytes(blob[1:5], "big")
        header_end = 5 + hlen
        offsets = {
            "version": 0,
            "header_length": 4,
            "sender": 5 + 2,
            "job": 5 + 2 + len("bank-a") + 2 + len("bank-b") + 2,
            "topic": header_end - 56 - len("score"),
            "nonce": header_end - 56,
            "timestamp": header_end - 40 + 7,
            "ephemeral": header_end - 1,
            "ciphertext": header_end + 3,
            "tag": len(blob) - SIGNATURE_BYTES - 1,
            "signature": len(blob) - 1,
        }
        blob[offsets[where]] ^= 0x01
        # execute / assert
        with pytest.raises(InvalidEnvelope):
            _open(fed, bytes(blob))

    def test_truncated_and_extended_refused(self, fed: Federation) -> None:
        blob = _seal(fed)
        for bad in (blob[:-1], blob + b"\x00", blob[:10], b"", blob[:5]):
            with pytest.raises(InvalidEnvelope):
                _open(fed, bad)

    def test_unknown_version_refused(self, fed: Federation) -> None:
        blob = _seal(fed)
        with pytest.raises(InvalidEnvelope, match="malformed"):
            _open(fed, b"\x02" + blob[1:])

    def test_not_bytes_refused(self, fed: Federation) -> None:
        with pytest.raises(InvalidEnvelope):
            _open(fed, "text")  # type: ignore[arg-type]


class TestWrongParties:
    def test_other_node_cannot_open(self, fed: Federation) -> None:
        blob = _seal(fed)
        with pytest.raises(InvalidEnvelope, match="not addressed"):
            open_from(
                blob,
                recipient=fed.gov,
                sender=fed.bank_a.identity,
                replay_guard=ReplayGuard(),
                now=T0,
            )

    def test_other_node_posing_as_recipient_cannot_decrypt(self, fed: Federation) -> None:
        blob = _seal(fed)
        with pytest.raises(InvalidEnvelope, match="does not decrypt"):
            open_envelope(
                blob,
                recipient="bank-b",
                seal_key=fed.gov.seal_key,
                sender_sign_public=fed.bank_a.identity.sign_public,
                replay_guard=ReplayGuard(),
                now=T0,
            )

    def test_unexpected_sender_refused(self, fed: Federation) -> None:
        blob = _seal(fed)
        with pytest.raises(InvalidEnvelope, match="expected sender"):
            open_from(
                blob,
                recipient=fed.bank_b,
                sender=fed.gov.identity,
                replay_guard=ReplayGuard(),
                now=T0,
            )

    def test_wrong_sender_key_refused(self, fed: Federation) -> None:
        blob = _seal(fed)
        with pytest.raises(InvalidEnvelope, match="signature"):
            open_envelope(
                blob,
                recipient="bank-b",
                seal_key=fed.bank_b.seal_key,
                sender_sign_public=fed.gov.identity.sign_public,
                replay_guard=ReplayGuard(),
                now=T0,
            )


def test_bad_recipient_key_refused_at_sealing(fed: Federation) -> None:
    with pytest.raises(ValueError):
        seal(
            b"x",
            sender="bank-a",
            sign_key=fed.bank_a.sign_key,
            recipient="bank-b",
            recipient_seal_public=b"short",
            job="j",
            topic="t",
        )


def test_overlong_header_field_refused(fed: Federation) -> None:
    with pytest.raises(ValueError, match="65535"):
        seal(
            b"x",
            sender="bank-a",
            sign_key=fed.bank_a.sign_key,
            recipient="bank-b",
            recipient_seal_public=X25519PrivateKey.generate().public_key().public_bytes_raw(),
            job="j" * 70_000,
            topic="t",
        )


def test_random_corruptions_only_ever_raise_invalid_envelope(fed: Federation) -> None:
    # prepare: seeded, so a failure reproduces
    rng = random.Random(20261129)
    blob = _seal(fed, b"payload" * 20)
    unexpected: list[str] = []
    # execute
    for _ in range(400):
        bad = bytearray(blob)
        kind = rng.randrange(4)
        if kind == 0:
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del bad[rng.randrange(len(bad)) :]
        elif kind == 2:
            pos = rng.randrange(len(bad))
            bad[pos:pos] = rng.randbytes(rng.randrange(1, 8))
        else:
            bad = bytearray(rng.randbytes(rng.randrange(0, 300)))
        try:
            peek_header(bytes(bad))
        except InvalidEnvelope:
            pass
        except Exception as exc:
            unexpected.append(f"peek {type(exc).__name__}")
        try:
            _open(fed, bytes(bad))
            unexpected.append("opened a corrupted envelope")
        except InvalidEnvelope:
            pass
        except Exception as exc:
            unexpected.append(f"open {type(exc).__name__}")
    # assert
    assert unexpected == []
