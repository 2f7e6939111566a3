"""Flask-WTF forms of the account pages (validation and CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from . import labels
from .models import OrgKind

REQUIRED = _l("This field is required.")


def required() -> DataRequired:
    return DataRequired(message=REQUIRED)


def email_field(label: str) -> EmailField:
    return EmailField(label, validators=[required(),
                                         Email(message=_l("Not a valid e-mail address.")),
                                         Length(max=254)])


class LoginForm(FlaskForm):
    email = email_field(_l("E-mail address"))
    password = PasswordField(_l("Password"), validators=[required()],
                             render_kw={"autocomplete": "current-password"})


class SignUpForm(FlaskForm):
    org_name = StringField(_l("Organisation name"), validators=[required(), Length(max=200)])
    kind = SelectField(_l("Kind of organisation"), validators=[required()])
    address = StringField(_l("Street and number"), validators=[Optional(), Length(max=300)])
    postcode = StringField(_l("Postcode"), validators=[
        required(), Regexp(r"^\s*\d{4}\s*$", message=_l("A Belgian postcode has 4 digits."))])
    locality = StringField(_l("Locality"), validators=[required(), Length(max=120)])
    enterprise_number = StringField(_l("Enterprise number (BCE)"),
                                    validators=[Optional(), Length(max=20)])
    afsca_number = StringField(_l("AFSCA registration number"),
                               validators=[Optional(), Length(max=40)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("Your name"), validators=[required(), Length(max=200)])
    email = email_field(_l("Your e-mail address"))
    password = PasswordField(_l("Password (at least 10 characters)"), validators=[required()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k.value, str(labels.ORG_KINDS[k])) for k in OrgKind
                             if k != OrgKind.PLATFORM] + [
            (OrgKind.PLATFORM.value, str(labels.ORG_KINDS[OrgKind.PLATFORM]))]


class InviteForm(FlaskForm):
    email = email_field(_l("E-mail address of the person"))
    role = SelectField(_l("Role"), validators=[required()])


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[required(), Length(max=200)])
    password = PasswordField(_l("Password (at least 10 characters)"), validators=[required()])


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), validators=[required()])


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (shown to the organisation)"),
                           validators=[Optional(), Length(max=1000)])


class LotForm(FlaskForm):
    """Renders the lot fields and carries CSRF; the rules live in services.lot_input."""

    title = StringField(_l("Product"))
    category = SelectField(_l("Category"), validate_choice=False)
    description = TextAreaField(_l("Description (packaging, condition…)"))
    weight_kg = StringField(_l("Weight (kg)"), render_kw={"inputmode": "decimal"})
    units = StringField(_l("Number of units"), render_kw={"inputmode": "numeric"})
    date_kind = SelectField(_l("Date on the packaging"), validate_choice=False)
    date = StringField(_l("Date"), render_kw={"type": "date"})
    storage = SelectField(_l("Storage"), validate_choice=False)
    allergens = SelectMultipleField(_l("Allergens"), validate_choice=False,
                                    widget=ListWidget(prefix_label=False),
                                    option_widget=CheckboxInput())
    fse_plus = BooleanField(_l("FSE+ stock (platforms only)"))
    divisible = BooleanField(_l("Can be split between organisations"), default=True,
                             render_kw={"data-toggles": "min-part"})
    min_part_kg = StringField(_l("Smallest part (kg)"), render_kw={"inputmode": "decimal"})
    pickup_from = StringField(_l("Pickup from"), render_kw={"type": "datetime-local"})
    pickup_until = StringField(_l("Pickup until"), render_kw={"type": "datetime-local"})
    address = StringField(_l("Pickup address (if not yours)"))
    postcode = StringField(_l("Postcode"), render_kw={"inputmode": "numeric"})
    locality = StringField(_l("Locality"))
    lot_number = StringField(_l("Batch number (traceability)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", "—")] + labels.choices("category")
        self.storage.choices = labels.choices("storage")
        self.date_kind.choices = [("", str(_l("No date")))] + labels.choices("date_kind")
        self.allergens.choices = labels.choices("allergen")

    def service_data(self) -> dict:
        """The submitted values, as the lot parser reads them."""
        names = ["title", "category", "description", "weight_kg", "units", "date_kind", "date",
                 "storage", "min_part_kg", "pickup_from", "pickup_until", "address",
                 "postcode", "locality", "lot_number"]
        data = {name: getattr(self, name).data or "" for name in names}
        data["allergens"] = list(self.allergens.data or [])
        data["fse_plus"] = bool(self.fse_plus.data)
        data["divisible"] = bool(self.divisible.data)
        return data


class CsvUploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=REQUIRED)])


class ClaimForm(FlaskForm):
    kg = StringField(_l("Kilograms"), render_kw={"inputmode": "decimal"})
    platform_id = SelectField(_l("Through the platform"), coerce=int, validate_choice=False)
    idempotency_key = HiddenField()
