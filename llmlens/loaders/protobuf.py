"""Protobuf message classes built from a compact field list, for formats whose ``.proto`` files are not installed.

Only the fields llmlens reads need declaring: unknown fields are skipped by the parser. Fields are proto2
``optional``, so ``HasField`` tells a value of zero from a value not written. The classes parse with the
protobuf runtime's C implementation (upb), so decoding stays fast without the writer's package at run time.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

Field = tuple[str, int, str]
"""(name, number, type): type is a scalar (``double``, ``float``, ``int64``, ``int32``, ``uint64``, ``bool``,
``string``, ``bytes``; ``enum`` reads an enum as its number), ``Value`` (``google.protobuf.Value``) or a message
declared in the same call; a ``repeated`` prefix makes a list."""

_SCALARS = {
    "double": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
    "float": descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT,
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "uint64": descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "enum": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,  # same varint on the wire
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
}
_WELL_KNOWN = {"Value": ".google.protobuf.Value", "Struct": ".google.protobuf.Struct"}


def message_classes(package: str, messages: dict[str, list[Field]]) -> dict[str, type[Message]]:
    """Message classes, by name, for ``messages`` (message name -> fields), in a pool of their own.

    >>> classes = message_classes("example", {"Point": [("step", 2, "int64"), ("tags", 3, "repeated string")]})
    >>> point = classes["Point"].FromString(b"\\x10\\x07\\x1a\\x01a")
    >>> point.step, list(point.tags)
    (7, ['a'])
    """
    from google.protobuf import struct_pb2

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
    file = descriptor_pb2.FileDescriptorProto(
        name=f"llmlens/{package}.proto", package=package, syntax="proto2", dependency=["google/protobuf/struct.proto"]
    )
    for name, fields in messages.items():
        message = file.message_type.add(name=name)
        for field_name, number, declared in fields:
            kind = declared.removeprefix("repeated ")
            field = message.field.add(name=field_name, number=number)
            field.label = field.LABEL_REPEATED if kind != declared else field.LABEL_OPTIONAL
            if kind in _SCALARS:
                field.type = _SCALARS[kind]
            else:
                field.type = field.TYPE_MESSAGE
                field.type_name = _WELL_KNOWN.get(kind, f".{package}.{kind}")
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}")) for name in messages}
