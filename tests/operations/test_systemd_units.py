"""deploy/systemd/: systemd accepts every unit as written, and each service runs hardened as its own user."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coaching.config import ROOT
from tests.apps import require_service

UNITS = ROOT / "deploy" / "systemd"
CHECKOUT, VENV, SETTINGS = "/srv/hopefordystonia", "/srv/hopefordystonia/.venv", "/etc/hopefordystonia/env"
SERVICES = sorted(UNITS.glob("*.service"))
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
             "User": "hopefordystonia", "ReadWritePaths": f"{CHECKOUT}/instance", "CapabilityBoundingSet": ""}


def _service_section(path: Path) -> dict[str, str]:
    """The [Service] settings of a unit file."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(path)
    return dict(parser["Service"])


def test_the_units_are_the_ones_docs_deploy_names():
    """Are there units for the web process, the email worker, and timers for backup and purge?"""
    names = {path.name for path in UNITS.iterdir()}
    assert {"hopefordystonia-web.service", "hopefordystonia-outbox.service", "hopefordystonia-backup.service",
            "hopefordystonia-backup.timer", "hopefordystonia-purge.service", "hopefordystonia-purge.timer"} <= names
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert all(name in guide for name in names)


@pytest.mark.parametrize("unit", SERVICES, ids=lambda path: path.name)
def test_each_service_is_hardened(unit):
    """Does each service run as its own user, read-only but for the instance folder, without new privileges?"""
    service = _service_section(unit)
    for name, value in HARDENING.items():
        assert service.get(name) == value, (unit.name, name)
    assert service["EnvironmentFile"] == SETTINGS


def test_the_web_service_checks_the_deployment_first():
    """Does the web service run `flask check-deploy` before gunicorn, with deploy/gunicorn.conf.py?"""
    service = _service_section(UNITS / "hopefordystonia-web.service")
    assert service["ExecStartPre"].endswith("flask --app app check-deploy")
    assert "gunicorn -c deploy/gunicorn.conf.py app:app" in service["ExecStart"]


def test_systemd_accepts_every_unit(tmp_path):
    """Does `systemd-analyze verify` accept every unit, without a single warning, once installed at a real path?"""
    if not shutil.which("systemd-analyze"):
        require_service("systemd-analyze is not installed (Debian: apt-get install systemd)")
    (tmp_path / "env").write_text("")
    venv = str(Path(sys.executable).parent.parent)
    for unit in UNITS.iterdir():
        text = unit.read_text().replace(VENV, venv).replace(CHECKOUT, str(ROOT)).replace(SETTINGS,
                                                                                          str(tmp_path / "env"))
        (tmp_path / unit.name).write_text(text)
    rendered = sorted(str(path) for path in tmp_path.iterdir() if path.suffix in (".service", ".timer"))
    result = subprocess.run(["systemd-analyze", "verify", *rendered], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), \
        result.stdout + result.stderr
