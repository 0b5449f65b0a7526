"""Settings built once from CLI flags and CORRAL_* environment variables, then passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///./corral.db"
# Request bodies: 100 records (Zoho's most per call) of Leads with every field filled to its
# length take ~3.5 MB as ASCII JSON; 8 MiB leaves room for non-ASCII text. (100 Cases with their
# four 32,000-character text areas full would need --max-body raised.) Zoho documents no limit.
DEFAULT_MAX_BODY = 8 * 1024 * 1024
# Request line plus headers. Generous next to the usual 8-16 KiB so that a long search URL still
# reaches Corral's own validation (and gets a Zoho error) rather than the HTTP parser's refusal.
DEFAULT_MAX_HEADER = 64 * 1024


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Seconds an access token lives (Zoho: one hour).
    access_token_ttl: int = 3600
    # Corral's public base URL (`--public-url`, CORRAL_PUBLIC_URL): reported as `api_domain` by
    # the token endpoint and as `accounts-server` by the authorize endpoint. None: the
    # request's own scheme and Host.
    public_url: str | None = None
    run_worker: bool = True
    worker_poll_seconds: float = 0.5
    # Largest request body in bytes; a larger one gets 413 FILE_TOO_LARGE unread.
    max_body: int = DEFAULT_MAX_BODY
    # Largest request line + headers in bytes (enforced by the HTTP server `corral serve` runs).
    max_header: int = DEFAULT_MAX_HEADER
    # Records per bulk read page (Zoho: 200,000); CORRAL_BULK_READ_PAGE_SIZE makes it small
    # for tests.
    bulk_read_page_size: int = 200_000
    # Seconds a write with an Idempotency-Key waits for a twin still running before it gets
    # 409 IDEMPOTENCY_KEY_IN_USE.
    idempotency_wait: float = 30.0
    # Emulator mode (`--emulator`, CORRAL_EMULATOR=1): the /__corral/ control API.
    emulator: bool = False
    # Emulator mode's `--seed N`: tokens (and fault draws) repeat from run to run.
    seed: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_body < 1 or self.max_header < 1:
            raise ValueError("max_body and max_header must be positive byte counts")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        env_url = os.environ.get("CORRAL_DATABASE_URL")
        if env_url:
            values["database_url"] = env_url
        env_body = os.environ.get("CORRAL_MAX_BODY")
        if env_body:
            try:
                values["max_body"] = int(env_body)
            except ValueError:
                raise ValueError(f"CORRAL_MAX_BODY must be a number of bytes, not {env_body!r}"
                                 ) from None
        page_size = os.environ.get("CORRAL_BULK_READ_PAGE_SIZE")
        if page_size:
            if not page_size.isdigit() or int(page_size) < 1:
                raise ValueError("CORRAL_BULK_READ_PAGE_SIZE must be a positive number")
            values["bulk_read_page_size"] = int(page_size)
        public_url = os.environ.get("CORRAL_PUBLIC_URL")
        if public_url:
            values["public_url"] = public_url
        if os.environ.get("CORRAL_EMULATOR", "").lower() in ("1", "true", "yes", "on"):
            values["emulator"] = True
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("public_url"), str):
            values["public_url"] = str(values["public_url"]).rstrip("/") or None
        return cls(**values)  # type: ignore[arg-type]
