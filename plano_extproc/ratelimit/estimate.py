"""An estimate of a request's prompt tokens, for a budget check before the provider is called
(the `usage` it reports corrects the charge afterwards). No tokenizer, no download.

BPE tokenizers first split text into pieces (a word with its leading space, a group of up to
three digits, a run of punctuation, a line break) and then split rare pieces further; CJK text
costs most of a token a character. The estimate counts what those pieces are made of: the
text's UTF-8 bytes are mapped, one per character, onto character classes, and a weighted sum of
the classes' counts and of the number of words is the estimate. Every count is one C-level pass
of `bytes.translate` or `bytes.count`, which is why it is not a regular expression over the
pieces (over ten times slower). `WEIGHTS` are least squares against OpenAI's o200k_base, all
non-negative, so appending text never lowers the estimate; bench/token_estimate.py fits them
and measures the error."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from plano_extproc.wire.conversation import ParsedRequest
from plano_extproc.wire.ir import Image, Part, Text, ToolCall, ToolResult, Transcript

# OpenAI's chat framing: each message's start, role and end; and the reply's start.
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REQUEST = 3
# An image costs what its size and detail make it (85 to about 1,600); a 1024x1024 image at
# OpenAI's high detail, 765, stands for any.
TOKENS_PER_IMAGE = 765


def _class_table() -> bytes:
    """UTF-8 byte -> its character's class. Continuation bytes are deleted before, so each
    character is one byte of the result; a lead byte tells its script's block."""
    table = bytearray(b"o" * 256)  # invalid leads, and U+E000-U+FFFF (private use, forms)
    for byte in range(0x80):
        char = chr(byte)
        if char.islower():
            table[byte] = ord("a")
        elif char.isupper():
            table[byte] = ord("A")
        elif char.isdigit():
            table[byte] = ord("d")
        elif char == "\n":
            table[byte] = ord("n")
        elif char.isspace():
            table[byte] = ord(" ")
        else:
            table[byte] = ord("p")  # punctuation, symbols, control characters
    ranges = {
        "x": (0xC2, 0xCB),  # U+0080-U+02FF: accented Latin
        "l": (0xCC, 0xDF),  # U+0300-U+07FF: Greek, Cyrillic, Hebrew, Arabic ...
        "i": (0xE0, 0xE1),  # U+0800-U+1FFF: Indic, Thai, Georgian, Vietnamese Latin ...
        "s": (0xE2, 0xE2),  # U+2000-U+2FFF: quotes, dashes, arrows, symbols
        "h": (0xE3, 0xE9),  # U+3000-U+9FFF: CJK punctuation, kana, ideographs
        "k": (0xEA, 0xED),  # U+A000-U+DFFF: mostly Hangul
        "e": (0xF0, 0xF4),  # beyond the BMP: emoji, rare ideographs
    }
    for name, (first, last) in ranges.items():
        table[first : last + 1] = name.encode() * (last - first + 1)
    return bytes(table)


_CLASSES = _class_table()
_CONTINUATION = bytes(range(0x80, 0xC0))
# Over the classes, to count runs as the starts of runs: letters of alphabets -> "w", digits ->
# "d", anything else -> " ". (Two masks and one count each are faster than one and two each.)
_WORDS = bytes(ord("w") if chr(byte) in "aAxl" else ord(" ") for byte in range(256))
_NUMBERS = bytes(ord("d") if chr(byte) == "d" else ord(" ") for byte in range(256))
# The features, in order: counts of the ASCII classes, of the others, of words and numbers.
ASCII_CLASSES = ("a", "A", "d", " ", "n", "p")
OTHER_CLASSES = ("x", "l", "i", "s", "h", "k", "o", "e")
FEATURES = (*ASCII_CLASSES, *OTHER_CLASSES, "words", "numbers")
WEIGHTS = (
    0.045,  # a: lowercase ASCII letter
    0.157,  # A: uppercase ASCII letter
    0.210,  # d: digit
    0.138,  # space
    0.258,  # newline
    0.582,  # p: ASCII punctuation
    1.892,  # x: accented Latin letter
    0.243,  # l: Greek, Cyrillic, Hebrew, Arabic letter
    0.495,  # i
    0.537,  # s
    0.820,  # h: CJK
    0.786,  # k: Hangul
    1.954,  # o
    1.500,  # e: emoji
    0.728,  # words
    1.588,  # numbers: runs of digits, with the space before them
)


def text_features(text: str) -> tuple[int, ...]:
    """The counts `WEIGHTS` weighs, in the order of `FEATURES`."""
    if text.isascii():  # known without a scan; skips seven counts
        classes = text.encode().translate(_CLASSES)
        other = (0,) * len(OTHER_CLASSES)
    else:
        # Lone surrogates (valid in JSON strings) become bytes too, not an error.
        raw = text.encode("utf-8", "surrogatepass")
        classes = raw.translate(_CLASSES, _CONTINUATION)
        other = tuple(classes.count(name) for name in _OTHER_BYTES)
    words = classes.translate(_WORDS)
    numbers = classes.translate(_NUMBERS)
    return (
        *(classes.count(name) for name in _ASCII_BYTES),
        *other,
        words.count(b" w") + words.startswith(b"w"),
        numbers.count(b" d") + numbers.startswith(b"d"),
    )


_ASCII_BYTES = tuple(name.encode() for name in ASCII_CLASSES)
_OTHER_BYTES = tuple(name.encode() for name in OTHER_CLASSES)


def estimate_text_tokens(text: str) -> int:
    """Tokens of `text` alone; 0 for no text."""
    if not text:
        return 0
    total = sum(w * n for w, n in zip(WEIGHTS, text_features(text), strict=True))
    return max(1, math.ceil(total))


def estimate_transcript_tokens(transcript: Transcript) -> int:
    """Every turn's text, tool calls and results, and the framing of each turn."""
    texts: list[str] = []
    images = 0
    for turn in transcript.turns:
        images += _collect(turn.parts, texts)
    framing = TOKENS_PER_REQUEST + TOKENS_PER_MESSAGE * len(transcript.turns)
    # One pass over all the text: a separator's few tokens are cheaper than a call per part.
    return framing + TOKENS_PER_IMAGE * images + estimate_text_tokens("\n".join(texts))


def estimate_prompt_tokens(request: ParsedRequest) -> int:
    """The transcript, and the tools the request declares (their JSON, whatever the API's
    shape). The output the request allows (`max_tokens` and the like) is not counted."""
    tokens = estimate_transcript_tokens(request.transcript)
    tools = request.body.get("tools")
    if tools:
        tokens += estimate_text_tokens(json.dumps(tools, ensure_ascii=False))
    return tokens


def _collect(parts: Iterable[Part], texts: list[str]) -> int:
    """Appends the parts' text to `texts`; returns how many images they hold."""
    images = 0
    for part in parts:
        if isinstance(part, Text):
            texts.append(part.text)
        elif isinstance(part, ToolCall):
            texts.append(part.name)
            texts.append(part.arguments)
        elif isinstance(part, ToolResult):
            images += _collect(part.content, texts)
        elif isinstance(part, Image):
            images += 1
    return images
