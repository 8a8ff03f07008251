"""Builders for Envoy ext_proc protobuf messages, and reading request headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from google.protobuf.struct_pb2 import Struct

from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    BodyMutation,
    BodyResponse,
    CommonResponse,
    HeaderMap,
    HeaderMutation,
    HeadersResponse,
    HeaderValue,
    HeaderValueOption,
    HttpStatus,
    ImmediateResponse,
    ProcessingResponse,
)
from plano_extproc.wire.errors import InvalidRequest

_OVERWRITE = HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
_JSON_HEADERS = (("content-type", "application/json"),)

CONTINUE_HEADERS = ProcessingResponse(request_headers=HeadersResponse())


def header_dict(headers: HeaderMap) -> dict[str, str]:
    """Lowercase name → value. Envoy sends values as raw bytes; repeated names keep the last."""
    return {
        h.key.lower(): h.raw_value.decode("utf-8", "replace") if h.raw_value else h.value
        for h in headers.headers
    }


def set_header(name: str, value: str) -> HeaderValueOption:
    return HeaderValueOption(
        header=HeaderValue(key=name, raw_value=value.encode()), append_action=_OVERWRITE
    )


def json_reply(
    status: int, body: Mapping[str, Any], headers: Iterable[tuple[str, str]] = ()
) -> ProcessingResponse:
    """An ImmediateResponse: Envoy answers the client with it and never contacts an upstream."""
    return raw_json_reply(status, orjson.dumps(body), headers)


def raw_json_reply(
    status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()
) -> ProcessingResponse:
    mutation = HeaderMutation(set_headers=[set_header(k, v) for k, v in (*_JSON_HEADERS, *headers)])
    reply = ImmediateResponse(status=HttpStatus(code=status), headers=mutation, body=body)
    return ProcessingResponse(immediate_response=reply)


def problem_reply(
    status: int, code: str, message: str, reason: str, headers: Iterable[tuple[str, str]] = ()
) -> ProcessingResponse:
    """The gateway's own errors: `{"error": {"code", "message", "details": {"reason"}}}`."""
    body = {"error": {"code": code, "message": message, "details": {"reason": reason}}}
    return json_reply(status, body, headers)


def error_reply(error: InvalidRequest) -> ProcessingResponse:
    return json_reply(error.status, error.to_json())


def forward_body(
    *,
    set_headers: list[HeaderValueOption],
    remove_headers: Iterable[str],
    body: bytes | None,
    metadata: Struct,
) -> ProcessingResponse:
    """Continue to the upstream with rewritten headers (and body, when it changed); the route is
    re-selected because the cluster header changed."""
    common = CommonResponse(
        header_mutation=HeaderMutation(set_headers=set_headers, remove_headers=remove_headers),
        body_mutation=BodyMutation(body=body) if body is not None else None,
        clear_route_cache=True,
    )
    return ProcessingResponse(request_body=BodyResponse(response=common), dynamic_metadata=metadata)
