"""/api/v1: calendar feeds (ICS, RFC 5545) of drill occurrences and drill records."""
from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_smorest import Blueprint

from emergency.core.access import EDITORS, check_can_edit_enterprise
from emergency.core.api import api_user, token_required
from emergency.auth.models import Role
from emergency.core.extensions import db

from plans.drills import feeds
from plans.drills.calendar_schemas import CreatedFeedSchema, FeedInput, FeedSchema
from plans.drills.calendar_views import ics_response
from plans.drills.models import CalendarFeed

blp = Blueprint("drill_feeds_api", __name__, url_prefix="/api/v1",
                description="Calendar feeds (ICS) of drill occurrences and drill records")
ICS_DOC = {
    "security": [],
    "responses": {
        "200": {"description": "An iCalendar document (RFC 5545)",
                "content": {"text/calendar": {"schema": {"type": "string"}}}},
        "404": {"description": "Unknown or revoked token"},
    },
}


@blp.route("/calendar-feeds")
class Feeds(MethodView):
    @token_required()
    @blp.response(200, FeedSchema(many=True))
    def get(self):
        """Calendar feeds, newest first (officers: all; an enterprise token: its own enterprise's).

        The tokens themselves are not kept, so URLs cannot be listed again: create a new feed
        and revoke the old one when a URL is lost.
        """
        return db.session.scalars(feeds.feeds_visible_to(api_user()).limit(500)).all()

    @token_required(*EDITORS, Role.enterprise)
    @blp.arguments(FeedInput)
    @blp.response(201, CreatedFeedSchema)
    @blp.alt_response(422, description="Invalid fields (problem details)")
    def post(self, data):
        """Create a feed; its subscription URL is in `url`, shown only in this response.

        Officers: `enterprise_id` null for the whole county, or one enterprise. An enterprise
        token's feed is always its own enterprise's. The URL has the form
        `/feeds/drills/{token}.ics` (also served as `GET /api/v1/calendar-feeds/{token}.ics`):
        no login, the token is the credential. Events: occurrences from 90 days back to the
        laid-out horizon and drill records, with stable UIDs.
        """
        feed, raw = feeds.create_feed(api_user(), data)
        db.session.commit()
        feed.url = feeds.feed_url(raw)
        return feed


@blp.route("/calendar-feeds/<int:feed_id>", methods=["DELETE"])
@token_required(*EDITORS, Role.enterprise)
@blp.response(204)
def revoke(feed_id: int):
    """Revoke a feed: its URL answers 404 from now on (revoking again changes nothing)."""
    feed = db.session.get(CalendarFeed, feed_id)
    user = api_user()
    if feed is None or (feed.enterprise_id is None and not user.is_officer):
        abort(404)
    if feed.enterprise_id is not None:
        check_can_edit_enterprise(user, feed.enterprise_id)
    feeds.revoke_feed(user, feed)
    db.session.commit()


@blp.route("/calendar-feeds/<token>.ics", methods=["GET"])
@blp.doc(**ICS_DOC)
def feed_ics(token: str):
    """The feed itself (public, no bearer token): the same document as `/feeds/drills/{token}.ics`.

    Subscribe to it in a calendar app. SUMMARY is Chinese with the status; cycle drills have
    DTSTART/DTEND in UTC, statutory windows are all-day events; UIDs are stable and
    SEQUENCE/LAST-MODIFIED follow edits.
    """
    return ics_response(token)
