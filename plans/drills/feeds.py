"""Calendar feeds (ICS, RFC 5545): revocable subscription URLs of drill occurrences and records.

A feed's URL carries a random token; only its SHA-256 is stored, so the URL is shown once when
the feed is created. Events keep their UID for ever (``<occurrence key>@<domain>``,
``drill-<id>@<domain>``); LAST-MODIFIED and SEQUENCE follow edits (a cycle's new time, a drill
that fulfils an occurrence, an excuse), so calendar apps update events instead of duplicating.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event
from marshmallow import ValidationError

from emergency.audit import operations as audit
from emergency.core.extensions import db
from emergency.organisations.models import Enterprise
from emergency.core.timeutil import local_today, utcnow
from plans.plan.models import Plan

from plans.drills.calendar_queries import local_midnight_utc, occurrence_title
from plans.drills.models import (
    OCCURRENCE_STATUS_LABELS,
    CalendarFeed,
    Drill,
    DrillCycle,
    Occurrence,
    status_sql,
)

#: How far back a feed reaches; forward it reaches as far as occurrences are laid out.
PAST_DAYS = 90
#: A county feed (every enterprise) is narrower and capped: tens of thousands of events would
#: take minutes to render and no calendar app could show them (bench/drill_calendar.py).
COUNTY_PAST_DAYS = 30
COUNTY_AHEAD_DAYS = 60
COUNTY_MAX_EVENTS = 3000
#: SEQUENCE counts seconds since this moment of the last modification (monotonic with edits).
_SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def feed_url(raw: str) -> str:
    """The subscription URL (under PUBLIC_BASE_URL when configured)."""
    path = url_for("drill_calendar.feed", token=raw)
    base = current_app.config.get("PUBLIC_BASE_URL")
    return base.rstrip("/") + path if base else url_for("drill_calendar.feed", token=raw, _external=True)


def uid_domain() -> str:
    config = current_app.config
    if config.get("CALENDAR_UID_DOMAIN"):
        return config["CALENDAR_UID_DOMAIN"]
    if config.get("SERVER_NAME"):
        return config["SERVER_NAME"].split(":")[0]
    if config.get("PUBLIC_BASE_URL"):
        return urlsplit(config["PUBLIC_BASE_URL"]).hostname or "drills.emergency.local"
    return "drills.emergency.local"


# --- operations ----------------------------------------------------------------------------------

def create_feed(actor, data: dict) -> tuple[CalendarFeed, str]:
    """A new feed and its raw token. Enterprise users' feeds are their own enterprise's."""
    if actor.is_officer:
        enterprise_id = data.get("enterprise_id")
        if enterprise_id is not None and db.session.get(Enterprise, enterprise_id) is None:
            raise ValidationError({"enterprise_id": [_("Choose an enterprise of the register.")]})
    else:
        enterprise_id = actor.enterprise_id
    raw = secrets.token_urlsafe(32)
    feed = CalendarFeed(token_hash=token_hash(raw), enterprise_id=enterprise_id, label=data.get("label") or "",
                        created_by_id=actor.id)
    db.session.add(feed)
    db.session.flush()
    audit.record(actor, "create", "calendar_feed", feed.id, enterprise_id=enterprise_id,
                 summary=feed.label or _("Calendar feed"))
    return feed, raw


def revoke_feed(actor, feed: CalendarFeed) -> bool:
    """Revoke a feed (its URL answers 404 from now on); revoking twice changes nothing."""
    if feed.revoked_at is not None:
        return False
    feed.revoked_at = utcnow()
    db.session.flush()
    audit.record(actor, "revoke", "calendar_feed", feed.id, enterprise_id=feed.enterprise_id,
                 summary=feed.label or _("Calendar feed"))
    return True


def feed_for_token(raw: str) -> CalendarFeed | None:
    """The live feed of a raw token, its use noted; None for unknown or revoked tokens."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(raw)))
    if feed is None or feed.revoked_at is not None:
        return None
    feed.last_used_at = utcnow()
    db.session.commit()
    return feed


def feeds_visible_to(user):
    query = sa.select(CalendarFeed).order_by(CalendarFeed.revoked_at.is_not(None), CalendarFeed.id.desc())
    if not user.is_officer:
        query = query.where(CalendarFeed.enterprise_id == user.enterprise_id)
    return query


# --- the ICS document ----------------------------------------------------------------------------

