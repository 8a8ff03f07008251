"""Every provider of Plano's table through the real Envoy, with the official SDKs: what each
provider receives (path, query, credential header, model id, body format) and what the client
gets back. The recording test upstream stands in for each provider at its provider's path.
"""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.e2e.provider_cases import (
    ANSWER,
    BEDROCK,
    CASES,
    CLIENT_KEY,
    HI,
    Case,
    bearer,
    only_request,
)
from tests.support.upstream import RecordedRequest, UpstreamServer

pytestmark = pytest.mark.e2e


def assert_credentials(received: RecordedRequest, expected: tuple[str, str] | None) -> None:
    sent = {name: received.headers.get(name) for name in ("authorization", "x-api-key")}
    if expected is None:
        assert sent == {"authorization": None, "x-api-key": None}
        return
    assert sent[expected[0]] == expected[1]
    if not expected[1].endswith(CLIENT_KEY):  # only passthrough_auth forwards the client's key
        assert CLIENT_KEY not in str(dict(received.headers))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.model.partition("/")[0])
def test_each_provider_receives_its_request_as_it_expects(
    case: Case, openai_sdk: openai.OpenAI, upstream: UpstreamServer
) -> None:
    answer = openai_sdk.chat.completions.create(model=case.model, messages=HI)

    assert answer.choices[0].message.content == ANSWER
    received = only_request(upstream)
    assert (received.path, received.query) == (case.path, case.query)
    assert_credentials(received, case.credential)
    bare = case.model.partition("/")[2]
    if "/converse" in case.path:
        assert answer.model == bare
        assert "model" not in received.json
        assert received.json["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]
    else:
        assert received.json["model"] == bare
        assert received.json["messages"] == HI


@pytest.mark.parametrize(
    ("model", "path", "credential"),
    [
        ("anthropic/claude-sonnet-4-5", "/v1/messages", ("x-api-key", "key-anthropic")),
        ("vercel/openai/gpt-5", "/v1/messages", ("x-api-key", "key-vercel")),
        ("gemini/gemini-2.5-flash", "/v1beta/openai/chat/completions", bearer("key-gemini")),
        (BEDROCK, "/model/us.amazon.nova-pro-v1:0/converse", bearer("key-amazon_bedrock")),
    ],
)
def test_anthropic_clients_reach_each_kind_of_provider(
    model: str,
    path: str,
    credential: tuple[str, str],
    anthropic_sdk: anthropic.Anthropic,
    upstream: UpstreamServer,
) -> None:
    message = anthropic_sdk.messages.create(model=model, max_tokens=64, messages=HI)

    assert message.content[0].text == ANSWER
    received = only_request(upstream)
    assert received.path == path
    assert_credentials(received, credential)


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("xai/grok-4", "/v1/responses"),
        ("vercel/openai/gpt-5", "/v1/responses"),
        ("groq/llama-3.3-70b-versatile", "/openai/v1/chat/completions"),
        (BEDROCK, "/model/us.amazon.nova-pro-v1:0/converse"),
    ],
)
def test_responses_clients_go_as_they_are_or_translated(
    model: str, path: str, openai_sdk: openai.OpenAI, upstream: UpstreamServer
) -> None:
    response = openai_sdk.responses.create(model=model, input="hi")

    assert response.output_text == ANSWER
    assert only_request(upstream).path == path


def test_v1_models_lists_the_wildcards_built_in_models(openai_sdk: openai.OpenAI) -> None:
    listed = {model.id for model in openai_sdk.models.list()}
    assert {"gemini/gemini-2.5-flash", "mistral/codestral-latest", BEDROCK} <= listed
    assert "mistral/*" not in listed
