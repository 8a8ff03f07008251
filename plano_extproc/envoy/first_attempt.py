"""The Envoy side of a first attempt Envoy judges alone (failover/first_attempt.py).

The routing filter rewrites such a request for its first model itself and writes that model's
cluster into the metadata. On the failover cluster, for that first attempt only:
- the attempt filter is skipped (a matcher on `x-envoy-attempt-count: 1` and the cluster
  header the failover route adds from the metadata);
- a small Lua filter records the answer's status, Retry-After and timeout mark into the
  request's metadata, which outlives the attempt, for the attempt filter of a retry, and sets
  `x-plano-attempts`, which the attempt filter would have set;
- the failover route's own `retriable-status-codes` decide the retry.
Every later attempt passes the attempt filter as before. Its "no retry" answers carry
`x-envoy-ratelimited`, the one response header that stops Envoy retrying a retriable status;
the failover route strips it, and the attempts listener strips any a provider sent.
"""

from __future__ import annotations

from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.extensions.common.matching.v3 import ExtensionWithMatcher
from envoy_data_plane.envoy.extensions.filters.common.matcher.action.v3 import SkipFilter
from envoy_data_plane.envoy.extensions.filters.http.lua import v3 as lua
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import v3 as hcm
from envoy_data_plane.envoy.type.matcher.v3 import HttpRequestHeaderMatchInput
from envoy_data_plane.google.protobuf import Any
from envoy_data_plane.xds.core import v3 as xds_core
from envoy_data_plane.xds.type.matcher import v3 as xds

from plano_extproc.contract.headers import (
    ATTEMPT_COUNT_HEADER,
    ATTEMPT_TIMEOUT_HEADER,
    ATTEMPTS_HEADER,
    CLUSTER_HEADER,
    UPSTREAM_TIMEOUT_HEADER,
)
from plano_extproc.contract.metadata import (
    FIRST_CLUSTER_KEY,
    FIRST_RETRY_AFTER_KEY,
    FIRST_STATUS_KEY,
    FIRST_TIMEOUT_KEY,
    FIRST_TIMEOUT_MS_KEY,
    METADATA_NAMESPACE,
    MODEL_KEY,
)
from plano_extproc.envoy.filters import typed_filter

LUA_FILTER = "envoy.filters.http.lua"
FIRST_ATTEMPT_RECORDER = "plano.first_attempt"

_RECORDER_SOURCE = f"""
function envoy_on_response(handle)
  local headers = handle:headers()
  local status = headers:get(":status") or "0"
  local metadata = handle:streamInfo():dynamicMetadata()
  local decided = metadata:get("{METADATA_NAMESPACE}") or {{}}
  metadata:set("{METADATA_NAMESPACE}", "{FIRST_STATUS_KEY}", status)
  local retry_after = headers:get("retry-after")
  if retry_after ~= nil then
    metadata:set("{METADATA_NAMESPACE}", "{FIRST_RETRY_AFTER_KEY}", retry_after)
  end
  if headers:get("{UPSTREAM_TIMEOUT_HEADER}") ~= nil then
    metadata:set("{METADATA_NAMESPACE}", "{FIRST_TIMEOUT_KEY}", "true")
  end
  headers:replace("{ATTEMPTS_HEADER}", (decided["{MODEL_KEY}"] or "") .. ";status=" .. status)
end
"""


def _header_is(name: str, value_regex: str) -> xds.MatcherMatcherListPredicate:
    header = HttpRequestHeaderMatchInput(header_name=name)
    regex = xds.RegexMatcher(google_re2=xds.RegexMatcherGoogleRe2(), regex=value_regex)
    return xds.MatcherMatcherListPredicate(
        single_predicate=xds.MatcherMatcherListPredicateSinglePredicate(
            input=xds_core.TypedExtensionConfig(name=name, typed_config=Any.pack(header)),
            value_match=xds.StringMatcher(safe_regex=regex),
        )
    )


def _first_rewritten_attempt() -> xds.MatcherMatcherListPredicate:
    """The first attempt of a request the routing filter rewrote for its first model."""
    both = [_header_is(ATTEMPT_COUNT_HEADER, "1"), _header_is(CLUSTER_HEADER, ".+")]
    return xds.MatcherMatcherListPredicate(
        and_matcher=xds.MatcherMatcherListPredicatePredicateList(predicate=both)
    )


def _skipped_when(
    predicate: xds.MatcherMatcherListPredicate, name: str, config: core.TypedExtensionConfig
) -> hcm.HttpFilter:
    skip = xds_core.TypedExtensionConfig(name="skip", typed_config=Any.pack(SkipFilter()))
    matcher = xds.Matcher(
        matcher_list=xds.MatcherMatcherList(
            matchers=[
                xds.MatcherMatcherListFieldMatcher(
                    predicate=predicate, on_match=xds.MatcherOnMatch(action=skip)
                )
            ]
        )
    )
    wrapped = ExtensionWithMatcher(xds_matcher=matcher, extension_config=config)
    return typed_filter(name, wrapped)


def first_attempt_filters(attempt_filter: hcm.HttpFilter) -> list[hcm.HttpFilter]:
    """The failover cluster's upstream filters before the codec: the attempt filter, skipped
    on a rewritten first attempt, and the recorder, which runs on that attempt only."""
    attempt = core.TypedExtensionConfig(
        name=attempt_filter.name, typed_config=attempt_filter.typed_config
    )
    recorder = lua.Lua(default_source_code=core.DataSource(inline_string=_RECORDER_SOURCE))
    not_first = xds.MatcherMatcherListPredicate(not_matcher=_first_rewritten_attempt())
    return [
        _skipped_when(_first_rewritten_attempt(), attempt_filter.name, attempt),
        _skipped_when(
            not_first,
            FIRST_ATTEMPT_RECORDER,
            core.TypedExtensionConfig(name=LUA_FILTER, typed_config=Any.pack(recorder)),
        ),
    ]


def first_attempt_request_headers() -> list[core.HeaderValueOption]:
    """Added by the failover route (after it removed the client's): the first model's cluster,
    and its attempt timeout, for the attempts listener; absent unless the metadata has them."""
    return [
        core.HeaderValueOption(
            header=core.HeaderValue(
                key=header, value=f"%DYNAMIC_METADATA({METADATA_NAMESPACE}:{key})%"
            ),
            append_action=core.HeaderValueOptionHeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
        )
        for header, key in (
            (CLUSTER_HEADER, FIRST_CLUSTER_KEY),
            (ATTEMPT_TIMEOUT_HEADER, FIRST_TIMEOUT_MS_KEY),
        )
    ]
