from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClientApi(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLIENT_API_UNSPECIFIED: _ClassVar[ClientApi]
    CLIENT_API_CHAT: _ClassVar[ClientApi]
    CLIENT_API_MESSAGES: _ClassVar[ClientApi]
    CLIENT_API_RESPONSES: _ClassVar[ClientApi]
CLIENT_API_UNSPECIFIED: ClientApi
CLIENT_API_CHAT: ClientApi
CLIENT_API_MESSAGES: ClientApi
CLIENT_API_RESPONSES: ClientApi

class DecideRequest(_message.Message):
    __slots__ = ("api", "body", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    API_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    api: ClientApi
    body: bytes
    headers: _containers.ScalarMap[str, str]
    def __init__(self, api: _Optional[_Union[ClientApi, str]] = ..., body: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("models", "route", "trace_id", "session_id", "pinned", "fallback_reason")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_REASON_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    route: str
    trace_id: str
    session_id: str
    pinned: bool
    fallback_reason: str
    def __init__(self, models: _Optional[_Iterable[str]] = ..., route: _Optional[str] = ..., trace_id: _Optional[str] = ..., session_id: _Optional[str] = ..., pinned: _Optional[bool] = ..., fallback_reason: _Optional[str] = ...) -> None: ...
