"""The correction of a posted lot: it renders the fields and carries CSRF; the rules live
in schemas/lot_edit.py and services/lot_edit.py. (The photo form is plain HTML in
templates/lots/_photos.html: services/photos.py checks the file.)"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField

from .forms import Form


class LotEditForm(Form):
    description = TextAreaField(_l("Description (packaging, condition…)"))
    weight_kg = StringField(_l("Weight (kg)"), render_kw={"inputmode": "decimal"})
    units = StringField(_l("Number of units"), render_kw={"inputmode": "numeric"})
    pickup_from = StringField(_l("Pickup from"), render_kw={"type": "datetime-local"})
    pickup_until = StringField(_l("Pickup until"), render_kw={"type": "datetime-local"})
