"""Opaque tokens (grant codes, refresh and access tokens, client secrets), stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

# Random hex digits for n bytes. Emulator mode (`--seed N`) passes a seeded source instead so a
# test run's tokens repeat; everything else uses the OS's.
RandomHex = Callable[[int], str]


def new_token(prefix: str = "1000", random_hex: RandomHex = secrets.token_hex) -> str:
    """A Zoho-looking token: `1000.<32 hex>.<32 hex>`; 256 bits of randomness."""
    return f"{prefix}.{random_hex(16)}.{random_hex(16)}"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary attack applies).
    return hashlib.sha256(token.encode()).hexdigest()


def new_client_id(random_hex: RandomHex = secrets.token_hex) -> str:
    return "1000." + random_hex(15).upper()
