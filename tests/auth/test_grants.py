"""OAuth grant codes under concurrency: one code yields exactly one token pair."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from corral.auth.service import OAuthError
from corral.errors import InvalidToken
from corral.services import Corral

RACERS = 4


def _exchange(corral: Corral, form: dict[str, str], barrier: threading.Barrier) -> Any:
    barrier.wait()
    try:
        return corral.auth.token_endpoint(form)
    except OAuthError as exc:
        return exc.error


def test_a_code_raced_by_several_exchanges_is_redeemed_once(corral: Corral) -> None:
    client_id, secret = corral.auth.create_client()
    for _ in range(10):
        code = corral.auth.create_grant(client_id, "ZohoCRM.modules.ALL")
        form = {"grant_type": "authorization_code", "client_id": client_id,
                "client_secret": secret, "code": code}
        barrier = threading.Barrier(RACERS)
        with ThreadPoolExecutor(RACERS) as pool:
            futures = [pool.submit(_exchange, corral, form, barrier) for _ in range(RACERS)]
            outcomes = [f.result() for f in futures]
        issued = [o for o in outcomes if isinstance(o, dict)]
        assert len(issued) == 1, outcomes
        assert outcomes.count("invalid_code") == RACERS - 1, outcomes


def test_zero_lifetime_token_is_refused_by_authenticate(corral: Corral) -> None:
    user = corral.auth.user_by_email(None)
    token = corral.auth.create_access_token(user.id, "ZohoCRM.modules.ALL", expires_in=0)
    with pytest.raises(InvalidToken):
        corral.auth.authenticate(f"Zoho-oauthtoken {token}")
    live = corral.auth.create_access_token(user.id, "ZohoCRM.modules.ALL", expires_in=60)
    assert corral.auth.authenticate(f"Zoho-oauthtoken {live}").user.id == user.id
