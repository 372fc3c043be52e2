"""SMART backend services authorization for the EHR's FHIR API, and where its settings come from.

The practice's EHR registers Careline as a backend service with a public key; Careline proves
itself with a JWT signed by the private key (RS384, or ES384 for an EC key) and gets a short-lived
access token by the OAuth 2.0 client-credentials grant. Tokens are cached until shortly before
they expire.

Everything about the connection lives in one JSON secret (`EhrConnection.from_json`), read through
an injected `fetch_secret(arn) -> str`, so this module imports no AWS library and tests pass a
dict lookup. The local dev server needs no auth: `"auth": "none"`.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from careline.ehr.errors import EhrUnavailable
from careline.ehr.resilience import Resilience

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# SMART allows at most five minutes between issue and expiry of a client assertion.
ASSERTION_LIFETIME = timedelta(minutes=5)
DEFAULT_SCOPES = (
    "system/Patient.read system/Practitioner.read system/Schedule.read system/Slot.read "
    "system/Slot.write system/Appointment.read system/Appointment.write system/Communication.write"
)

WallClock = Callable[[], datetime]
# One POST of an application/x-www-form-urlencoded body: (status, parsed JSON body). Raises
# `TransientFailure` for a timeout, a refused connection, 5xx or 429.
PostForm = Callable[[str, Mapping[str, str]], tuple[int, Any]]


class EhrConfigError(ValueError):
    """The EHR connection secret is malformed. The message names keys, never their values."""


@dataclass(frozen=True)
class EhrConnection:
    """How to reach the practice's FHIR API. `private_key_pem` never appears in a repr."""

    fhir_base_url: str
    auth: Literal["smart", "none"] = "smart"
    client_id: str | None = None
    token_url: str | None = None
    private_key_pem: str | None = field(default=None, repr=False)
    scopes: str = DEFAULT_SCOPES
    key_id: str | None = None

    @classmethod
    def from_json(cls, text: str) -> EhrConnection:
        """Parse the secret: `{"fhir_base_url", "auth": "smart"|"none", "client_id", "token_url",
        "private_key_pem", "scopes" (string or list), "key_id" (optional JWT kid)}`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise EhrConfigError("the EHR connection secret is not JSON") from None
        if not isinstance(data, dict):
            raise EhrConfigError("the EHR connection secret must be a JSON object")
        known = {"fhir_base_url", "auth", "client_id", "token_url", "private_key_pem", "scopes", "key_id"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise EhrConfigError(f"unknown keys in the EHR connection secret: {', '.join(unknown)}")
        auth = data.get("auth", "smart")
        if auth not in ("smart", "none"):
            raise EhrConfigError("auth must be 'smart' or 'none'")
        required = ["fhir_base_url"] + (
            ["client_id", "token_url", "private_key_pem"] if auth == "smart" else []
        )
        missing = [k for k in required if not isinstance(data.get(k), str) or not data[k].strip()]
        if missing:
            raise EhrConfigError(f"missing from the EHR connection secret: {', '.join(missing)}")
        for url_key in ("fhir_base_url", "token_url"):
            url = data.get(url_key)
            if auth == "smart" and isinstance(url, str) and not url.startswith("https://"):
                raise EhrConfigError(f"{url_key} must be https:// when auth is 'smart'")
        scopes = data.get("scopes", DEFAULT_SCOPES)
        if isinstance(scopes, list):
            scopes = " ".join(str(s) for s in scopes)
        if not isinstance(scopes, str):
            raise EhrConfigError("scopes must be a string or a list of strings")
        return cls(
            fhir_base_url=str(data["fhir_base_url"]).rstrip("/"),
            auth=auth,
            client_id=data.get("client_id"),
            token_url=data.get("token_url"),
            private_key_pem=data.get("private_key_pem"),
            scopes=scopes,
            key_id=data.get("key_id"),
        )


def load_connection(secret_arn: str, fetch_secret: Callable[[str], str]) -> EhrConnection:
    """Read and validate the EHR connection secret named by `secret_arn`."""
    return EhrConnection.from_json(fetch_secret(secret_arn))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_json(value: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"))


def sign_jwt(claims: Mapping[str, Any], private_key_pem: str, key_id: str | None = None) -> str:
    """A compact JWS of `claims`: RS384 with an RSA key, ES384 with an EC P-384 key."""
    key = serialization.load_pem_private_key(private_key_pem.encode("utf-8"), password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        alg = "RS384"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        alg = "ES384"
    else:
        raise EhrConfigError("the private key must be RSA (RS384) or EC P-384 (ES384)")
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if key_id:
        header["kid"] = key_id
    signing_input = f"{_b64url_json(header)}.{_b64url_json(claims)}".encode("ascii")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
    else:
        # JWS wants the raw r||s pair, not the DER structure cryptography produces.
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA384())))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return f"{signing_input.decode('ascii')}.{_b64url(signature)}"


class SmartBackendAuth:
    """Access tokens for the FHIR API by SMART backend services, cached until near expiry.

    `authorization()` returns the `Authorization` header value; `invalidate()` drops the cached
    token (after a 401, say). Thread-safe: concurrent callers share one token request.
    """

    def __init__(
        self,
        connection: EhrConnection,
        *,
        post_form: PostForm,
        now: WallClock,
        resilience: Resilience | None = None,
        refresh_margin: timedelta = timedelta(seconds=60),
    ) -> None:
        if connection.auth != "smart" or not (
            connection.client_id and connection.token_url and connection.private_key_pem
        ):
            raise EhrConfigError("SMART auth needs client_id, token_url and private_key_pem")
        self._connection = connection
        self._client_id = connection.client_id
        self._token_url = connection.token_url
        self._key_pem = connection.private_key_pem
        self._post_form = post_form
        self._now = now
        self._resilience = resilience
        self._margin = refresh_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: datetime | None = None

    def client_assertion(self) -> str:
        """A fresh signed JWT: `iss` = `sub` = client id, `aud` = token URL, unique `jti`, 5 min `exp`."""
        issued = self._now()
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._token_url,
            "jti": str(uuid.uuid4()),
            "iat": int(issued.timestamp()),
            "exp": int((issued + ASSERTION_LIFETIME).timestamp()),
        }
        return sign_jwt(claims, self._key_pem, self._connection.key_id)

    def authorization(self) -> str:
        with self._lock:
            if self._token is None or self._expires_at is None or self._now() >= self._expires_at:
                self._token, self._expires_at = self._fetch()
            return f"Bearer {self._token}"

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
            self._expires_at = None

    def _fetch(self) -> tuple[str, datetime]:
        if self._resilience is None:
            return self._request_token()
        # Each attempt signs a new assertion: a token endpoint may refuse a reused jti.
        return self._resilience.run(self._request_token, idempotent=True)

    def _request_token(self) -> tuple[str, datetime]:
        asked_at = self._now()
        status, body = self._post_form(
            self._token_url,
            {
                "grant_type": "client_credentials",
                "scope": self._connection.scopes,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.client_assertion(),
            },
        )
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            # The OAuth error code is a fixed vocabulary ("invalid_client"); safe to surface.
            raise EhrUnavailable(
                f"the EHR token endpoint refused the request ({status}, {error or 'no error'})"
            )
        lifetime = body.get("expires_in")
        seconds = int(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 300
        expires_at = asked_at + timedelta(seconds=seconds) - self._margin
        # A token shorter-lived than the margin is still used for this call, never cached past it.
        return body["access_token"], max(expires_at, asked_at)

    @property
    def token_url(self) -> str:
        return self._token_url
