"""The WSGI entry point: gunicorn serves ``wsgi:app``; ``flask --app wsgi`` runs commands
(among them ``flask scheduler run``). The process that runs configures logging, once."""
import logging

from emergency import create_app
from emergency.core.config import ensure_secret_key

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
for noisy in ("alembic.runtime.plugins", "twilio.http_client"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

app = create_app()
ensure_secret_key(app)
