"""SMART backend-services auth: the signed client assertion, token caching, and the secret's shape."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from careline.ehr.errors import EhrUnavailable
from careline.ehr.smart import (
    CLIENT_ASSERTION_TYPE,
    EhrConfigError,
    EhrConnection,
    SmartBackendAuth,
    load_connection,
)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN_URL = "https://ehr.example/oauth2/token"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def _secret(**overrides: Any) -> str:
    data = {
        "fhir_base_url": "https://ehr.example/fhir/R4/",
        "client_id": "careline-riverbend",
        "token_url": TOKEN_URL,
        "private_key_pem": PEM,
        "scopes": ["system/Patient.read", "system/Appointment.write"],
        "key_id": "key-1",
    } | overrides
    return json.dumps({k: v for k, v in data.items() if v is not None})


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


class TokenEndpoint:
    def __init__(self, expires_in: int = 300, status: int = 200) -> None:
        self.requests: list[tuple[str, Mapping[str, str]]] = []
        self.expires_in = expires_in
        self.status = status

    def __call__(self, url: str, fields: Mapping[str, str]) -> tuple[int, Any]:
        self.requests.append((url, dict(fields)))
        if self.status != 200:
            return self.status, {"error": "invalid_client"}
        return 200, {"access_token": f"token-{len(self.requests)}", "expires_in": self.expires_in}


def _auth(endpoint: TokenEndpoint, clock: Clock) -> SmartBackendAuth:
    return SmartBackendAuth(EhrConnection.from_json(_secret()), post_form=endpoint, now=clock)


def _decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_client_assertion_is_an_rs384_jwt_the_public_key_verifies() -> None:
    clock = Clock()
    assertion = _auth(TokenEndpoint(), clock).client_assertion()
    header, claims, signature = assertion.split(".")
    assert _decode(header) == {"alg": "RS384", "typ": "JWT", "kid": "key-1"}
    body = _decode(claims)
    assert body["iss"] == body["sub"] == "careline-riverbend"
    assert body["aud"] == TOKEN_URL
    assert body["exp"] - body["iat"] <= 300
    assert body["iat"] == int(clock.at.timestamp())
    KEY.public_key().verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA384(),
    )


def test_every_assertion_has_a_new_jti() -> None:
    auth = _auth(TokenEndpoint(), Clock())
    jtis = {_decode(auth.client_assertion().split(".")[1])["jti"] for _ in range(3)}
    assert len(jtis) == 3


def test_token_request_is_a_client_credentials_grant_with_the_assertion() -> None:
    endpoint = TokenEndpoint()
    assert _auth(endpoint, Clock()).authorization() == "Bearer token-1"
    ((url, fields),) = endpoint.requests
    assert url == TOKEN_URL
    assert fields["grant_type"] == "client_credentials"
    assert fields["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert fields["scope"] == "system/Patient.read system/Appointment.write"
    assert fields["client_assertion"].count(".") == 2


def test_token_is_cached_until_shortly_before_it_expires() -> None:
    endpoint, clock = TokenEndpoint(expires_in=300), Clock()
    auth = _auth(endpoint, clock)
    assert auth.authorization() == "Bearer token-1"
    clock.at += timedelta(seconds=239)
    assert auth.authorization() == "Bearer token-1"
    clock.at += timedelta(seconds=1)  # 60 s before expiry
    assert auth.authorization() == "Bearer token-2"
    assert len(endpoint.requests) == 2


def test_invalidate_forces_a_new_token() -> None:
    endpoint = TokenEndpoint()
    auth = _auth(endpoint, Clock())
    auth.authorization()
    auth.invalidate()
    assert auth.authorization() == "Bearer token-2"


def test_a_refused_token_request_is_unavailable_and_names_no_secret() -> None:
    with pytest.raises(EhrUnavailable, match=r"401, invalid_client") as refused:
        _auth(TokenEndpoint(status=401), Clock()).authorization()
    assert "BEGIN" not in str(refused.value)


def test_connection_is_read_from_the_secret_through_the_injected_fetcher() -> None:
    secrets = {"arn:aws:secretsmanager:us-west-2:111122223333:secret:ehr": _secret()}
    connection = load_connection(
        "arn:aws:secretsmanager:us-west-2:111122223333:secret:ehr", secrets.__getitem__
    )
    assert connection.fhir_base_url == "https://ehr.example/fhir/R4"
    assert connection.auth == "smart"
    assert "BEGIN" not in repr(connection)


def test_the_local_dev_server_needs_no_credentials() -> None:
    connection = EhrConnection.from_json(
        json.dumps({"fhir_base_url": "http://127.0.0.1:8103/fhir/R4", "auth": "none"})
    )
    assert connection.auth == "none"
    assert connection.client_id is None


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not json", "not JSON"),
        (
            _secret(client_id=None, token_url=None),
            "missing from the EHR connection secret: client_id, token_url",
        ),
        (_secret(token_url="http://ehr.example/token"), "token_url must be https://"),
        (_secret(auth="basic"), "auth must be"),
        (_secret(password="hunter2"), "unknown keys in the EHR connection secret: password"),
    ],
    # the secrets hold freshly generated keys: name the cases, or parallel workers collect
    # differently named tests and refuse to run
    ids=["not-json", "missing-keys", "plain-http-token-url", "unknown-auth", "unknown-key"],
)
def test_a_malformed_secret_is_refused_by_key_name(secret: str, message: str) -> None:
    with pytest.raises(EhrConfigError, match=message) as refused:
        EhrConnection.from_json(secret)
    assert "hunter2" not in str(refused.value)
