"""Every message class, enum and enum value of healthledger.v1 in one namespace, as the .proto files name
them: `messages.Grant`, `messages.DATA_CATEGORY_LABS`, `messages.Action.Name(value)`."""

from __future__ import annotations

from typing import Any

from .v1 import (audit_pb2, chain_pb2, identity_pb2, ledger_service_pb2, policy_pb2, records_pb2, state_pb2,
                 transaction_pb2)

GENERATED_MODULES = (audit_pb2, chain_pb2, identity_pb2, ledger_service_pb2, policy_pb2, records_pb2, state_pb2,
                     transaction_pb2)

_names: dict[str, Any] = {}
for _module in GENERATED_MODULES:
    _names.update({name: getattr(_module, name) for name in dir(_module)
                   if not name.startswith("_") and name != "DESCRIPTOR"})
globals().update(_names)
__all__ = sorted(_names)

