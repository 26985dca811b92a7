"""``flask calendar check [YEAR ...]``: is the working-day calendar of these years known?"""
from __future__ import annotations

from importlib.metadata import version

import click
from flask.cli import AppGroup

from ..timeutil import local_today
from . import calendar

calendar_cli = AppGroup("calendar", help="The Chinese working-day calendar.")


@calendar_cli.command("check")
@click.argument("years", nargs=-1, type=click.IntRange(2004, 2099))
def check(years: tuple[int, ...]) -> None:
    """Where each YEAR's working days come from (default: this year and next).

    Exits with status 1 when a year is not covered, so that monitoring can call it in December.
    """
    today = local_today()
    years = years or (today.year, today.year + 1)
    cal = calendar.current()
    unknown = []
    for year in years:
        coverage = cal.coverage(year)
        count = len(cal.overrides(year))
        if coverage == calendar.Coverage.package:
            click.echo(f"{year}: chinese-calendar {version('chinesecalendar')}, {count} override(s)")
        elif coverage == calendar.Coverage.overrides:
            click.echo(f"{year}: {count} override(s) entered by the admin; other weekends off, weekdays worked")
        else:
            unknown.append(year)
            click.echo(f"{year}: NOT COVERED: enter the State Council holiday notice on /admin/calendar", err=True)
    if unknown:
        raise SystemExit(1)
