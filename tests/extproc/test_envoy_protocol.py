"""proto/envoy/ext_proc.proto agrees with Envoy's API on the wire.

Our file is written for this project; envoy-data-plane's classes are generated from Envoy's own
protos (v1.40's API). Every message, field, enum value and the RPC's path we declare must be
Envoy's: same field numbers, kinds, repetition and oneof groups.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from types import ModuleType
from typing import Any

import envoy_data_plane.envoy.config.core.v3 as envoy_core
import envoy_data_plane.envoy.extensions.filters.http.ext_proc.v3 as envoy_filter
import envoy_data_plane.envoy.service.ext_proc.v3 as envoy_service
import envoy_data_plane.envoy.type.v3 as envoy_type
import pytest
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from plano_extproc.extproc.generated.envoy import ext_proc_pb2

# Envoy keeps these in other packages; ours gathers them in the service's package.
ENVOY_PACKAGES: dict[str, ModuleType] = {
    "HeaderValue": envoy_core,
    "HeaderValueOption": envoy_core,
    "HeaderMap": envoy_core,
    "Metadata": envoy_core,
    "HttpStatus": envoy_type,
    "ProcessingMode": envoy_filter,
}
OURS = ext_proc_pb2.DESCRIPTOR.message_types_by_name
# Envoy's HttpStatus.code is an enum; ours an int32, the same varint on the wire.
SAME_ON_THE_WIRE = {("int32", "enum")}
_SCALARS = {
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_INT32: "int32",
}


def _envoy_class(name: str) -> Any:
    return getattr(ENVOY_PACKAGES.get(name, envoy_service), name)


def _our_kind(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return "map" if field.message_type.GetOptions().map_entry else "message"
    if field.enum_type is not None:
        return "enum"
    return _SCALARS[field.type]


def _envoy_fields(message: Descriptor) -> dict[str, Any]:
    return {
        f.name: f.metadata["betterproto"]
        for f in dataclasses.fields(_envoy_class(message.name))
        if "betterproto" in f.metadata
    }


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_field_is_envoys(name: str) -> None:
    theirs = _envoy_fields(OURS[name])
    for field in OURS[name].fields:
        assert field.name in theirs, f"{name}.{field.name} is not in Envoy's API"
        envoy = theirs[field.name]
        assert field.number == envoy.number, f"{name}.{field.name}"
        kinds = (_our_kind(field), envoy.proto_type)
        assert kinds[0] == kinds[1] or kinds in SAME_ON_THE_WIRE, f"{name}.{field.name}: {kinds}"
        if kinds[0] != "map":
            assert field.is_repeated == envoy.repeated, f"{name}.{field.name}"
        oneof = field.containing_oneof.name if field.containing_oneof else None
        assert oneof == envoy.group, f"{name}.{field.name}"


def _our_enums() -> list[tuple[str, EnumDescriptor]]:
    return [(m.name, e) for m in OURS.values() for e in m.enum_types]


@pytest.mark.parametrize(("owner", "enum_type"), _our_enums(), ids=lambda v: getattr(v, "name", v))
def test_every_enum_value_is_envoys(owner: str, enum_type: EnumDescriptor) -> None:
    envoy_enum: type[enum.Enum] = getattr(
        ENVOY_PACKAGES.get(owner, envoy_service), owner + enum_type.name
    )
    theirs = {member.name: member.value for member in envoy_enum}
    assert {value.name: value.number for value in enum_type.values} == theirs


def test_the_rpc_is_envoys() -> None:
    (service,) = ext_proc_pb2.DESCRIPTOR.services_by_name.values()
    (method,) = service.methods
    path = f"/{service.full_name}/{method.name}"
    assert f'"{path}"' in inspect.getsource(envoy_service)
    assert (method.input_type.name, method.output_type.name) == (
        "ProcessingRequest",
        "ProcessingResponse",
    )
