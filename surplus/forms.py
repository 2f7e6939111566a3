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
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from . import labels
from .models import OrgKind
from .schemas.fields import BAD_TEXT, TEXT_MESSAGES

REQUIRED = _l("This field is required.")


class Form(FlaskForm):
    """Every page form: text fields refuse what the input schemas refuse (a NUL byte,
    control characters, lone surrogates), with the same message, before any service."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and BAD_TEXT.search(field.data):
                field.errors = [*field.errors, str(TEXT_MESSAGES["control"])]
                valid = False
        return valid


def required() -> DataRequired:
    return DataRequired(message=REQUIRED)


def email_field(label: str) -> EmailField:
    return EmailField(
        label,
        validators=[required(), Email(message=_l("Not a valid e-mail address.")), Length(max=254)],
    )


class LoginForm(Form):
    email = email_field(_l("E-mail address"))
    password = PasswordField(
        _l("Password"), validators=[required()], render_kw={"autocomplete": "current-password"}
    )


class SignUpForm(Form):
    org_name = StringField(_l("Organisation name"), validators=[required(), Length(max=200)])
    kind = SelectField(_l("Kind of organisation"), validators=[required()])
    address = StringField(_l("Street and number"), validators=[Optional(), Length(max=300)])
    postcode = StringField(
        _l("Postcode"),
        validators=[
            required(),
            Regexp(r"^\s*\d{4}\s*$", message=_l("A Belgian postcode has 4 digits.")),
        ],
    )
    locality = StringField(_l("Locality"), validators=[required(), Length(max=120)])
    enterprise_number = StringField(
        _l("Enterprise number (BCE)"), validators=[Optional(), Length(max=20)]
    )
    afsca_number = StringField(
        _l("AFSCA registration number"), validators=[Optional(), Length(max=40)]
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    distribution_mode = SelectField(
        _l("CPAS and associations: how you hand out the food"), validate_choice=False
    )
    name = StringField(_l("Your name"), validators=[required(), Length(max=200)])
    email = email_field(_l("Your e-mail address"))
    password = PasswordField(_l("Password (at least 10 characters)"), validators=[required()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [
            (k.value, str(labels.ORG_KINDS[k])) for k in OrgKind if k != OrgKind.PLATFORM
        ] + [(OrgKind.PLATFORM.value, str(labels.ORG_KINDS[OrgKind.PLATFORM]))]
        self.distribution_mode.choices = [("", "—"), *labels.choices("distribution")]


class InviteForm(Form):
    email = email_field(_l("E-mail address of the person"))
    role = SelectField(_l("Role"), validators=[required()])


class AcceptInvitationForm(Form):
    name = StringField(_l("Your name"), validators=[required(), Length(max=200)])
    password = PasswordField(_l("Password (at least 10 characters)"), validators=[required()])


class LanguageForm(Form):
    language = SelectField(_l("Language"), validators=[required()])


class LotForm(Form):
    """Renders the lot fields and carries CSRF; the rules live in schemas.lot.LotInSchema
    and services.lot_input."""

    title = StringField(_l("Product"))
    category = SelectField(
        _l("Category"),
        validate_choice=False,
        render_kw={"data-shows": "meat-kind", "data-shows-for": "meat_fish"},
    )
    description = TextAreaField(_l("Description (packaging, condition…)"))
    weight_kg = StringField(_l("Weight (kg)"), render_kw={"inputmode": "decimal"})
    units = StringField(_l("Number of units"), render_kw={"inputmode": "numeric"})
    date_kind = SelectField(_l("Date on the packaging"), validate_choice=False)
    date = StringField(_l("Date"), render_kw={"type": "date"})
    storage = SelectField(
        _l("Storage"),
        validate_choice=False,
        render_kw={"data-shows": "cold-limit", "data-shows-for": "chilled frozen"},
    )
    product_kind = SelectField(_l("Kind of meat or fish"), validate_choice=False)
    max_temperature_c = StringField(
        _l("Keep at most at (°C), if the label says lower"), render_kw={"inputmode": "decimal"}
    )
    allergens = SelectMultipleField(
        _l("Allergens"),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    fse_plus = BooleanField(_l("FSE+ stock (platforms only)"))
    divisible = BooleanField(
        _l("Can be split between organisations"),
        default=True,
        render_kw={"data-toggles": "min-part"},
    )
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
        self.product_kind.choices = [("", "—")] + labels.choices("product_kind")
        self.date_kind.choices = [("", str(_l("No date")))] + labels.choices("date_kind")
        self.allergens.choices = labels.choices("allergen")


class CsvUploadForm(Form):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=REQUIRED)])


class ClaimForm(Form):
    kg = StringField(_l("Kilograms"), render_kw={"inputmode": "decimal"})
    platform_id = SelectField(_l("Through the platform"), coerce=int, validate_choice=False)
    idempotency_key = HiddenField()


class ConventionForm(Form):
    """Renders the beneficiary's figures; schemas.convention reads them."""

    platform_id = SelectField(_l("Platform"), validate_choice=False)
    distribution_mode = SelectField(_l("How you hand out the food"), validate_choice=False)
    persons_per_week = StringField(
        _l("Persons served per week"), render_kw={"inputmode": "numeric"}
    )
    chilled_capacity_kg = StringField(
        _l("Chilled storage (kg), 0 if none"), render_kw={"inputmode": "decimal"}
    )
    frozen_capacity_kg = StringField(
        _l("Freezer storage (kg), 0 if none"), render_kw={"inputmode": "decimal"}
    )
    self_collect_km = StringField(
        _l("We collect at donors ourselves within (km), 0 if not"),
        render_kw={"inputmode": "decimal"},
    )
    accepted_categories = SelectMultipleField(
        _l("Categories you accept (none ticked: all)"),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    hours_mon = StringField(_l("Monday"))
    hours_tue = StringField(_l("Tuesday"))
    hours_wed = StringField(_l("Wednesday"))
    hours_thu = StringField(_l("Thursday"))
    hours_fri = StringField(_l("Friday"))
    hours_sat = StringField(_l("Saturday"))
    hours_sun = StringField(_l("Sunday"))
    afsca_number = StringField(_l("AFSCA registration number"))
    fse_plus_approval_number = StringField(_l("FSE+ approval number (if any)"))
    fse_plus_approval_expires = StringField(
        _l("FSE+ approval valid until"), render_kw={"type": "date"}
    )
    contact_name = StringField(_l("Contact person"))
    contact_phone = StringField(_l("Contact phone"))

    DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.accepted_categories.choices = labels.choices("category")
        self.distribution_mode.choices = labels.choices("distribution")

    def fill_from(self, conv) -> None:
        for name in (
            "persons_per_week",
            "chilled_capacity_kg",
            "frozen_capacity_kg",
            "self_collect_km",
            "fse_plus_approval_number",
            "contact_name",
            "contact_phone",
        ):
            value = getattr(conv, name)
            getattr(self, name).data = (
                "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
            )
        self.fse_plus_approval_expires.data = (
            conv.fse_plus_approval_expires.isoformat() if conv.fse_plus_approval_expires else ""
        )
        self.accepted_categories.data = list(conv.accepted_categories or [])
        for day in self.DAYS:
            spans = (conv.opening_hours or {}).get(day, [])
            getattr(self, f"hours_{day}").data = ", ".join(f"{a}-{b}" for a, b in spans)
        self.afsca_number.data = conv.beneficiary.afsca_number or ""
        self.distribution_mode.data = conv.distribution_mode.value


class ConventionDecisionForm(Form):
    action = HiddenField()
    reason = StringField(_l("Reason (shown to the beneficiary)"))
    valid_from = StringField(_l("Valid from"), render_kw={"type": "date"})
    valid_until = StringField(_l("Valid until"), render_kw={"type": "date"})
    fse_plus = BooleanField(_l("FSE+ stock allowed"))


class AgreementRequestForm(Form):
    """Renders a transport agreement request; schemas.agreement reads it."""

    other_id = SelectField(_l("Other platform"), validate_choice=False)
    direction = RadioField(
        _l("Who carries"),
        validate_choice=False,
        choices=[
            ("we_carry", _l("Our vans carry for them")),
            ("they_carry", _l("Their vans carry for us")),
        ],
    )
    valid_from = StringField(_l("First day"), render_kw={"type": "date"})
    valid_until = StringField(_l("Last day (optional)"), render_kw={"type": "date"})
    note = TextAreaField(_l("Note for the other platform"), render_kw={"maxlength": 1000})


class AgreementDecisionForm(Form):
    action = HiddenField()
    reason = StringField(_l("Reason (shown to the other platform)"))


class AreaForm(Form):
    postcodes = TextAreaField(_l("Postcodes of the communes you serve"), render_kw={"rows": 4})
    radius_km = StringField(
        _l("Radius around your depots (km, optional)"), render_kw={"inputmode": "decimal"}
    )


def notification_preferences_form(current: dict[str, str]) -> FlaskForm:
    """One select per notification kind, offering the modes the kind allows; ``current``
    (``{"new_lot": "digest", ...}``) fills it unless the request submitted values."""
    from .services.notifications.prefs import ALLOWED_MODES
    from .services.notifications.text import KIND_LABELS, MODE_LABELS

    class NotificationPreferencesForm(Form):
        pass

    for kind, modes in ALLOWED_MODES.items():
        setattr(
            NotificationPreferencesForm,
            kind.value,
            SelectField(
                KIND_LABELS[kind],
                choices=[(m.value, MODE_LABELS[m]) for m in modes],
                validators=[required()],
            ),
        )
    return NotificationPreferencesForm(data=current)
