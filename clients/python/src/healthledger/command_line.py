"""The connection options of the `healthledger` command line (docs/CLI.md), for Python programs that want
the same flags and defaults: --server (one node, or several of one cluster separated by commas), --ca-file,
--plaintext, --server-name and --identity."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .client import LedgerClient
from .failover import parse_targets
from .identity import Identity, default_identity_path, load_identity

DEFAULT_PORT = 7443


def default_data_dir(environment: dict[str, str] | None = None) -> Path:
    """Where `healthledger serve` keeps its data (and development CA) by default."""
    environment = dict(os.environ) if environment is None else environment
    if environment.get("XDG_DATA_HOME"):
        return Path(environment["XDG_DATA_HOME"]) / "healthledger"
    return Path(environment.get("HOME", ".")) / ".local" / "share" / "healthledger"


def normalized_target(server: str) -> str:
    """`server` with the default port added when it names none ("[::1]" and "host" get ":7443")."""
    if server.startswith("["):
        return server if "]:" in server else f"{server}:{DEFAULT_PORT}"
    return server if ":" in server else f"{server}:{DEFAULT_PORT}"


def normalized_targets(servers: str) -> list[str]:
    """Each node of `servers` ("host:port", or several of one cluster separated by commas) with the default port
    added where it names none; ValueError for an empty one."""
    return [normalized_target(server) for server in parse_targets(servers)]


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds --server, --ca-file, --plaintext, --server-name and --identity with the command line's defaults."""
    parser.add_argument("--server", default=os.environ.get("HEALTHLEDGER_SERVER", f"127.0.0.1:{DEFAULT_PORT}"),
                        help="the node, host:port; or several nodes of one cluster, host:port,host:port,..., tried "
                             "in turn when one cannot serve (default: $HEALTHLEDGER_SERVER, else 127.0.0.1:7443)")
    parser.add_argument("--ca-file", type=Path,
                        help="PEM CA the node's certificate must chain to (default: the development CA of "
                             "`healthledger serve` when it exists, else the system's CAs)")
    parser.add_argument("--plaintext", action="store_true", help="h2c, for a node run with --plaintext")
    parser.add_argument("--server-name", help="name to check in the node's certificate (default: the host)")
    parser.add_argument("--identity", type=Path,
                        help="identity file that signs for you (default: $HEALTHLEDGER_IDENTITY, else "
                             "~/.config/healthledger/identity.pem)")


def identity_from_arguments(args: argparse.Namespace) -> Identity:
    """The identity --identity names (or the default identity file)."""
    return load_identity(args.identity if args.identity is not None else default_identity_path())


def client_from_arguments(args: argparse.Namespace, identity: Identity | None) -> LedgerClient:
    """A LedgerClient for the parsed connection options."""
    if args.plaintext:
        return LedgerClient(normalized_targets(args.server), identity, plaintext=True)
    ca_file = args.ca_file
    if ca_file is None and (default_data_dir() / "tls" / "ca.pem").is_file():
        ca_file = default_data_dir() / "tls" / "ca.pem"
    return LedgerClient(normalized_targets(args.server), identity, ca_file=ca_file, server_name=args.server_name)
