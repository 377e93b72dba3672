"""Provider backends of the tests' own, selected by settings like any other (orders/providers)."""
