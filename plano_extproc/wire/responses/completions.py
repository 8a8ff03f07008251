"""The neutral Completion → a non-streamed Responses answer.

Each run of text becomes one message item with one output_text part, each tool call a
function_call item, in the order the model produced them.
"""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.ir import Completion, Text
from plano_extproc.wire.responses.common import (
    final_status,
    function_call_item,
    item_id,
    message_item,
    output_text,
    response_id,
    response_object,
)


def write_responses_completion(completion: Completion) -> dict[str, Any]:
    identifier = response_id(completion.id)
    output: list[dict[str, Any]] = []
    texts: list[str] = []

    def close_text_run() -> None:
        text = "".join(texts)
        texts.clear()
        if text:
            message_id = item_id("msg", identifier, len(output))
            output.append(message_item(message_id, [output_text(text)], "completed"))

    for part in completion.content:
        if isinstance(part, Text):
            texts.append(part.text)
            continue
        close_text_run()
        output.append(function_call_item(item_id("fc", identifier, len(output)), part, "completed"))
    close_text_run()
    status, incomplete = final_status(completion.stop)
    return response_object(
        identifier,
        created=completion.created,
        model=completion.model,
        status=status,
        output=output,
        usage=completion.usage,
        incomplete_details=incomplete,
    )
