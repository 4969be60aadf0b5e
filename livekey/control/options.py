"""The ``--control`` flags of ``livekey run``: where the API listens and the token it demands.

The API changes what goes on air and writes files, so it listens on the loopback interface unless
``--control-allow-remote`` says otherwise, and every request must carry the token.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from livekey.errors import LivekeyError

if TYPE_CHECKING:
    from livekey.control.server import ControlServer
    from livekey.control.state import Controller

DEFAULT_HOST = "127.0.0.1"
TOKEN_ENV = "LIVEKEY_CONTROL_TOKEN"
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class ControlOptions:
    host: str
    port: int  # 0: any free port (the server reports the one it got)
    token: str
    token_generated: bool  # made up at start: print it once, the user has no other way to know it


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("control API (stream decks, scripts; see docs/control-api.md)")
    group.add_argument("--control", metavar="[HOST:]PORT",
                       help="serve the HTTP control API on PORT (host 127.0.0.1 unless given)")
    group.add_argument("--control-token", metavar="TOKEN",
                       help=f"the bearer token every request must carry (default: ${TOKEN_ENV}, else a new "
                            "random one printed at start)")
    group.add_argument("--control-allow-remote", action="store_true",
                       help="allow --control on an address other machines can reach (anyone who has the "
                            "token can then change the picture and write files)")


def parse_address(text: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port)."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host = DEFAULT_HOST
    host = host.strip("[]") if host.startswith("[") else host
    try:
        port = int(port_text)
        if not 0 <= port <= 65535 or not host or (":" in host and not text.strip().startswith("[")):
            raise ValueError
    except ValueError:
        raise LivekeyError(f"--control {text!r} is not [HOST:]PORT, e.g. 8765 or 127.0.0.1:8765 "
                           "(an IPv6 host in brackets: [::1]:8765)") from None
    return host, port


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def control_options(args: argparse.Namespace) -> ControlOptions | None:
    """The checked options, or None without ``--control``."""
    if getattr(args, "control", None) is None:
        return None
    host, port = parse_address(args.control)
    if not is_loopback(host) and not args.control_allow_remote:
        raise LivekeyError(f"--control {args.control}: {host} is not a loopback address, so other machines "
                           "could reach the API; add --control-allow-remote to allow that")
    token = args.control_token if args.control_token is not None else os.environ.get(TOKEN_ENV)
    if token is not None and not token.strip():
        raise LivekeyError(f"the control token (--control-token or ${TOKEN_ENV}) is empty; give one or leave "
                           "both unset for a random one")
    if token is None:
        return ControlOptions(host, port, secrets.token_urlsafe(24), token_generated=True)
    return ControlOptions(host, port, token.strip(), token_generated=False)


def start_control(options: ControlOptions, controller: Controller) -> ControlServer:
    """Serve the API and say where (and the token, when it was made up here: printed this once)."""
    from livekey.control.server import ControlServer

    server = ControlServer(controller, options.token, options.host, options.port)
    server.start()
    token = (f"token {options.token} (set --control-token or ${TOKEN_ENV} to keep one)" if options.token_generated
             else "token as given")
    print(f"livekey: control API at {server.url} ({token})", file=sys.stderr, flush=True)
    return server
