"""Envoy's own error replies, rewritten into the service's JSON error shape.

Envoy answers some requests itself: the ext_proc stream failed or timed out, the body is too
large, the provider could not be reached. Each mapper below matches one of those by status code
and response flags, so the ext_proc's own ImmediateResponses (200/400/404/405, and 503 without
upstream flags, all with JSON bodies already) pass through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from envoy_data_plane.envoy.config.accesslog import v3 as accesslog
from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.config.route import v3 as route
from envoy_data_plane.envoy.extensions.access_loggers.filters.cel import v3 as cel
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import v3 as hcm
from envoy_data_plane.google.protobuf import Any, Struct

from plano_extproc.contract.headers import UPSTREAM_TIMEOUT_HEADER
from plano_extproc.contract.replies import SERVICE_DETAILS_PREFIX

# ext_proc answers 500 when its gRPC stream fails (failure_mode_allow is false) and 504 when a
# message times out; the ext_proc service itself never uses either status.
EXTPROC_FAILURE_STATUS = 500
EXTPROC_TIMEOUT_STATUS = 504
# Flags the router sets when it could not get a response from the provider.
PROVIDER_FAILURE_FLAGS = ("UF", "UH", "UO", "URX", "UC", "UR", "DF")
UPSTREAM_TIMEOUT_FLAG = "UT"
CEL_FILTER = "envoy.access_loggers.extension_filters.cel"
CODEC_ERROR_EXPRESSION = (
    "response.code_details.startsWith('http1.') || response.code_details.startsWith('http2.')"
)
RESPONSE_CODE_DETAILS = "%RESPONSE_CODE_DETAILS%"


def json_error_body(code: str, message: str, reason: str) -> core.SubstitutionFormatString:
    """`{"error": {"code", "message", "details": {"reason"}}}`, sent as application/json."""
    error = {"code": code, "message": message, "details": {"reason": reason}}
    return core.SubstitutionFormatString(json_format=Struct.from_dict({"error": error}))


@dataclass(frozen=True, slots=True)
class _Rewrite:
    status: int
    flags: tuple[str, ...]
    new_status: int
    code: str
    message: str
    reason: str
    marks_timeout: bool = False
    # Only Envoy's refusals of requests it could not read.
    envoys_own: bool = False
    # Not the service's own reply of that status (client auth answers 403 too).
    unless_the_services: bool = False


def _status_is(status: int) -> accesslog.AccessLogFilter:
    comparison = accesslog.ComparisonFilter(
        op=accesslog.ComparisonFilterOp.EQ,
        value=core.RuntimeUInt32(default_value=status, runtime_key=f"plano.local_reply.{status}"),
    )
    return accesslog.AccessLogFilter(
        status_code_filter=accesslog.StatusCodeFilter(comparison=comparison)
    )


def _not_the_services() -> accesslog.AccessLogFilter:
    """A request Envoy refused itself: before its filters ran (it never got a request id, which
    every request the service sees has), or for a codec error in its body."""
    no_request_id = route.HeaderMatcher(name="x-request-id", present_match=True, invert_match=True)
    return accesslog.AccessLogFilter(
        or_filter=accesslog.OrFilter(
            filters=[
                accesslog.AccessLogFilter(
                    header_filter=accesslog.HeaderFilter(header=no_request_id)
                ),
                _cel(CODEC_ERROR_EXPRESSION),
            ]
        )
    )


def _cel(expression: str) -> accesslog.AccessLogFilter:
    return accesslog.AccessLogFilter(
        extension_filter=accesslog.ExtensionFilter(
            name=CEL_FILTER, typed_config=Any.pack(cel.ExpressionFilter(expression=expression))
        )
    )


def _match(rewrite: _Rewrite) -> accesslog.AccessLogFilter:
    conditions = [_status_is(rewrite.status)]
    if rewrite.flags:
        conditions.append(
            accesslog.AccessLogFilter(
                response_flag_filter=accesslog.ResponseFlagFilter(flags=list(rewrite.flags))
            )
        )
    if rewrite.envoys_own:
        conditions.append(_not_the_services())
    if rewrite.unless_the_services:
        expression = f"!response.code_details.startsWith('{SERVICE_DETAILS_PREFIX}')"
        conditions.append(_cel(expression))
    if len(conditions) == 1:
        return conditions[0]
    return accesslog.AccessLogFilter(and_filter=accesslog.AndFilter(filters=conditions))


def _mapper(rewrite: _Rewrite, mark_timeouts: bool) -> hcm.ResponseMapper:
    marker = [
        core.HeaderValueOption(header=core.HeaderValue(key=UPSTREAM_TIMEOUT_HEADER, value="1"))
    ]
    return hcm.ResponseMapper(
        filter=_match(rewrite),
        status_code=rewrite.new_status,
        body_format_override=json_error_body(rewrite.code, rewrite.message, rewrite.reason),
        headers_to_add=marker if mark_timeouts and rewrite.marks_timeout else [],
    )


def _routing_unavailable(status: int) -> _Rewrite:
    message = "the routing service did not answer"
    return _Rewrite(status, (), 503, "RoutingUnavailable", message, RESPONSE_CODE_DETAILS)


def _provider_unavailable(status: int, flags: tuple[str, ...], message: str) -> _Rewrite:
    return _Rewrite(status, flags, status, "ProviderUnavailable", message, RESPONSE_CODE_DETAILS)


def _rewrites(max_request_bytes: int) -> tuple[_Rewrite, ...]:
    # First match wins: the provider timeout (504 + UT) must come before the bare 504.
    too_large = f"request body exceeds {max_request_bytes} bytes"
    return (
        _routing_unavailable(EXTPROC_FAILURE_STATUS),
        replace(
            _provider_unavailable(504, (UPSTREAM_TIMEOUT_FLAG,), "the model provider timed out"),
            marks_timeout=True,
        ),
        _routing_unavailable(EXTPROC_TIMEOUT_STATUS),
        _provider_unavailable(
            503, PROVIDER_FAILURE_FLAGS, "the model provider could not be reached"
        ),
        _Rewrite(413, (), 413, "InvalidRequest", too_large, "body_too_large"),
        _Rewrite(
            408,
            (),
            408,
            "RequestTimeout",
            "the request was not received in time",
            RESPONSE_CODE_DETAILS,
        ),
        # Envoy's own refusal of a request it cannot read: no Host, a path it will not
        # normalise (%00, #), and the like.
        _Rewrite(
            400,
            (),
            400,
            "InvalidRequest",
            "malformed HTTP request",
            RESPONSE_CODE_DETAILS,
            envoys_own=True,
        ),
        # Envoy's own refusal of CONNECT and protocol upgrades (the service's 403, a key not
        # allowed a model, carries its own body).
        _Rewrite(
            403,
            (),
            403,
            "Forbidden",
            "CONNECT and protocol upgrades are not supported",
            RESPONSE_CODE_DETAILS,
            unless_the_services=True,
        ),
    )


def local_reply_config(
    max_request_bytes: int, *, mark_timeouts: bool = False
) -> hcm.LocalReplyConfig:
    """`mark_timeouts`: a provider timeout also carries the header that tells the attempt
    filter an attempt timed out (the attempts listener)."""
    # No top-level body_format: it would rewrite every local reply, the ext_proc's included.
    mappers = [_mapper(r, mark_timeouts) for r in _rewrites(max_request_bytes)]
    return hcm.LocalReplyConfig(mappers=mappers)
