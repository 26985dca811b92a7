"""Translations: every source string has a Chinese translation, and the app really uses it.

The Simplified Chinese catalog lives in ``emergency/translations/zh_Hans_CN``: the app's locale
code is ``zh_CN``, but Babel parses it to ``zh_Hans_CN`` (CLDR likely subtags) and Flask-Babel
looks for that directory (then ``zh``), never for ``zh_CN``.

Message ids are extracted from the source tree with Babel's own extractor and babel.cfg (the
same as ``pybabel extract``), so a string added without a translation fails here, by name.
Fix it with:

    pybabel extract -F babel.cfg -k _l -k lazy_gettext -o emergency/translations/messages.pot .
    pybabel update -i emergency/translations/messages.pot -d emergency/translations --no-fuzzy-matching
    # translate the new entries in emergency/translations/zh_Hans_CN/LC_MESSAGES/messages.po
    pybabel compile -d emergency/translations
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "emergency" / "translations"
ZH = "zh_Hans_CN"
LOCALES = (ZH, "en")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
_SKIP_DIRS = {"node_modules", "instance", "migrations", "test-artifacts", "bench"}


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read_catalog(locale: str) -> Catalog:
    with _po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def _method_map() -> tuple[list, dict]:
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open() as handle:
        return parse(handle, filename="babel.cfg")


def _directory_filter(dirname: str) -> bool:
    name = os.path.basename(dirname)
    return not name.startswith((".", "_")) and name not in _SKIP_DIRS


def source_messages() -> dict[tuple[str | tuple[str, ...], str | None], list[str]]:
    """{(msgid, context): ["file:line", ...]} for every gettext call in the source tree."""
    method_map, options_map = _method_map()
    found: dict[tuple[str | tuple[str, ...], str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=_directory_filter
    ):
        if isinstance(message, (list, tuple)):
            message = tuple(m for m in message if m)
            if not message:
                continue
        elif not message:
            continue
        found.setdefault((message, context), []).append(f"{filename}:{lineno}")
    return found


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def compile_catalogs(target: Path) -> Path:
    """Compile every .po under emergency/translations into ``target`` (a translations dir)."""
    for locale in LOCALES:
        mo = target / locale / "LC_MESSAGES" / "messages.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as handle:
            write_mo(handle, _read_catalog(locale))
    return target


# --- the catalogs ------------------------------------------------------------------------

def test_extraction_finds_the_known_strings():
    """Guards the extraction itself (babel.cfg patterns, _l keyword, Jinja templates)."""
    ids = {msgid for msgid, _context in source_messages()}
    assert "Log in" in ids  # templates/auth/login.html
    assert "Duty officer" in ids  # _l() in emergency/auth/models.py
    assert "This field is required." in ids  # marshmallow messages, emergency/validation.py
    assert "Wrong username or password." in ids  # _() in emergency/auth/operations.py


def test_every_source_string_has_a_chinese_translation():
    catalog = _read_catalog(ZH)
    missing: list[str] = []
    fuzzy: list[str] = []
    for (msgid, context), places in sorted(source_messages().items(), key=lambda item: item[1][0]):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key, context=context)
        strings = entry.string if entry is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or not all(s and s.strip() for s in strings):
            missing.append(f"{key!r}  ({places[0]})")
        elif entry.fuzzy:
            fuzzy.append(f"{key!r}  ({places[0]})")
    assert not missing, (
        f"{len(missing)} message(s) have no Chinese translation in {_po_path(ZH).relative_to(ROOT)} "
        "(see this module's docstring for the pybabel commands):\n  " + "\n  ".join(missing)
    )
    assert not fuzzy, "fuzzy (unchecked) Chinese translations:\n  " + "\n  ".join(fuzzy)


def test_catalogs_are_not_fuzzy_and_english_exists():
    for locale in LOCALES:
        assert _po_path(locale).exists(), f"missing catalog for {locale}"
        catalog = _read_catalog(locale)
        assert not catalog.fuzzy, f"the {locale} catalog header is marked fuzzy"
        assert str(catalog.locale) == locale
    # English is the source language: its catalog exists (a known locale) but stays empty.
    assert all(not m.string for m in _read_catalog("en") if m.id)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_placeholders(locale):
    problems: list[str] = []
    for message in _read_catalog(locale):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = _placeholders(ids[0])
        for string in strings:
            if _placeholders(string) != expected:
                problems.append(f"{ids[0]!r} -> {string!r}: placeholders {sorted(_placeholders(string))}, "
                                f"expected {sorted(expected)}")
                continue
            # Jinja's gettext always applies ``%`` formatting: a stray % would break the page.
            values = {name: "x" for name in expected}
            try:
                string % values
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"{ids[0]!r} -> {string!r}: {exc}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_compiles(locale):
    catalog = _read_catalog(locale)
    errors = [(message.id, [str(e) for e in errs]) for message, errs in catalog.check()]
    assert not errors, errors
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = Translations(fp=buffer)
    expected = "登录" if locale == ZH else "Log in"
    assert translations.gettext("Log in") == expected


# --- the running app ---------------------------------------------------------------------

@pytest.fixture
def translated_app(app, tmp_path):
    """An app on the test database that reads catalogs compiled into a temporary directory.

    Depends on conftest's ``app`` for the database reset. Flask-Babel keeps loaded
    translations in a cache shared by every app of the process, so it is emptied around.
    """
    from emergency import create_app
    from emergency.core.extensions import babel

    directory = compile_catalogs(tmp_path / "translations")
    keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "PASSWORD_HASH_METHOD", "SERVER_NAME")
    config = {key: app.config[key] for key in keys if key in app.config}
    config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    translated = create_app(config)
    translated.instance_path = app.instance_path
    babel.domain_instance.cache.clear()
    yield translated
    babel.domain_instance.cache.clear()


def test_pages_are_chinese_by_default_and_english_on_request(translated_app):
    client = translated_app.test_client()
    page = client.get("/login")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in body
    assert "登录" in body and "用户名" in body
    assert "Log in" not in body
    # The language switch offers the other language only.
    assert ">English</button>" in body and ">简体中文</button>" not in body

    switched = client.post("/lang/en", data={"next": "/login"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/login")
    body = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in body
    assert "Log in" in body and "Username" in body
    assert "登录" not in body
    assert ">简体中文</button>" in body and ">English</button>" not in body

    client.post("/lang/zh_CN", data={"next": "/login"})
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_login_refusal_is_translated(translated_app, make_user):
    make_user("duty", "officer")
    client = translated_app.test_client()
    refused = client.post("/login", data={"username": "duty", "password": "wrong-password-1"})
    assert refused.status_code == 401
    assert "用户名或密码错误。" in refused.get_data(as_text=True)


def test_api_validation_errors_follow_accept_language(translated_app, make_user):
    from .conftest import PASSWORD

    make_user("duty", "officer")
    client = translated_app.test_client()
    issued = client.post("/api/v1/auth/token", json={"username": "duty", "password": PASSWORD})
    assert issued.status_code == 201, issued.get_json()
    headers = {"Authorization": f"Bearer {issued.get_json()['token']}"}

    chinese = client.post("/api/v1/enterprises", json={}, headers=headers)
    assert chinese.status_code == 422
    assert chinese.mimetype == "application/problem+json"
    problem = chinese.get_json()
    assert problem["title"] == "输入有误"
    details = {e["field"]: e["detail"] for e in problem["errors"]}
    assert details["name"] == "此项为必填项。"
    assert details["credit_code"] == "此项为必填项。"
    assert problem["detail"].startswith("请求中以下字段有误：")

    english = client.post("/api/v1/enterprises", json={}, headers={**headers, "Accept-Language": "en"})
    assert english.status_code == 422
    problem = english.get_json()
    assert problem["title"] == "Invalid input"
    details = {e["field"]: e["detail"] for e in problem["errors"]}
    assert details["name"] == "This field is required."
    assert problem["detail"].startswith("The request has invalid fields:")

    bad_code = client.post("/api/v1/enterprises", json={"credit_code": "123"}, headers=headers)
    details = {e["field"]: e["detail"] for e in bad_code.get_json()["errors"]}
    assert details["credit_code"] == "统一社会信用代码应为 18 位。"
