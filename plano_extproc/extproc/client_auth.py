"""The routing filter's side of `auth`: who the request is from (header phase), and whether
that identity may use the model that would answer (body phase). Refusals are in the client
API's own error shape, so both SDKs raise their usual authentication errors.

What leaves the header phase, for an admitted request: the client's credentials removed (a
gateway key or token never goes further), the identity in the service's view of the headers in
place of any client-sent copy, and in the access log's metadata.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.struct_pb2 import Struct
from prometheus_client import Counter

from plano_extproc.auth import Authenticator, Denial, Identity
from plano_extproc.auth.authenticator import model_not_allowed
from plano_extproc.auth.identity import Credential
from plano_extproc.config.model import AuthSettings, Config, ModelProvider
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.headers import IDENTITY_HEADER, JWT_PAYLOAD_HEADER, TEAM_HEADER
from plano_extproc.contract.metadata import set_strings
from plano_extproc.extproc.denials import denied_reply
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    CommonResponse,
    HeaderMutation,
    HeadersResponse,
    ProcessingResponse,
)
from plano_extproc.routing.decision import Decision
from plano_extproc.telemetry.metrics import AUTH_REFUSALS, CLIENT_REQUESTS

# Never beyond the routing filter: the gateway credential, and what only Envoy may set.
REMOVED_HEADERS = ("authorization", "x-api-key", JWT_PAYLOAD_HEADER, IDENTITY_HEADER, TEAM_HEADER)
IDENTITY_KEY = "identity"
TEAM_KEY = "team"
_TOKENS = CLIENT_REQUESTS.labels(Credential.JWT.value)


class ClientAuth:
    def __init__(self, settings: AuthSettings, config: Config) -> None:
        self._authenticator = Authenticator(settings, config.aliases)
        # Per key, built once: the header phase's reply (credentials out, identity in) and its
        # request counter. A token's are built per request: its names are not bounded.
        self._admitted = {
            key.name: _Admission(_continue_as(identity), CLIENT_REQUESTS.labels(key.name))
            for key, identity in self._authenticator.key_identities()
        }

    def admit(
        self, api: ClientApi | None, headers: dict[str, str], now: float | None = None
    ) -> tuple[Identity | None, ProcessingResponse]:
        """(the identity, the header phase's reply): the reply continues the request, or
        refuses it (identity None). `headers` becomes the service's trusted view."""
        result = self._authenticator.authenticate(headers, time.time() if now is None else now)
        if isinstance(result, Denial):
            return None, refusal(api, result)
        trusted_view(headers, result)
        if result.credential is Credential.API_KEY:
            admitted = self._admitted[result.name]
            admitted.counter.inc()
            return result, admitted.reply
        _TOKENS.inc()
        return result, _continue_as(result)

    def authenticate_call(self, metadata: Mapping[str, str]) -> Identity | Denial:
        """For the gRPC decision API: its metadata carries the same headers."""
        result = self._authenticator.authenticate(metadata, time.time())
        if isinstance(result, Denial):
            AUTH_REFUSALS.labels(result.reason).inc()
        else:
            CLIENT_REQUESTS.labels(result.metric_label).inc()
        return result


@dataclass(frozen=True, slots=True)
class _Admission:
    reply: ProcessingResponse
    counter: Counter


def trusted_view(headers: dict[str, str], identity: Identity) -> None:
    for name in REMOVED_HEADERS:
        headers.pop(name, None)
    headers[IDENTITY_HEADER] = identity.name
    if identity.team is not None:
        headers[TEAM_HEADER] = identity.team


def _continue_as(identity: Identity) -> ProcessingResponse:
    metadata = Struct()
    values = {IDENTITY_KEY: identity.name}
    if identity.team is not None:
        values[TEAM_KEY] = identity.team
    set_strings(metadata, values)
    mutation = HeaderMutation(remove_headers=REMOVED_HEADERS)
    return ProcessingResponse(
        request_headers=HeadersResponse(response=CommonResponse(header_mutation=mutation)),
        dynamic_metadata=metadata,
    )


def refusal(api: ClientApi | None, denial: Denial) -> ProcessingResponse:
    """An authentication refusal, counted by its reason."""
    AUTH_REFUSALS.labels(denial.reason).inc()
    return denied_reply(api, denial, "auth")


def restricted(
    decision: Decision, identity: Identity, providers: Mapping[str, ModelProvider]
) -> Decision | Denial:
    """A routed decision keeps, in rank order, the models `identity` may use; none: 403."""
    if identity.models is None or not decision.matched:
        return decision
    allowed = tuple(m for m in decision.models if identity.allows(providers[m]))
    if not allowed:
        return model_not_allowed(decision.models[0])
    if len(allowed) == len(decision.models):
        return decision
    return dataclasses.replace(decision, models=allowed)


def check_model(identity: Identity | None, provider: ModelProvider) -> Denial | None:
    if identity is None or identity.allows(provider):
        return None
    return model_not_allowed(provider.name)