def _sequence(modified: datetime) -> int:
    return max(0, int((modified - _SEQUENCE_EPOCH).total_seconds()))


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def render_ics(feed: CalendarFeed, today: date | None = None) -> bytes:
    """The feed as an iCalendar document: occurrences from PAST_DAYS back to the horizon, and drills."""
    today = today or local_today()
    county = feed.enterprise_id is None
    since = today - timedelta(days=COUNTY_PAST_DAYS if county else PAST_DAYS)
    until = today + timedelta(days=COUNTY_AHEAD_DAYS) if county else date.max
    limit = COUNTY_MAX_EVENTS + 1 if county else None
    domain = uid_domain()
    now = utcnow()
    scope = (lambda column: sa.true()) if county else (lambda column: column == feed.enterprise_id)
    occurrences = db.session.execute(
        sa.select(Occurrence.key, Occurrence.scheduled_at, Occurrence.duration_minutes, Occurrence.window_start,
                  Occurrence.window_end, Occurrence.obligation, Occurrence.created_at, Occurrence.excused_at,
                  Occurrence.excuse_reason, status_sql(today).label("status"), Enterprise.name.label("enterprise"),
                  DrillCycle.name.label("cycle_name"), DrillCycle.updated_at.label("cycle_updated"),
                  Plan.title.label("plan_title"), Drill.updated_at.label("drill_updated"))
        .join(Enterprise, Enterprise.id == Occurrence.enterprise_id)
        .outerjoin(DrillCycle, DrillCycle.id == Occurrence.cycle_id)
        .outerjoin(Plan, Plan.id == Occurrence.plan_id)
        .outerjoin(Drill, Drill.id == Occurrence.drill_id)
        .where(scope(Occurrence.enterprise_id), Occurrence.window_end >= since, Occurrence.window_start <= until)
        .order_by(Occurrence.due_on, Occurrence.id).limit(limit)).all()
    drills = db.session.execute(
        sa.select(Drill.id, Drill.title, Drill.started_at, Drill.duration_minutes, Drill.location, Drill.updated_at,
                  Drill.created_at, Enterprise.name.label("enterprise"))
        .join(Enterprise, Enterprise.id == Drill.enterprise_id)
        .where(scope(Drill.enterprise_id), Drill.started_at >= local_midnight_utc(since))
        .order_by(Drill.started_at, Drill.id).limit(limit)).all()
    truncated = county and (len(occurrences) > COUNTY_MAX_EVENTS or len(drills) > COUNTY_MAX_EVENTS)
    occurrences, drills = occurrences[:COUNTY_MAX_EVENTS], drills[:COUNTY_MAX_EVENTS]
    with force_locale("zh_CN"):  # the feed is read in calendar apps: Chinese, like the SMS
        cal = Calendar()
        cal.add("prodid", "-//Emergency plans and drills//Drill calendar//ZH")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("method", "PUBLISH")
        cal.add("x-wr-calname", feed.label or (feed.enterprise.name if feed.enterprise else _("County drills")))
        cal.add("x-wr-timezone", "Asia/Shanghai")
        if truncated:
            cal.add("x-wr-caldesc", _("Too many drills for one calendar: only the first %(n)s are shown. "
                                      "Subscribe to single enterprises' feeds instead.", n=COUNTY_MAX_EVENTS))
        for row in occurrences:
            title = occurrence_title(row.obligation, row.cycle_name, row.plan_title)
            status = str(OCCURRENCE_STATUS_LABELS[row.status])
            event = Event()
            event.add("uid", f"{row.key}@{domain}")
            event.add("dtstamp", now)
            summary = _("%(title)s (%(status)s)", title=title, status=status)
            event.add("summary", f"{row.enterprise}：{summary}" if county else summary)
            if row.scheduled_at is not None:
                event.add("dtstart", row.scheduled_at)
                event.add("dtend", row.scheduled_at + timedelta(minutes=row.duration_minutes or 60))
            else:  # a statutory window: all-day, DTEND exclusive
                event.add("dtstart", row.window_start)
                event.add("dtend", row.window_end + timedelta(days=1))
                event.add("transp", "TRANSPARENT")
            description = _("On time from %(start)s to %(end)s. Status: %(status)s.",
                            start=row.window_start.isoformat(), end=row.window_end.isoformat(), status=status)
            if row.excuse_reason:
                description += " " + _("Reason excused: %(reason)s", reason=row.excuse_reason)
            event.add("description", description)
            event.add("categories", [status])
            modified = _latest(row.created_at, row.cycle_updated, row.excused_at, row.drill_updated)
            event.add("last-modified", modified)
            event.add("sequence", _sequence(modified))
            cal.add_component(event)
        for row in drills:
            event = Event()
            event.add("uid", f"drill-{row.id}@{domain}")
            event.add("dtstamp", now)
            summary = _("Drill record: %(title)s", title=row.title)
            event.add("summary", f"{row.enterprise}：{summary}" if county else summary)
            event.add("dtstart", row.started_at)
            event.add("dtend", row.started_at + timedelta(minutes=row.duration_minutes))
            if row.location:
                event.add("location", row.location)
            modified = _latest(row.created_at, row.updated_at)
            event.add("last-modified", modified)
            event.add("sequence", _sequence(modified))
            cal.add_component(event)
    return cal.to_ical()
