"""``flask --app wsgi scheduler run|jobs`` and ``flask --app wsgi worker``."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup


def register(app: Flask) -> None:
    group = AppGroup("scheduler", help="The scheduler process (one active, others stand by).")

    @group.command("run")
    def run_command() -> None:
        """Run the scheduler; waits as a hot standby while another instance is active."""
        from scheduler.process import run  # APScheduler is loaded only by the process that runs it

        run(current_app._get_current_object())

    @group.command("jobs")
    def jobs_command() -> None:
        """List the scheduler's jobs and what they do."""
        from scheduler.jobs import specs  # the job list names every domain: loaded when asked

        for spec in specs():
            click.echo(f"{spec.id:24} {spec.trigger}  {spec.description}")

    app.cli.add_command(group)
