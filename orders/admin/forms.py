from django import forms

from workflows.types import CancelCodes


class CancelForm(forms.Form):
    reason_code = forms.ChoiceField(choices=list(CancelCodes.LABELS.items()), label="Reason")
    note = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"size": 60}))

    def clean(self):
        data = super().clean()
        problem = CancelCodes.problem(data.get("reason_code", ""), data.get("note", ""))
        if problem:
            raise forms.ValidationError(problem[0].upper() + problem[1:] + ".")
        return data


class ApproveForm(forms.Form):
    note = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"size": 60}))


class AddressForm(forms.Form):
    name = forms.CharField(max_length=200)
    line1 = forms.CharField(max_length=200)
    line2 = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    country = forms.CharField(max_length=2, min_length=2)
