"""The module contract: what a domain tells the app, the worker and the scheduler about itself.

Each domain package exposes ``module = Module(...)`` in its ``__init__``, naming its parts by
dotted path (imported only when the app is built, so that importing a domain costs nothing):

- ``models``: modules defining its tables (loaded before migrations and queries);
- ``views``: modules with a page blueprint ``bp`` (and optionally more in ``blueprints``);
- ``api``: modules with a flask-smorest blueprint ``blp``;
- ``csrf_exempt``: view modules whose blueprint is checked otherwise (signed webhooks);
- ``tasks``: modules declaring worker tasks (``emergency.core.queue.task``);
- ``jobs``: modules with ``JOBS``, a tuple of ``JobSpec`` (the scheduler's periodic jobs);
- ``cli``: modules with ``commands``, click commands or groups added to ``flask``;
- ``handlers``: modules connecting signal receivers (``emergency.core.signals``);
- ``init``: ``"module:function"`` hooks called with the app (extensions a domain provides).

``emergency.modules.MODULES`` lists the domains in layer order; it is the one central place a
domain is named.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Module:
    name: str
    models: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    csrf_exempt: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
    cli: tuple[str, ...] = ()
    handlers: tuple[str, ...] = ()
    init: tuple[str, ...] = ()
