"""The admin's forms. Each field is bounded by the column its value lands in (orders.limits); Django's CharField
refuses NUL characters."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from orders import limits
from orders.models import Order
from workflows.types import CancelCodes


def note_field() -> forms.CharField:
    return forms.CharField(max_length=limits.NOTE, required=False, widget=forms.TextInput(attrs={"size": 60}))


class CancelForm(forms.Form):
    reason_code = forms.ChoiceField(choices=list(CancelCodes.LABELS.items()), label="Reason")
    note = note_field()

    def clean(self):
        data = super().clean()
        problem = CancelCodes.problem(data.get("reason_code", ""), data.get("note", ""))
        if problem:
            raise forms.ValidationError(problem[0].upper() + problem[1:] + ".")
        return data


class ApproveForm(forms.Form):
    note = note_field()


class FraudForm(forms.Form):
    verdict = forms.ChoiceField(choices=[(Order.Fraud.CONFIRMED, "fraud confirmed"), (Order.Fraud.CLEARED, "not fraud")])
    note = note_field()


class AddressForm(forms.Form):
    name = forms.CharField(max_length=limits.ADDRESS["name"])
    line1 = forms.CharField(max_length=limits.ADDRESS["line1"])
    line2 = forms.CharField(max_length=limits.ADDRESS["line2"], required=False)
    city = forms.CharField(max_length=limits.ADDRESS["city"])
    postal_code = forms.CharField(max_length=limits.ADDRESS["postal_code"])
    country = forms.CharField(max_length=limits.ADDRESS["country"], min_length=limits.ADDRESS["country"])


def errors_text(form: forms.Form) -> str:
    """A form's errors in one line: "note: Null characters are not allowed."."""
    return "; ".join(
        f"{name}: {' '.join(errors)}" if name != NON_FIELD_ERRORS else " ".join(errors)
        for name, errors in form.errors.items()
    )
