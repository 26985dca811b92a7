"""The WSGI entry point: gunicorn serves ``wsgi:app``; ``flask --app wsgi`` runs commands."""
from emergency import create_app

app = create_app()
