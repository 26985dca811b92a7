"""Pages: the officers' drill compliance dashboard (rates, heat map), the overdue list and their
Excel exports. Enterprise users are refused (403): the dashboard compares enterprises."""
from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import get_locale
from flask_babel import gettext as _
from marshmallow import ValidationError

from emergency.core.access import OFFICERS, require_roles
from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Township
from emergency.core.sheets import XLSX, Column, Sheet
from emergency.core.timeutil import local_today
from emergency.core.validation import first_errors

from plans.drills import compliance

bp = Blueprint("drill_dashboard", __name__)

RATES_SHEET = Sheet("演练完成率", (
    Column("group", "分组"), Column("name", "名称"), Column("done", "已完成"), Column("overdue", "逾期"),
    Column("rate", "完成率(%)"),
))
OVERDUE_SHEET = Sheet("逾期演练", (
    Column("enterprise", "企业"), Column("township", "乡镇（街道）"), Column("industry", "行业"),
    Column("drill", "演练"), Column("window_start", "窗口开始"), Column("window_end", "窗口结束"),
    Column("days", "逾期天数"),
))
HEAT_SHEET = Sheet("演练热力图", (
    Column("enterprise", "企业"), Column("township", "乡镇（街道）"), Column("industry", "行业"),
    *(Column(f"m{m}", f"{m}月") for m in range(1, 13)),
))
HEAT_FILLS = {"overdue": "F4B6B0", "due": "FBE3A6", "upcoming": "D6E4F5", "done": "BFE3C8"}


def _locale() -> str:
    return str(get_locale() or "zh")


def _params(*, strict: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The query string through DashboardQuery. Pages drop a wrong field and say why; exports refuse (400)."""
    raw = {k: v for k, v in request.args.items() if v != ""}
    try:
        return compliance.DashboardQuery().load(raw), {}
    except ValidationError as exc:
        errors = first_errors(exc.messages)
        if strict:
            abort(400, description="; ".join(f"{k}: {v}" for k, v in errors.items()))
        kept = {k: v for k, v in raw.items() if k not in exc.messages and k in compliance.DashboardQuery().fields}
        try:
            return compliance.DashboardQuery().load(kept), errors
        except ValidationError:
            return {}, errors


def _choices() -> dict[str, Any]:
    locale = _locale()
    return {"townships": db.session.execute(sa.select(Township.id, Township.name).order_by(Township.name)).all(),
            "industries": [(i.code, i.label(locale)) for i in industries.INDUSTRIES],
            # Translated once per request, not once per cell (hundreds of cells).
            "cell_labels": {k: str(v) for k, v in compliance.CELL_LABELS.items()},
            "cell_letters": {k: str(v) for k, v in compliance.CELL_LETTERS.items()},
            "days_overdue": _("%(n)s days overdue"), "drill_title": compliance.drill_title}


@bp.route("/dashboard/drills")
@require_roles(*OFFICERS)
def dashboard():
    """Completion rates overall, by township and by industry; the heat map of the year."""
    today = local_today()
    params, errors = _params(strict=False)
    period = compliance.period_of(params, today)
    figures = compliance.rates(period, today, params, _locale())
    overdue = compliance.overdue_page(period, today, params, 1, per_page=10, total=figures.overall.overdue)
    heat = compliance.heat_map(period.year, today, params, params.get("hpage", 1), locale=_locale())
    return render_template("drills/dashboard.html", rates=figures, overdue=overdue, heat=heat, period=period,
                           params=params, errors=errors, today=today, **_choices())


@bp.route("/dashboard/drills/overdue")
@require_roles(*OFFICERS)
def overdue():
    """Every overdue drill of the period, oldest first, paged."""
    today = local_today()
    params, errors = _params(strict=False)
    period = compliance.period_of(params, today)
    page = compliance.overdue_page(period, today, params, params.get("page", 1))
    return render_template("drills/overdue.html", overdue=page, period=period, params=params, errors=errors,
                           today=today, **_choices())


def _xlsx(data: bytes, name: str):
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


def _stamp(period: compliance.Period) -> str:
    if period.month:
        return f"{period.year}-{period.month:02d}"
    return f"{period.year}Q{period.quarter}" if period.quarter else str(period.year)


@bp.route("/dashboard/drills/rates.xlsx")
@require_roles(*OFFICERS)
def export_rates():
    today = local_today()
    params, _errors = _params(strict=True)
    period = compliance.period_of(params, today)
    figures = compliance.rates(period, today, params, "zh")

    def row(group: str, rate: compliance.Rate) -> dict[str, Any]:
        return {"group": group, "name": rate.label, "done": rate.done, "overdue": rate.overdue,
                "rate": rate.rounded}

    rows = [row("全县", compliance.Rate("合计", None, figures.overall.done, figures.overall.overdue))]
    rows += [row("乡镇（街道）", r) for r in figures.by_township]
    rows += [row("行业", r) for r in figures.by_industry]
    return _xlsx(RATES_SHEET.export(rows), f"drill-rates-{_stamp(period)}.xlsx")


@bp.route("/dashboard/drills/overdue.xlsx")
@require_roles(*OFFICERS)
def export_overdue():
    today = local_today()
    params, _errors = _params(strict=True)
    period = compliance.period_of(params, today)
    rows = [{"enterprise": r.enterprise, "township": r.township,
             "industry": industries.BY_CODE.get(r.industry, industries.BY_CODE["other"]).name_zh,
             "drill": compliance.drill_title(r), "window_start": r.window_start.isoformat(),
             "window_end": r.window_end.isoformat(), "days": (today - r.window_end).days}
            for r in db.session.execute(compliance.overdue_select(period, today, params))]
    return _xlsx(OVERDUE_SHEET.export(rows), f"drills-overdue-{_stamp(period)}.xlsx")


@bp.route("/dashboard/drills/heatmap.xlsx")
@require_roles(*OFFICERS)
def export_heat_map():
    from openpyxl import load_workbook
    from openpyxl.styles import PatternFill

    today = local_today()
    params, _errors = _params(strict=True)
    year = params.get("year") or today.year
    heat_rows = compliance.heat_map_all(year, today, params)
    data = HEAT_SHEET.export({"enterprise": h.name, "township": h.township, "industry": h.industry,
                              **{f"m{m}": compliance.CELL_LETTERS_ZH[state] for m, state in enumerate(h.cells, 1)}}
                             for h in heat_rows)
    # Colour the cells as on the page (the letter stays for those who cannot tell the colours apart).
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    fills = {state: PatternFill("solid", fgColor=colour) for state, colour in HEAT_FILLS.items()}
    for row_number, heat in enumerate(heat_rows, start=2):
        for month, state in enumerate(heat.cells, start=1):
            if state in fills:
                sheet.cell(row=row_number, column=3 + month).fill = fills[state]
    buffer = io.BytesIO()
    book.save(buffer)
    return _xlsx(buffer.getvalue(), f"drill-heatmap-{year}.xlsx")

