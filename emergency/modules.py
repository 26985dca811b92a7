"""The domains, in layer order: the one central place a domain is named.

``create_app``, model loading, the worker, the scheduler's job reconciliation read this list
(each domain's ``module``, see ``emergency.core.module``). A domain may import the ones before
it, never one after it (``.importlinter``). Adding a domain is one line here.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from emergency.audit import module as audit
from emergency.auth import module as auth
from emergency.core.jobs import JobSpec
from emergency.core.module import Module
from emergency.health import module as health
from emergency.messaging import module as messaging
from emergency.organisations import module as organisations
from emergency.workdays import module as workdays
from plans.documents import module as documents
from plans.drills import module as drills
from plans.filing import module as filing
from plans.plan import module as plan

MODULES: tuple[Module, ...] = (
    auth, audit, organisations, workdays,
    messaging,
    health,
    plan, documents,
    filing,
    drills,
)


def _imported(paths: tuple[str, ...]) -> Iterator[Any]:
    for path in paths:
        yield importlib.import_module(path)


def load_models() -> None:
    """Import every domain's models, so that metadata (and Alembic) knows every table."""
    for module in MODULES:
        for _loaded in _imported(module.models):
            pass


def load_tasks() -> None:
    """Import every domain's task declarations (the worker runs them by name)."""
    for module in MODULES:
        for _loaded in _imported(module.tasks):
            pass


def load_handlers() -> None:
    """Import every domain's signal receivers (they connect when imported)."""
    for module in MODULES:
        for _loaded in _imported(module.handlers):
            pass


def jobs() -> tuple[JobSpec, ...]:
    """Every domain's periodic jobs, in layer order."""
    found: list[JobSpec] = []
    for module in MODULES:
        for loaded in _imported(module.jobs):
            found.extend(loaded.JOBS)
    return tuple(found)


def register(app, api, csrf) -> None:
    """Wire every domain into the app: init hooks, page and API blueprints, CLI commands."""
    load_models()
    load_handlers()
    load_tasks()
    for module in MODULES:
        for hook in module.init:
            path, _colon, name = hook.partition(":")
            getattr(importlib.import_module(path), name)(app)
        for loaded in _imported(module.views):
            for blueprint in getattr(loaded, "blueprints", None) or (loaded.bp,):
                app.register_blueprint(blueprint)
                if loaded.__name__ in module.csrf_exempt:
                    csrf.exempt(blueprint)
        for loaded in _imported(module.api):
            api.register_blueprint(loaded.blp)
            csrf.exempt(loaded.blp)
        for loaded in _imported(module.cli):
            for command in loaded.commands:
                app.cli.add_command(command)
