"""Flask extension instances, bound to an app in the factory."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
import sqlite3

from sqlalchemy import MetaData
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

#: Constraint names are fixed so that migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class BoundedSQLAlchemy(SQLAlchemy):
    """``db.paginate`` reads ``page`` and ``per_page`` from the query within the shared integer
    bounds: a page number too large for SQL's OFFSET is the first page (or a 404), not a 500."""

    def paginate(self, select, *, page=None, per_page=None, max_per_page=None, error_out=True, count=True):
        from flask import abort, has_request_context, request

        from emergency.core.validation import bound_int  # validation imports these extensions

        if has_request_context():
            for name, default in (("page", 1), ("per_page", 20)):
                if (page if name == "page" else per_page) is not None or name not in request.args:
                    continue
                number = bound_int(request.args[name])
                if number is None or number < 1:
                    if error_out:
                        abort(404)
                    number = default
                if name == "page":
                    page = number
                else:
                    per_page = number
        return super().paginate(select, page=page, per_page=per_page, max_per_page=max_per_page,
                                error_out=error_out, count=count)


db = BoundedSQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


@sa_event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys, and WAL so web, worker and scheduler can share the file.

    ``synchronous=NORMAL`` is SQLite's recommended setting for WAL: a crash of any process
    loses nothing and the file stays consistent; only a power cut can drop the last commits,
    and a delivery lost that way is found by the sweep and reconciled with the provider.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
