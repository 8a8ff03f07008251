"""Ours: who is calling (config `auth`). Pure logic, no I/O: a gateway API key looked up by its
sha256, or the claims of a JWT that Envoy's jwt_authn already verified; the models an identity
may use; and the throttle on one client address's failures. The ext_proc applies it
(extproc/client_auth.py); docs/auth.md says what is trusted and why."""

from plano_extproc.auth.authenticator import Authenticator
from plano_extproc.auth.identity import Identity
from plano_extproc.auth.keys import hash_key, new_key
from plano_extproc.wire.ir import Denial

__all__ = ["Authenticator", "Denial", "Identity", "hash_key", "new_key"]
