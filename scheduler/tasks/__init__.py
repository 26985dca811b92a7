"""Worker tasks, one module per concern. Importing this package registers them all."""
from . import drills, messaging, plans, system  # noqa: F401
