"""The API's input fields: each takes exactly the JSON its schema declares (a number where a string is declared is
refused, not turned into one), and states in the schema what it takes."""

import re

from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator, RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from orders import limits
from orders.models import ORDER_ID_PATTERN

# One line of text (names, address lines, SKUs): no control characters. Multi-line text (notes, reasons) may hold
# tabs and line breaks, no other control character. PostgreSQL stores no NUL, and no unpaired surrogate either
# (refused by every Text). "Filled" patterns also need one character that is not white space.
LINE = r"^[^\u0000-\u001f\u007f]*$"
FILLED_LINE = r"^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"
TEXT = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
FILLED_TEXT = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*[^\s\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
# A unit price: 0.01 to limits.UNIT_PRICE (99999.99), at most 2 decimals, written plainly (no sign, exponent or
# leading zero).
PRICE = r"^(?:[1-9][0-9]{0,4}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))$"
COUNTRY = r"^[A-Za-z]{2}$"
CURRENCY = r"^[A-Za-z]{3}$"
RULES = {
    LINE: "Control characters are not allowed.",
    FILLED_LINE: "Enter some text, without control characters.",
    TEXT: "Control characters other than tabs and line breaks are not allowed.",
    FILLED_TEXT: "Enter some text, without control characters other than tabs and line breaks.",
    PRICE: f"Enter a price from 0.01 to {limits.UNIT_PRICE}, with at most 2 decimals, e.g. 12.50.",
    COUNTRY: "Enter an ISO 3166-1 alpha-2 code, e.g. GB.",
    CURRENCY: "Enter an ISO 4217 code, e.g. USD.",
    ORDER_ID_PATTERN: "1-64 characters of A-Z, a-z, 0-9, _ and -.",
}


def ecma(pattern: str) -> re.Pattern:
    """A schema pattern as JSON Schema (ECMA-262) reads it: its closing $ is the end of the text. Python's $ also
    matches before a final line break, which would let "Ada\\n" through a one-line pattern."""
    return re.compile(pattern.removesuffix("$") + r"\Z")


class Text(serializers.Field):
    """A JSON string (a number is refused, not turned into one) matching `pattern`, taken as sent (no trimming);
    `blank`: the empty string too. Not a CharField, whose blank handling the schema generator would state twice."""

    default_error_messages = {
        "invalid": "Not a valid string.",
        "blank": "This field may not be blank.",
        "max_length": "Ensure this field has no more than {max_length} characters.",
    }

    def __init__(self, *, pattern: str = FILLED_LINE, max_length: int | None = None, blank: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pattern, self.max_length, self.blank = pattern, max_length, blank
        if max_length is not None:
            message = self.error_messages["max_length"].format(max_length=max_length)
            self.validators.append(MaxLengthValidator(max_length, message=message))
        self.validators += [ProhibitNullCharactersValidator(), ProhibitSurrogateCharactersValidator()]
        self.validators.append(RegexValidator(ecma(pattern), RULES[pattern]))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if data == "" and not self.blank:
            self.fail("blank")
        return data

    def to_representation(self, value):
        return str(value)


class TextSchema(OpenApiSerializerFieldExtension):
    """A Text's schema: its pattern and lengths, and nothing else (the pattern says whether it may be empty)."""

    target_class = Text
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = {"type": "string", "pattern": field.pattern}
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if not field.blank:
            schema["minLength"] = 1
        return schema


class StrictEmail(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInteger(serializers.IntegerField):
    """A JSON integer: a string, a float or a boolean is refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBoolean(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoice(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": PRICE, "example": "12.50"})
class Price(serializers.DecimalField):
    """A price as a decimal string (money never travels as a float), in the PRICE pattern."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=7, decimal_places=2, coerce_to_string=True, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        RegexValidator(ecma(PRICE), RULES[PRICE])(data)
        return super().to_internal_value(data)


class QueryNumber(serializers.FloatField):
    """A number in a query string, given once; an empty value is not a number (DRF would take it as absent)."""

    def get_value(self, dictionary):
        values = dictionary.getlist(self.field_name)
        if not values:
            return serializers.empty
        return values[0] if len(values) == 1 else values  # several values are not a number either
