"""An RS256 signing key made in the test, its JSON Web Key Set, and tokens signed with it.

key = SigningKey.generate()
write_jwks(tmp_path / "jwks.json", key)
token = key.token(claims(issuer="https://idp.test", audience="plano", sub="alice"))
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"
RSA_KEY_BITS = 2048
TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, kid: str = "test-key") -> SigningKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        return cls(kid, private_key)

    def public_jwk(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def token(self, payload: dict[str, Any]) -> str:
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.public_jwk() for key in keys]}


def write_jwks(path: Path, *keys: SigningKey) -> Path:
    path.write_text(json.dumps(jwks(*keys)), encoding="utf-8")
    return path


def claims(
    *,
    issuer: str,
    audience: str | None = None,
    lifetime_s: float = TOKEN_LIFETIME_SECONDS,
    **extra: Any,
) -> dict[str, Any]:
    """A payload issued now that expires after `lifetime_s` (negative: already expired)."""
    now = int(time.time())
    expires = now + int(lifetime_s)
    issued = min(now, expires - 60)
    payload: dict[str, Any] = {"iss": issuer, "iat": issued, "exp": expires, **extra}
    if audience is not None:
        payload["aud"] = audience
    return payload


JWKS_PATH = "/jwks.json"


@contextmanager
def serving_jwks(*keys: SigningKey) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers GET JWKS_PATH with the keys' set; yields its
    URL."""
    body = json.dumps(jwks(*keys)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == JWKS_PATH
            self.send_response(200 if found else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{JWKS_PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
