"""Schemas for townships and enterprises: input validation and output shape."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates, validates_schema

from emergency.core.extensions import db
from emergency.core.validation import BaseSchema, Coordinate, FormSchema, Mobile, text
from emergency.organisations import credit_code as credit
from emergency.organisations import industries
from emergency.organisations.models import Township
from emergency.organisations.obligations import obligations_for

#: Fields an enterprise user may change on its own record; the rest determine statutory
#: obligations or identity and are kept by the bureau.
ENTERPRISE_SELF_SERVICE_FIELDS = frozenset({
    "address", "latitude", "longitude", "legal_representative",
    "principal_name", "principal_mobile", "safety_manager_name", "safety_manager_mobile",
})


def check_coordinates_together(latitude, longitude) -> None:
    """A position has both coordinates or neither."""
    if (latitude is None) != (longitude is None):
        raise ValidationError({"longitude": [_("Give both latitude and longitude, or neither.")]})



class CreditCode(fields.String):
    """Unified social credit code, normalised to upper case and checked (GB 32100-2015)."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = credit.normalise(super()._deserialize(value, attr, data, **kwargs))
        reason = credit.problem(code)
        if reason == "length":
            raise ValidationError(_("A unified social credit code has 18 characters."))
        if reason == "characters":
            raise ValidationError(
                _("Only digits and the capital letters A–Y except I, O, Z, S and V may be used.")
            )
        if reason == "area":
            raise ValidationError(_("Characters 3 to 8 must be the six-digit area code."))
        if reason == "check":
            raise ValidationError(
                _(
                    "The check character (the 18th) is wrong: by GB 32100-2015 it should be %(expected)s.",
                    expected=credit.check_character(code[:17]),
                )
            )
        return code


class TownshipInput(BaseSchema):
    name = text(100)
    code = text(
        12,
        required=False,
        allow_none=True,
        also=validate.Regexp(r"^(\d{9}(\d{3})?)?$", error=_l("A township code has 9 or 12 digits.")),
    )


class TownshipSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    code = fields.String(allow_none=True)
    enterprise_count = fields.Integer(dump_only=True)


class EnterpriseInput(BaseSchema):
    """A whole enterprise record; PATCH loads it with ``partial=True``."""

    name = text(200)
    credit_code = CreditCode(required=True, metadata={"description": "GB 32100-2015, 18 characters"})
    industry = fields.String(
        required=True,
        validate=validate.OneOf([i.code for i in industries.INDUSTRIES]),
        metadata={"description": "Code from the industry catalogue (GET /api/v1/industries)"},
    )
    scale = fields.String(required=True, validate=validate.OneOf(industries.SCALE_CODES))
    township_id = fields.Integer(required=True)
    address = text(300, required=False, load_default="")
    latitude = Coordinate(90)
    longitude = Coordinate(180)
    legal_representative = text(50, required=False, load_default="")
    principal_name = text(50)
    principal_mobile = Mobile(required=True, metadata={"example": "+8613800138000"})
    safety_manager_name = text(50)
    safety_manager_mobile = Mobile(required=True, metadata={"example": "+8613900139000"})

    @validates("township_id")
    def _township_exists(self, value: int, **_kwargs) -> None:
        if db.session.get(Township, value) is None:
            raise ValidationError(_("No such township."))

    @validates_schema
    def _coordinates_together(self, data: dict, partial=None, **_kwargs) -> None:
        given = {"latitude", "longitude"} & set(data)
        if partial and len(given) == 1:
            return  # a change of one coordinate: update_enterprise checks the resulting pair
        if given:
            check_coordinates_together(data.get("latitude"), data.get("longitude"))


class EnterprisePatch(EnterpriseInput):
    """Some fields of an enterprise (load with ``partial=True``)."""


class EnterpriseForm(EnterpriseInput, FormSchema):
    """The same rules for the HTML form (CSRF token and buttons are ignored)."""

    class Meta(FormSchema.Meta):
        pass


class ObligationSchema(BaseSchema):
    code = fields.String()
    title = fields.Function(lambda ob: str(ob.title))
    reason = fields.Function(lambda ob: str(ob.reason))


class EnterpriseSchema(BaseSchema):
    """An enterprise as the API returns it."""

    id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()
    industry = fields.String()
    industry_name = fields.Function(lambda e: e.industry_info.label(str(get_locale() or "zh_CN")))
    high_risk = fields.Boolean()
    crowded_place = fields.Boolean()
    scale = fields.String()
    township_id = fields.Integer()
    township_name = fields.Function(lambda e: e.township.name)
    address = fields.String()
    latitude = Coordinate(90)
    longitude = Coordinate(180)
    legal_representative = fields.String()
    principal_name = fields.String()
    principal_mobile = fields.String()
    safety_manager_name = fields.String()
    safety_manager_mobile = fields.String()
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    obligations = fields.Function(lambda e: ObligationSchema(many=True).dump(obligations_for(e)))


class EnterpriseQuery(BaseSchema):
    """Search, filters and sort order of the enterprise list (page and API)."""

    class Meta:
        unknown = "exclude"

    q = fields.String(load_default="", metadata={"description": "Name or credit code contains"})
    township_id = fields.Integer(load_default=None, allow_none=True)
    industry = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf([i.code for i in industries.INDUSTRIES])
    )
    high_risk = fields.Boolean(load_default=None, allow_none=True)
    scale = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(industries.SCALE_CODES))
    include_disabled = fields.Boolean(load_default=False)
    sort = fields.String(
        load_default="name",
        validate=validate.OneOf(["name", "-name", "credit_code", "-credit_code", "township", "-township",
                                 "industry", "-industry", "created_at", "-created_at"]),
    )
