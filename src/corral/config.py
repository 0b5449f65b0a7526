"""Settings built once from CLI flags and CORRAL_* environment variables, then passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///./corral.db"


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
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env_url = os.environ.get("CORRAL_DATABASE_URL")
        values: dict[str, object] = {}
        if env_url:
            values["database_url"] = env_url
        public_url = os.environ.get("CORRAL_PUBLIC_URL")
        if public_url:
            values["public_url"] = public_url
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("public_url"), str):
            values["public_url"] = str(values["public_url"]).rstrip("/") or None
        return cls(**values)  # type: ignore[arg-type]
