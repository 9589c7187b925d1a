"""Fast Paillier core: keys, key-bound ciphertext batches, DJN obfuscation, CRT decryption,
wire formats."""

from node.crypto.paillier.bulk import decrypt_many, encrypt_many
from node.crypto.paillier.ciphertexts import Ciphertexts, as_ciphertexts
from node.crypto.paillier.encoding import EncodingOverflow, decode, encode
from node.crypto.paillier.exceptions import (
    InvalidCiphertext,
    InvalidKey,
    KeyMismatch,
    PaillierError,
    PlaintextOutOfRange,
)
from node.crypto.paillier.keys import (
    DEFAULT_KEY_BITS,
    Ciphertext,
    PrivateKey,
    PublicKey,
    generate_keypair,
)
from node.crypto.paillier.multiexp import weighted_sum, weighted_sums
from node.crypto.paillier.precompute import RandomnessReserve, encrypt_with
from node.crypto.paillier.serialization import (
    ciphertexts_from_bytes,
    ciphertexts_per_message,
    ciphertexts_to_bytes,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
)

__all__ = [
    "DEFAULT_KEY_BITS",
    "Ciphertext",
    "Ciphertexts",
    "EncodingOverflow",
    "InvalidCiphertext",
    "InvalidKey",
    "KeyMismatch",
    "PaillierError",
    "PlaintextOutOfRange",
    "PrivateKey",
    "PublicKey",
    "RandomnessReserve",
    "as_ciphertexts",
    "ciphertexts_from_bytes",
    "ciphertexts_per_message",
    "ciphertexts_to_bytes",
    "decode",
    "decrypt_many",
    "encode",
    "encrypt_many",
    "encrypt_with",
    "generate_keypair",
    "private_key_from_bytes",
    "private_key_to_bytes",
    "public_key_from_bytes",
    "public_key_to_bytes",
    "weighted_sum",
    "weighted_sums",
]
