"""gunicorn settings, read by the Procfile's `gunicorn -c gunicorn.conf.py`.

Bind address, workers and the access log stay on the Procfile's command line. The logger class
redacts calendar-feed tokens from every access-log line (emergency/access_log.py): a feed URL
is its own credential. Keep it when changing `access_log_format` or logging elsewhere.
"""
logger_class = "emergency.core.access_log.GunicornLogger"
