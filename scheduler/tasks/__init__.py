"""Worker tasks, one module per concern. Importing this package registers them all."""
from . import messaging, plans, system  # noqa: F401
