"""Opaque tokens (grant codes, refresh and access tokens, client secrets), stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str = "1000") -> str:
    """A Zoho-looking token: `1000.<32 hex>.<32 hex>`; 256 bits of randomness."""
    return f"{prefix}.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary attack applies).
    return hashlib.sha256(token.encode()).hexdigest()


def new_client_id() -> str:
    return "1000." + secrets.token_hex(15).upper()
