from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_ALGORITHM_UNSPECIFIED: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_ED25519: _ClassVar[KeyAlgorithm]
    KEY_ALGORITHM_ECDSA_P256: _ClassVar[KeyAlgorithm]
KEY_ALGORITHM_UNSPECIFIED: KeyAlgorithm
KEY_ALGORITHM_ED25519: KeyAlgorithm
KEY_ALGORITHM_ECDSA_P256: KeyAlgorithm

class PublicKey(_message.Message):
    __slots__ = ("algorithm", "key_bytes")
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    KEY_BYTES_FIELD_NUMBER: _ClassVar[int]
    algorithm: KeyAlgorithm
    key_bytes: bytes
    def __init__(self, algorithm: _Optional[_Union[KeyAlgorithm, str]] = ..., key_bytes: _Optional[bytes] = ...) -> None: ...

class RotateKey(_message.Message):
    __slots__ = ("new_public_key", "new_key_proof")
    NEW_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NEW_KEY_PROOF_FIELD_NUMBER: _ClassVar[int]
    new_public_key: PublicKey
    new_key_proof: bytes
    def __init__(self, new_public_key: _Optional[_Union[PublicKey, _Mapping]] = ..., new_key_proof: _Optional[bytes] = ...) -> None: ...
