"""`flask check-deploy`: every unsafe or suspicious production setting, each with what to do.

A Flask plugin command (the flask.commands entry point in pyproject.toml): FlaskGroup looks plugin
commands up before it loads the app, so this one runs, and reports, even when the app would refuse to
start. deployment.py reads what is deployed; setting_checks.py and server_checks.py judge it.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import click

from coaching.config import ROOT

DEFAULT_GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def _wrapped(text: str, first: str = "      ") -> str:
    """A paragraph wrapped for a terminal, indented under its label; paths and addresses kept whole."""
    return textwrap.fill(text, width=100, initial_indent=first, subsequent_indent=" " * 6,
                         break_long_words=False, break_on_hyphens=False)


@click.command("check-deploy")
@click.option("--instance", "instance_path", default=str(ROOT / "instance"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The site's instance folder (instance/config.py, the SQLite database, uploads, backups).")
@click.option("--gunicorn-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The config file gunicorn is started with (-c). Default: deploy/gunicorn.conf.py.")
@click.pass_context
def check_deploy_command(context: click.Context, instance_path: Path, gunicorn_config: Path | None) -> None:
    """Check the production settings; print every problem with what to do, and exit 1 if there is any.

    Run it before starting the site, with the site's environment. It reads the settings as the app does
    (defaults, instance/config.py, environment variables) and gunicorn's as gunicorn does (the config file,
    then GUNICORN_CMD_ARGS), and looks at the database, backups and folders. It runs even when the app
    would refuse to start, and warns above all about gunicorn bound to a public address (slowloris).
    Options typed on gunicorn's own command line can't be seen: keep them in its config file.
    """
    # Imported here, not at the top: every `flask` command loads this module (plugin commands are
    # loaded before anything else), and these bring in gunicorn, Alembic and the models.
    from coaching.operations.deployment import read_deployment
    from coaching.operations.server_checks import SERVER_CHECKS
    from coaching.operations.setting_checks import SETTING_CHECKS

    if gunicorn_config is None and DEFAULT_GUNICORN_CONFIG.is_file():
        gunicorn_config = DEFAULT_GUNICORN_CONFIG
    instance_path = instance_path.resolve()
    deployment = read_deployment(instance_path, gunicorn_config)
    try:
        outcomes = [check(deployment) for check in SETTING_CHECKS + SERVER_CHECKS]
    finally:
        if deployment.engine is not None:
            deployment.engine.dispose()
    instance_config = instance_path / "config.py"
    click.echo(_wrapped(f"Settings: the defaults, then {instance_config} "
                        f"({'found' if instance_config.is_file() else 'none there'}), then the environment.", ""))
    gunicorn = deployment.gunicorn.config_file if deployment.gunicorn else gunicorn_config
    click.echo(_wrapped(f"gunicorn: {gunicorn or 'no config file'}, then GUNICORN_CMD_ARGS "
                        f"({'set' if 'GUNICORN_CMD_ARGS' in os.environ else 'not set'}).", ""))
    click.echo("")
    for outcome in outcomes:
        if not outcome.findings:
            click.echo(_wrapped(f"{outcome.title}: {outcome.fine}.", "??    " if outcome.unchecked else "ok    "))
            continue
        click.echo(f"FAIL  {outcome.title}")
        for finding in outcome.findings:
            click.echo(_wrapped(finding.problem))
            click.echo(_wrapped(f"What to do: {finding.fix}"))
    failed = [outcome for outcome in outcomes if outcome.findings]
    unchecked = [outcome for outcome in outcomes if outcome.unchecked]
    click.echo("")
    if failed:
        problems = sum(len(outcome.findings) for outcome in failed)
        click.echo(f"check-deploy: {problems} problem{'' if problems == 1 else 's'} found by {len(failed)} of "
                   f"{len(outcomes)} checks; fix them before starting the site.")
        context.exit(1)
    click.echo(f"check-deploy: all {len(outcomes)} checks passed"
               + (f" ({len(unchecked)} could not look, marked ??)." if unchecked else "."))
