"""The pure logic of Responses conversation state: input items, the previous id, history and
reading a completed answer."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plano_extproc.conversations.items import (
    COMPLETED_EVENT,
    PREVIOUS_RESPONSE_ID,
    completed_exchange,
    input_items,
    previous_response_id,
    with_history,
)

USER_ITEM = {"role": "user", "content": "hello"}
ANSWER_ITEM = {
    "type": "message",
    "id": "msg_1_0",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hi there.", "annotations": []}],
}
CALL_ITEM = {
    "type": "function_call",
    "id": "fc_1_1",
    "call_id": "call_a",
    "name": "lookup",
    "arguments": '{"q":"x"}',
    "status": "completed",
}
HISTORY = [{"role": "user", "content": "first question"}, ANSWER_ITEM]


def response(**fields: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [ANSWER_ITEM, CALL_ITEM],
        **fields,
    }


def test_names_match_the_responses_api() -> None:
    assert PREVIOUS_RESPONSE_ID == "previous_response_id"
    assert COMPLETED_EVENT == "response.completed"


# input_items


def test_string_input_is_one_user_message() -> None:
    assert input_items("hello") == [{"role": "user", "content": "hello"}]


def test_empty_string_input_is_still_one_user_message() -> None:
    assert input_items("") == [{"role": "user", "content": ""}]


def test_list_input_keeps_its_items_in_order() -> None:
    items = [USER_ITEM, ANSWER_ITEM, CALL_ITEM]
    assert input_items(items) == items


def test_list_input_drops_entries_that_are_not_objects() -> None:
    assert input_items(["text", USER_ITEM, 3, None, ["nested"], CALL_ITEM]) == [
        USER_ITEM,
        CALL_ITEM,
    ]


@pytest.mark.parametrize("value", [None, 42, 1.5, {"role": "user"}, True, b"bytes"])
def test_missing_or_other_input_is_no_items(value: object) -> None:
    assert input_items(value) == []


def test_empty_list_input_is_no_items() -> None:
    assert input_items([]) == []


# previous_response_id


def test_previous_response_id_is_read() -> None:
    assert previous_response_id({"previous_response_id": "resp_1", "input": "hi"}) == "resp_1"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"input": "hi"},
        {"previous_response_id": None},
        {"previous_response_id": ""},
        {"previous_response_id": 12},
        {"previous_response_id": ["resp_1"]},
    ],
)
def test_absent_empty_or_non_string_previous_response_id_is_none(body: dict[str, Any]) -> None:
    assert previous_response_id(body) is None


# with_history


def test_history_comes_before_the_request_input() -> None:
    body = {"model": "gpt-4o", "previous_response_id": "resp_1", "input": [USER_ITEM]}
    assert with_history(body, HISTORY)["input"] == [*HISTORY, USER_ITEM]


def test_string_input_follows_the_history_as_a_user_message() -> None:
    body = {"previous_response_id": "resp_1", "input": "and then?"}
    assert with_history(body, HISTORY)["input"] == [
        *HISTORY,
        {"role": "user", "content": "and then?"},
    ]


def test_missing_input_leaves_just_the_history() -> None:
    assert with_history({"previous_response_id": "resp_1"}, HISTORY)["input"] == HISTORY


def test_non_object_input_entries_are_dropped_after_the_history() -> None:
    body = {"previous_response_id": "resp_1", "input": ["stray", USER_ITEM, 7]}
    assert with_history(body, HISTORY)["input"] == [*HISTORY, USER_ITEM]


def test_empty_history_keeps_the_request_input() -> None:
    body = {"previous_response_id": "resp_1", "input": [USER_ITEM]}
    assert with_history(body, [])["input"] == [USER_ITEM]


def test_previous_response_id_is_removed_and_other_fields_kept() -> None:
    body = {
        "model": "gpt-4o",
        "instructions": "be brief",
        "previous_response_id": "resp_1",
        "input": [USER_ITEM],
        "stream": True,
        "tools": [{"type": "function", "name": "lookup"}],
        "max_output_tokens": 50,
    }
    expanded = with_history(body, HISTORY)
    assert PREVIOUS_RESPONSE_ID not in expanded
    assert expanded == {
        "model": "gpt-4o",
        "instructions": "be brief",
        "input": [*HISTORY, USER_ITEM],
        "stream": True,
        "tools": [{"type": "function", "name": "lookup"}],
        "max_output_tokens": 50,
    }


def test_the_original_body_and_history_are_not_mutated() -> None:
    body = {
        "model": "gpt-4o",
        "instructions": "be brief",
        "previous_response_id": "resp_1",
        "input": [USER_ITEM],
    }
    history = [dict(item) for item in HISTORY]
    body_before, history_before = copy.deepcopy(body), copy.deepcopy(history)
    expanded = with_history(body, history)
    assert body == body_before
    assert history == history_before
    assert expanded is not body
    assert expanded["input"] is not body["input"]
    assert expanded["input"] is not history


def test_a_body_without_previous_response_id_is_expanded_too() -> None:
    body = {"model": "gpt-4o", "input": "hi"}
    assert with_history(body, HISTORY) == {
        "model": "gpt-4o",
        "input": [*HISTORY, {"role": "user", "content": "hi"}],
    }


# completed_exchange


def test_completed_response_gives_its_id_and_output_items() -> None:
    assert completed_exchange(response()) == ("resp_1", [ANSWER_ITEM, CALL_ITEM])


def test_completed_response_with_no_output_gives_no_items() -> None:
    assert completed_exchange(response(output=[])) == ("resp_1", [])


def test_non_object_output_entries_are_dropped() -> None:
    raw = response(output=["junk", ANSWER_ITEM, None, 5])
    assert completed_exchange(raw) == ("resp_1", [ANSWER_ITEM])


@pytest.mark.parametrize("status", ["incomplete", "failed", "in_progress", "cancelled", None])
def test_a_response_that_did_not_complete_gives_none(status: str | None) -> None:
    assert completed_exchange(response(status=status)) is None


def test_a_response_without_status_gives_none() -> None:
    raw = response()
    del raw["status"]
    assert completed_exchange(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "resp_1",
        42,
        [response()],
        {},
        response(id=None),
        response(id=7),
        {key: value for key, value in response().items() if key != "id"},
        response(output=None),
        response(output={"type": "message"}),
        response(output="Hi there."),
        {key: value for key, value in response().items() if key != "output"},
    ],
    ids=[
        "none",
        "string",
        "number",
        "list",
        "empty-object",
        "null-id",
        "numeric-id",
        "missing-id",
        "null-output",
        "object-output",
        "string-output",
        "missing-output",
    ],
)
def test_malformed_responses_give_none(raw: object) -> None:
    assert completed_exchange(raw) is None


def test_an_error_body_gives_none() -> None:
    assert completed_exchange({"error": {"message": "slow down", "type": "rate_limit"}}) is None
