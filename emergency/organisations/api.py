"""/api/v1: enterprises, townships and the industry catalogue."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint, Page
from marshmallow import fields

from emergency.core.access import EDITORS, check_can_edit_enterprise, check_enterprise
from emergency.core.api import api_user, token_required
from emergency.core.extensions import db
from emergency.core.validation import BaseSchema
from emergency.organisations import industries, operations
from emergency.organisations.models import Enterprise, Township
from emergency.organisations.queries import enterprise_select
from emergency.organisations.schemas import EnterpriseInput, EnterprisePatch, EnterpriseQuery, EnterpriseSchema, TownshipSchema

blp = Blueprint("organisations_api", __name__, url_prefix="/api/v1",
                description="The county register: enterprises, townships, industries")


class SelectPage(Page):
    """Paginate a SQLAlchemy select (flask-smorest's Page expects a sequence)."""

    @property
    def item_count(self) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(self.collection.order_by(None).subquery()))

    @property
    def items(self):
        return db.session.scalars(
            self.collection.limit(self.page_params.page_size).offset(self.page_params.first_item)
        ).all()


@blp.route("/enterprises")
class Enterprises(MethodView):
    @token_required()
    @blp.arguments(EnterpriseQuery, location="query")
    @blp.response(200, EnterpriseSchema(many=True))
    @blp.paginate(SelectPage, page_size=20, max_page_size=200)
    def get(self, params):
        """List enterprises the caller may see (an enterprise user: its own).

        Pagination is in the `X-Pagination` header.
        """
        return enterprise_select(api_user(), params)

    @token_required(*EDITORS)
    @blp.arguments(EnterpriseInput)
    @blp.response(201, EnterpriseSchema)
    @blp.alt_response(422, description="Invalid fields (problem details)")
    def post(self, data):
        """Add an enterprise (officers and admins)."""
        enterprise = operations.create_enterprise(api_user(), data)
        db.session.commit()
        return enterprise


@blp.route("/enterprises/<int:enterprise_id>")
class EnterpriseById(MethodView):
    @token_required()
    @blp.response(200, EnterpriseSchema)
    def get(self, enterprise_id: int):
        """One enterprise, with its statutory obligations."""
        check_enterprise(api_user(), enterprise_id)
        return db.get_or_404(Enterprise, enterprise_id)

    @token_required()
    @blp.arguments(EnterprisePatch(partial=True))
    @blp.response(200, EnterpriseSchema)
    @blp.alt_response(422, description="Invalid fields (problem details)")
    def patch(self, data, enterprise_id: int):
        """Change some fields. Enterprise users may change only contacts and location."""
        user = api_user()
        check_can_edit_enterprise(user, enterprise_id)
        enterprise = db.get_or_404(Enterprise, enterprise_id)
        operations.update_enterprise(user, enterprise, data)
        db.session.commit()
        return enterprise


@blp.route("/townships")
class Townships(MethodView):
    @token_required()
    @blp.response(200, TownshipSchema(many=True))
    def get(self):
        """The county's townships and sub-districts, with active enterprise counts."""
        counts = dict(db.session.execute(
            sa.select(Enterprise.township_id, sa.func.count(Enterprise.id))
            .where(Enterprise.active.is_(True)).group_by(Enterprise.township_id)).all())
        townships = db.session.scalars(sa.select(Township).order_by(Township.name)).all()
        return [{"id": t.id, "name": t.name, "code": t.code, "enterprise_count": counts.get(t.id, 0)}
                for t in townships]


class IndustrySchema(BaseSchema):
    code = fields.String()
    name = fields.String()
    name_zh = fields.String()
    high_risk = fields.Boolean()
    crowded_place = fields.Boolean()


@blp.route("/industries")
class Industries(MethodView):
    @token_required()
    @blp.response(200, IndustrySchema(many=True))
    def get(self):
        """The industry catalogue, with the high-risk and crowded-place flags."""
        locale = str(get_locale() or "zh_CN")
        return [{"code": i.code, "name": i.label(locale), "name_zh": i.name_zh,
                 "high_risk": i.high_risk, "crowded_place": i.crowded_place} for i in industries.INDUSTRIES]
