"""gunicorn's effective settings, read as gunicorn reads them, and where its bind addresses lead.

Used by `flask check-deploy` (deploy_check.py). gunicorn's own classes do the reading: its Config parses
and validates every value, its Application loads the config file, its parser reads GUNICORN_CMD_ARGS.
Options typed on gunicorn's own command line can't be seen from here: keep them in the config file.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from gunicorn.app.base import Application
from gunicorn.config import get_default_config_file
from gunicorn.util import parse_address

# Addresses only machines on the same private network can reach: a load balancer on another machine
# may need one, and nothing on the internet can connect to it (RFC 1918, and RFC 4193 for IPv6).
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(network) for network in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
))


REACHES = ("local", "private", "inherited", "public")  # narrowest first


class GunicornSettingsError(Exception):
    """gunicorn would not start with these settings; the message says which and why."""


@dataclass(frozen=True)
class GunicornSettings:
    """What gunicorn would bind and how many workers it would run, and where each came from."""

    config_file: str | None
    binds: tuple[str, ...]
    bind_source: str
    workers: int
    workers_source: str


@dataclass(frozen=True)
class BindAddress:
    """One address gunicorn binds, and who can reach it.

    reach is "local" (loopback or a unix socket: only this machine), "inherited" (fd://, a socket
    handed over by systemd), "private" (a private network) or "public" (anyone who can route to it).
    """

    address: str
    reach: str
    description: str


def read_gunicorn_settings(config_file: str | Path | None) -> GunicornSettings:
    """Load gunicorn's settings as `gunicorn -c CONFIG_FILE app:app` would, from the current environment.

    Without a config file, GUNICORN_CMD_ARGS's --config is used, else ./gunicorn.conf.py, as gunicorn does.
    Raises GunicornSettingsError when gunicorn would refuse them.
    """
    printed = io.StringIO()
    try:
        with contextlib.redirect_stderr(printed):
            reader = _SettingsReader(str(config_file) if config_file else None)
    except (Exception, SystemExit) as exc:  # gunicorn and argparse print their error (last), then exit
        said = [line.strip() for line in printed.getvalue().splitlines() if line.strip()]
        reason = "; ".join(part for part in (said[-1] if said else "", str(exc)) if part and not part.isdigit())
        raise GunicornSettingsError(
            f"gunicorn would refuse its settings ({reason or 'it exits'}); "
            "`gunicorn --check-config -c CONFIG app:app` shows the whole error."
        ) from exc
    sys.stderr.write(printed.getvalue())  # gunicorn's warnings, if any
    source_file = f"the gunicorn config {reader.location}"
    # gunicorn works out the defaults of bind (PORT) and workers (WEB_CONCURRENCY) once, when it is
    # imported; they are worked out here from the environment as it is now, as a fresh gunicorn would.
    if "bind" in reader.from_environment:
        binds, bind_source = reader.cfg.bind, "GUNICORN_CMD_ARGS"
    elif "bind" in reader.from_file:
        binds, bind_source = reader.cfg.bind, source_file
    elif "PORT" in os.environ:
        binds, bind_source = [f"0.0.0.0:{os.environ['PORT']}"], "gunicorn's default when PORT is set"
    else:
        binds, bind_source = ["127.0.0.1:8000"], "gunicorn's default"
    if "workers" in reader.from_environment:
        workers, workers_source = reader.cfg.workers, "GUNICORN_CMD_ARGS"
    elif "workers" in reader.from_file:
        workers, workers_source = reader.cfg.workers, source_file
    elif "WEB_CONCURRENCY" in os.environ:
        workers, workers_source = _whole_number("WEB_CONCURRENCY", os.environ["WEB_CONCURRENCY"]), "WEB_CONCURRENCY"
    else:
        workers, workers_source = 1, "gunicorn's default"
    return GunicornSettings(reader.location, tuple(binds), bind_source, workers, workers_source)


def _whole_number(name: str, raw: str) -> int:
    """An environment variable gunicorn reads as a whole number."""
    try:
        return int(raw)
    except ValueError:
        raise GunicornSettingsError(f"{name} must be a whole number, not {raw!r}: gunicorn would not start.") from None


class _SettingsReader(Application):
    """gunicorn's own loading of settings (config file, then GUNICORN_CMD_ARGS over it), without serving.

    gunicorn.app.base.Application.load_config does the same with its command line first; here the
    config file stands for `-c`, and nothing else is on the command line.
    """

    def __init__(self, config_file: str | None) -> None:
        self.config_file = config_file
        self.location: str | None = None
        self.from_file: set[str] = set()
        self.from_environment: set[str] = set()
        super().__init__(prog="gunicorn")

    def do_load_config(self) -> None:
        """Load the settings, letting errors through to be reported (gunicorn's own prints and exits)."""
        self.load_default_config()
        self.load_config()

    def load_config(self) -> None:
        """The config file's settings, then GUNICORN_CMD_ARGS's over them, as gunicorn applies them."""
        parser = self.cfg.parser()
        from_environment = parser.parse_args(self.cfg.get_cmd_args_from_env())
        self.location = self.config_file or from_environment.config or get_default_config_file()
        if self.location:
            loaded = self.load_config_from_file(self.location)
            self.from_file = {name.lower() for name in loaded if name in self.cfg.settings}
        for name, value in vars(from_environment).items():
            if value is not None and name != "args":
                self.cfg.set(name.lower(), value)
                self.from_environment.add(name.lower())


def classify_bind(address: str) -> BindAddress:
    """Who can reach a gunicorn bind address ("127.0.0.1:8000", "[::]:80", "unix:/run/site.sock", "fd://3")."""
    try:
        parsed = parse_address(address)
    except RuntimeError as exc:
        raise GunicornSettingsError(f"gunicorn can't bind {address!r}: {exc}") from exc
    if isinstance(parsed, str):
        return BindAddress(address, "local", "a unix socket: only this machine can connect")
    if isinstance(parsed, int):
        return BindAddress(address, "inherited",
                           "a socket handed over by its parent (systemd): make sure the socket unit's "
                           "ListenStream is 127.0.0.1 or a unix socket")
    host, port = parsed
    if not host:
        return BindAddress(address, "public", "every network interface of this machine")
    try:
        return _classify_ip(address, ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        found = resolve(host, port)
    except OSError as exc:
        raise GunicornSettingsError(f"gunicorn can't bind {address!r}: {host} does not resolve ({exc}).") from exc
    if not found:
        raise GunicornSettingsError(f"gunicorn can't bind {address!r}: {host} resolves to no address.")
    # The widest reach of the addresses the name has is the one that counts.
    widest = max((_classify_ip(address, ipaddress.ip_address(ip)) for ip in found),
                 key=lambda bound: REACHES.index(bound.reach))
    return BindAddress(address, widest.reach, f"{host} resolves to {', '.join(found)}: {widest.description}")


def resolve(host: str, port: int) -> list[str]:
    """The IP addresses a host name resolves to (as gunicorn's bind() would look it up)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(ipaddress.ip_address(entry[4][0].split("%")[0])) for entry in found})


def _classify_ip(address: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> BindAddress:
    """Who can reach one IP address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return BindAddress(address, "public", "every network interface of this machine")
    if ip.is_loopback:
        return BindAddress(address, "local", "loopback: only this machine can connect")
    if any(ip in network for network in PRIVATE_NETWORKS):
        return BindAddress(address, "private", "a private network's address: only machines on it can connect")
    return BindAddress(address, "public", "a public address: anyone who can route to it can connect")
