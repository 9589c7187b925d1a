"""Errors of horizontal federated training, one class per failure a caller handles differently."""

from __future__ import annotations


class HorizontalError(Exception):
    """Base class for horizontal-training failures a user or operator can act on."""


class MalformedMessage(HorizontalError):
    """A payload received from a party is not what the protocol allows.

    The message names the sender, topic and the rule broken, never the payload bytes.
    """

    def __init__(self, sender: str, topic: str, problem: str) -> None:
        super().__init__(f"malformed message from {sender!r} on {topic!r}: {problem}")
        self.sender = sender
        self.topic = topic
        self.problem = problem


class UpdateRejected(HorizontalError):
    """The aggregator refused one bank's contribution for one round (it is left out of the sum).

    Attributes
    ----------
    party, round, reason:
        Who sent it, in which round, and which check failed (e.g. wrong key fingerprint,
        ciphertext out of range, wrong count).
    """

    def __init__(self, party: str, round_number: int, reason: str) -> None:
        super().__init__(
            f"round {round_number}: update from {party!r} rejected ({reason}); it is left out "
            "of this round's sum — check that the bank uses the job's current public key"
        )
        self.party = party
        self.round = round_number
        self.reason = reason


class QuorumNotMet(HorizontalError):
    """Too few banks delivered a valid update before the round deadline; the job stops."""

    def __init__(self, round_number: int, phase: str, reported: int, quorum: int) -> None:
        super().__init__(
            f"round {round_number} ({phase}) failed: {reported} bank(s) reported, quorum is "
            f"{quorum}; bring the missing banks back online (or lower 'quorum') and resubmit"
        )
        self.round = round_number
        self.phase = phase
        self.reported = reported
        self.quorum = quorum


class AggregateCorrupted(HorizontalError):
    """A decrypted sum does not unpack within its headroom: a contribution was not well formed.

    Raised by a bank after decryption; the round's model update is not applied.
    """

    def __init__(self, round_number: int, phase: str) -> None:
        super().__init__(
            f"round {round_number} ({phase}): the decrypted aggregate overflows its slots; a "
            "contribution was malformed or made with another key — the update was not applied"
        )
        self.round = round_number
        self.phase = phase


class KeySetupError(HorizontalError):
    """The shared Paillier key could not be established (key holder absent or bad key)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"key setup failed: {problem}")
        self.problem = problem


class TrainerError(HorizontalError):
    """The local trainer (ours or a Flower client) returned something unusable."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"local trainer: {problem}")
        self.problem = problem


class InvalidContribution(HorizontalError):
    """A contribution's ciphertexts failed a check (count, range, key); raised by a scheme."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid contribution: {reason}")
        self.reason = reason


class JobAborted(HorizontalError):
    """The aggregator stopped the job on an error of its own; banks stop at the same round."""

    def __init__(self, round_number: int, phase: str) -> None:
        super().__init__(
            f"round {round_number} ({phase}): the coordinator aborted the job; see its log and "
            "resubmit — the job resumes from the last completed round"
        )
        self.round = round_number
        self.phase = phase


class BankFailed(HorizontalError):
    """A bank's local trainer failed; the bank told the coordinator at once, naming why.

    ``reason`` says where and what kind of error (e.g. ``fit raised ValueError``), never a
    value: the bank's own log has the detail.
    """

    def __init__(self, bank: str, round_number: int, reason: str) -> None:
        super().__init__(
            f"bank {bank!r} failed in round {round_number}: {reason}; fix its client (see that "
            "node's log) and resubmit — the job resumes from the last completed round"
        )
        self.bank = bank
        self.round = round_number
        self.reason = reason
