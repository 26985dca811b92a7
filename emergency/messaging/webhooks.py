"""Twilio webhooks: delivery status callbacks and inbound replies, signature-checked.

The signature is computed by Twilio over the public URL it called and the form fields, so it
is checked against ``PUBLIC_BASE_URL`` + the request path and query. A bad or missing
signature gets 403 and changes nothing.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator

from emergency.core.extensions import db
from emergency.core.validation import id_arg
from emergency.messaging import delivery, inbound

logger = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio")


def _public_url() -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _check_signature() -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature or not RequestValidator(token).validate(_public_url(), request.form, signature):
        logger.warning("rejected webhook with a bad or missing signature from %s", request.remote_addr)
        abort(403)


@bp.route("/status", methods=["POST"])
def status():
    _check_signature()
    delivery_id = request.args.get("d", type=id_arg)
    changed = delivery.apply_provider_status(
        delivery_id, request.form.get("MessageSid", ""), request.form.get("MessageStatus", ""),
        request.form.get("ErrorCode") or None)
    logger.debug("status callback for delivery %s: %s (changed=%s)", delivery_id,
                 request.form.get("MessageStatus"), changed)
    return Response(status=204)


@bp.route("/inbound", methods=["POST"])
def receive():
    _check_signature()
    inbound.receive(request.form.get("MessageSid"), request.form.get("From", ""), request.form.get("To", ""),
                    request.form.get("Body", ""))
    db.session.commit()
    # Empty TwiML: no automatic reply.
    return Response("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>", mimetype="text/xml")
