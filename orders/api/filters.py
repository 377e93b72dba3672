"""The list's query: filters, search and ordering, each refusing (400) what its schema does not allow instead of
ignoring it, and each stating in the schema what it allows."""


import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, filters, pagination

from orders import limits
from orders.api.fields import LINE, RULES, ecma
from orders.models import Order
from workflows.risk import Band

ORDERING_FIELDS = ["created_at", "updated_at", "amount"]
_ONE_ORDERING = "-?(?:" + "|".join(ORDERING_FIELDS) + ")"
ORDERING = rf"^{_ONE_ORDERING}(?:,{_ONE_ORDERING})*$"


class TrueOrFalse(forms.Field):
    """A boolean in a query string: exactly true or false, as the schema's boolean is written."""

    def to_python(self, value):
        if value is None:
            return None
        if value not in ("true", "false"):
            raise DjangoValidationError("Use true or false.", code="invalid")
        return value == "true"


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = TrueOrFalse


class StrictChoiceField(django_filters.fields.ChoiceField):
    def to_python(self, value):
        if value == "":
            raise DjangoValidationError("Choose one of the listed values.", code="invalid_choice")
        return super().to_python(value)


class StrictChoiceFilter(django_filters.ChoiceFilter):
    field_class = StrictChoiceField


class OrderFilter(django_filters.FilterSet):
    status = StrictChoiceFilter(choices=Order.Status.choices)
    escalated = StrictBooleanFilter()
    risk_band = StrictChoiceFilter(choices=[(band, band) for band in Band.ALL])

    class Meta:
        model = Order
        fields = ["status", "escalated", "risk_band"]


def _one_value(request, name: str):
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise exceptions.ValidationError({name: ["Give this parameter once."]})
    return values[0] if values else None


class StrictFilterBackend(django_filters.rest_framework.DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        for name in OrderFilter.base_filters:
            _one_value(request, name)
        return super().filter_queryset(request, queryset, view)


class SearchFilter(filters.SearchFilter):
    search_description = "Part of an order id or customer email."

    def get_search_terms(self, request):
        value = _one_value(request, self.search_param) or ""
        if len(value) > limits.CUSTOMER_EMAIL or not ecma(LINE).match(value) or limits.unstorable(value):
            raise exceptions.ValidationError({self.search_param: [f"At most {limits.CUSTOMER_EMAIL} characters, {RULES[LINE]}"]})
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view):
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["schema"] = {"type": "string", "maxLength": limits.CUSTOMER_EMAIL, "pattern": LINE}
        return [parameter]


class OrderingFilter(filters.OrderingFilter):
    ordering_description = (
        "Fields to order by, comma-separated, each one of " + ", ".join(ORDERING_FIELDS) + "; a leading - reverses it."
    )

    def get_ordering(self, request, queryset, view):
        value = _one_value(request, self.ordering_param)
        if value is not None and not ecma(ORDERING).match(value):
            raise exceptions.ValidationError({self.ordering_param: [self.ordering_description]})
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view):
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["schema"] = {"type": "string", "pattern": ORDERING}
        return [parameter]


class PageNumbers(pagination.PageNumberPagination):
    """Pages by number only (no "last"), from 1."""

    last_page_strings = ()

    def get_page_number(self, request, paginator):
        number = _one_value(request, self.page_query_param)
        return 1 if number is None else number  # "" and other non-numbers: 404, as for any page that is not there

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
