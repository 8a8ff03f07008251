"""The response side of `ratelimits`: a charged request's answer is read as it passes by (never
changed), and its buckets corrected to the tokens the provider reports it used, prompt and
completion. A failed answer used nothing: its charge is given back. An answer that reports no
usage (an OpenAI stream without `include_usage`) keeps the prompt's estimate, plus its streamed
text's estimate for the completion. A request with a `retry_policy` is counted on the model that
answered: the last one its attempts header names."""

from __future__ import annotations

import math

from plano_extproc.contract.headers import ATTEMPTS_HEADER
from plano_extproc.contract.metadata import METADATA_NAMESPACE
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingRequest
from plano_extproc.extproc.messages import header_dict
from plano_extproc.extproc.request_limits import CHARGE_KEY, Charge, RequestLimits
from plano_extproc.wire import Translation, UsageReader, usage_reader

# Only the streamed text's length is kept (never the text): English averages about four
# characters per token in OpenAI's encodings.
CHARS_PER_TOKEN = 4


class UsageCorrection:
    def __init__(
        self,
        limits: RequestLimits,
        charge: Charge,
        reader: UsageReader,
        failed: bool,
        answered_by: str | None = None,
    ) -> None:
        self._limits = limits
        self._charge = charge
        self._reader = reader
        self._failed = failed
        self._answered_by = answered_by

    @classmethod
    def start(
        cls,
        limits: RequestLimits | None,
        message: ProcessingRequest,
        translation: Translation | None,
    ) -> UsageCorrection | None:
        """None when the request was not charged (or rate limits are off)."""
        if limits is None:
            return None
        fields = message.metadata_context.filter_metadata[METADATA_NAMESPACE].fields
        if CHARGE_KEY not in fields:
            return None
        charge = Charge.from_json(fields[CHARGE_KEY].string_value)
        if charge is None:
            return None
        headers = header_dict(message.response_headers.headers)
        status = int(headers.get(":status", "200") or 200)
        api = translation.upstream if translation is not None else charge.api
        reader = usage_reader(api, stream=False, content_type=headers.get("content-type"))
        answered_by = _last_attempt(headers.get(ATTEMPTS_HEADER)) if charge.alternates else None
        return cls(limits, charge, reader, status >= 400, answered_by)

    def feed(self, chunk: bytes) -> None:
        if not self._failed:
            self._reader.feed(chunk)

    async def finish(self) -> None:
        await self._limits.correct(self._charge, self.used(), self._answered_by)

    def used(self) -> int:
        if self._failed:
            return 0
        usage = self._reader.finish()
        if usage is not None:
            return usage.input_tokens + usage.output_tokens
        return self._charge.tokens + math.ceil(self._reader.streamed_text_chars / CHARS_PER_TOKEN)


def _last_attempt(header: str | None) -> str | None:
    """The model of the last attempt in `model;status=N, model;status=N`."""
    if not header:
        return None
    return header.rsplit(",", 1)[-1].split(";", 1)[0].strip() or None
