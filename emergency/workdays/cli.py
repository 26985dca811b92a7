"""``flask calendar check [YEAR ...]``: is the working-day calendar of these years known?"""
from __future__ import annotations

from importlib.metadata import version

import click
from flask.cli import AppGroup

from emergency.core.timeutil import local_today
from emergency.workdays import calendar

calendar_cli = AppGroup("calendar", help="The Chinese working-day calendar.")


@calendar_cli.command("check")
@click.argument("years", nargs=-1, type=click.IntRange(2004, 2099))
def check(years: tuple[int, ...]) -> None:
    """Where each YEAR's working days come from (default: this year and next).

    Exits with status 1 when a year is not confirmed (its deadlines are provisional), so that
    monitoring can call it in December.
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
        elif coverage == calendar.Coverage.notice:
            click.echo(f"{year}: confirmed, notice entered by the admin ({count} day(s))")
        else:
            unknown.append(year)
            have = sum(1 for _name, present in cal.usual_holidays(year) if present)
            click.echo(f"{year}: PROVISIONAL: {count} day(s) entered, {have} of 7 usual holidays, not marked "
                       f"complete; deadlines are counted on ordinary weekends until the State Council notice is "
                       f"entered and marked complete on /admin/calendar", err=True)
    if unknown:
        raise SystemExit(1)


commands = (calendar_cli,)
