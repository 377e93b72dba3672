"""The keys that link orders to each other: the same customer written differently is still the same customer.
Stored on the order when it is received (indexed), and computed the same way by `manage.py fill_orders`."""

import hashlib
import re
import unicodedata

_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case, accents and punctuation dropped, whitespace collapsed: "  Rue  de l'Église, 5 " -> "rue de l eglise 5"."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", plain.casefold()).strip()


def email_key(email: str) -> str:
    """The mailbox: lower case, without a +tag ("Ann+shop@Example.com" and "ann@example.com" are one customer)."""
    local, _, domain = str(email or "").strip().lower().rpartition("@")
    if not local:
        return domain
    return f"{local.split('+', 1)[0] or local}@{domain}"


def _digest(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def address_key(address: dict) -> str:
    """The street, postal code and country; the name and the city's spelling do not matter."""
    get = lambda name: normalise(address.get(name, ""))  # noqa: E731
    if not (get("line1") and get("postal_code")):
        return ""
    return _digest(get("line1"), get("line2"), get("postal_code").replace(" ", ""), get("country"))


def name_key(name: str, address: dict) -> str:
    """The customer's name at a postal code: the same person behind different emails and streets."""
    postal = normalise(address.get("postal_code", "")).replace(" ", "")
    if not (normalise(name) and postal):
        return ""
    return _digest(normalise(name), postal, normalise(address.get("country", "")))


def order_keys(*, customer_name: str, customer_email: str, shipping_address: dict) -> dict[str, str]:
    return {
        "email_key": email_key(customer_email),
        "address_key": address_key(shipping_address),
        "name_key": name_key(customer_name, shipping_address),
    }
