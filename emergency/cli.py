"""Command-line interface: ``flask --app wsgi demo load``, ``county init``, ``users create``, ``calendar check``."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from emergency.core.extensions import db
from emergency import demo as demo_data
from emergency.organisations.models import Jurisdiction
from emergency.auth import operations
from emergency.auth.schemas import UserInput, check_password_strength
from emergency.workdays.cli import calendar_cli


def register_cli(app: Flask) -> None:
    demo = AppGroup("demo", help="Demo data.")

    @demo.command("load")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
    def demo_load(if_empty: bool) -> None:
        """Create the fictional county 示范县 with townships, 40 enterprises and users."""

        if not demo_data.is_empty():
            if if_empty:
                click.echo("Database already has data; demo data not loaded.")
                return
            raise click.ClickException("the database already has users; demo data goes into an empty database")
        logins = demo_data.load(password=current_app.config["DEMO_PASSWORD"])
        db.session.commit()
        click.echo("Demo county 示范县 loaded. Logins (username / password / role):")
        for login in logins[:4]:
            click.echo(f"  {login.username:10} {login.password:16} {login.role} {login.enterprise}")
        click.echo(f"  … and {len(logins) - 4} more enterprise users ent02–ent{len(logins) - 3:02d}"
                   + (" with the same password" if current_app.config["DEMO_PASSWORD"] else
                      "; all passwords are in instance/demo-logins.txt"))
        if not current_app.config["DEMO_PASSWORD"]:
            import os
            from pathlib import Path

            path = Path(current_app.instance_path) / "demo-logins.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            # Created private: the file holds passwords, never readable by others even briefly.
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write("".join(f"{l.username}\t{l.password}\t{l.role}\t{l.enterprise}\n" for l in logins))

    county = AppGroup("county", help="The jurisdiction this installation serves.")

    @county.command("init")
    @click.option("--name", required=True, help="County name, e.g. 示范县")
    @click.option("--area-code", required=True, help="Six-digit GB/T 2260 code")
    @click.option("--bureau", required=True, help="Receiving bureau, e.g. 示范县应急管理局")
    def county_init(name: str, area_code: str, bureau: str) -> None:
        """Configure the county of a new installation."""
        import sqlalchemy as sa


        if not (len(area_code) == 6 and area_code.isdigit()):
            raise click.BadParameter("six digits", param_hint="--area-code")
        if db.session.scalar(sa.select(Jurisdiction.id)) is not None:
            raise click.ClickException("a county is already configured")
        db.session.add(Jurisdiction(name=name, area_code=area_code, bureau_name=bureau))
        db.session.commit()
        click.echo(f"County {name} ({area_code}) configured.")

    users = AppGroup("users", help="User accounts.")

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice(["admin", "officer", "viewer", "enterprise"]), default="admin")
    @click.option("--name", "display_name", default=None)
    @click.option("--enterprise-id", type=int, default=None)
    @click.password_option()
    def users_create(username: str, role: str, display_name: str | None, enterprise_id: int | None,
                     password: str) -> None:
        """Create a user (the first admin of a new installation)."""
        from marshmallow import ValidationError


        try:
            check_password_strength(password)
            data = UserInput().load({"username": username, "display_name": display_name or username,
                                     "role": role, "enterprise_id": enterprise_id})
            operations.create_user(None, data, password)
        except ValidationError as exc:
            raise click.ClickException(str(exc.messages)) from exc
        db.session.commit()
        click.echo(f"User {username} ({role}) created.")

    for group in (demo, county, users):
        app.cli.add_command(group)


    app.cli.add_command(calendar_cli)
