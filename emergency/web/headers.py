"""Security headers on every response the app sends: pages, API, downloads, static files,
errors, webhooks and the Swagger UI page.

The Content-Security-Policy allows no inline script and no inline style: every script is a
file under emergency/static/ (data reaches it through data-* attributes or
``<script type="application/json">`` blocks, which are not executed), every style is in a
static CSS file. ``img-src`` also allows ``data:`` for the icons Swagger UI's stylesheet embeds.
The Referrer-Policy is ``same-origin``: calendar-feed URLs carry their token, and no URL of this
app is sent to another site; same-origin requests keep their Referer, which Flask-WTF's CSRF
check needs over HTTPS (``no-referrer`` would refuse every form).
"""
from __future__ import annotations

from flask import Flask, Response

DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)
CONTENT_SECURITY_POLICY = "; ".join(DIRECTIVES)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        # Only when the site is served over HTTPS (the session cookie is marked Secure then):
        # HSTS over plain HTTP would lock browsers out of a site that has no certificate.
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
