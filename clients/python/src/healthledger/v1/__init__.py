"""healthledger.v1: protobuf messages and gRPC stubs generated from proto/healthledger/v1.

DO NOT EDIT any file in this directory: they are written by clients/python/regenerate (grpcio-tools 1.85.1)
and a test fails when they differ from what it makes from proto/. Change the .proto files, then run
clients/python/regenerate."""
