"""The gRPC decision API (proto/plano/routing/v1/routing.proto): stubs and service."""
