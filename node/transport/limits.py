"""Message size limits shared by every protocol and the gRPC layer, defined once."""

from __future__ import annotations

from typing import Final

# One protocol message (a PSI batch, a batch of Paillier ciphertexts, a model chunk): protocols
# split what they send so that no payload is larger; receivers refuse anything that is.
MAX_PAYLOAD_BYTES: Final = 4 * 1024 * 1024

# One gRPC message. Above the payload limit to leave room for the envelope and framing, and for
# the few replies that are not protocol payloads (a released table); larger messages are refused
# with RESOURCE_EXHAUSTED before they are buffered.
MAX_GRPC_MESSAGE_BYTES: Final = 32 * 1024 * 1024
