import factory

from orders.models import Order
from orders.risk import keys
from orders.rules import order_total
from workflows.types import order_workflow_id

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
ITEMS = [{"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}, {"sku": "PEN-7", "quantity": 1, "unit_price": "3.99"}]


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    id = factory.Sequence(lambda n: f"test-{n}")
    customer_name = "Ada Lovelace"
    customer_email = factory.Sequence(lambda n: f"ada{n}@example.com")
    items = factory.LazyFunction(lambda: [dict(i) for i in ITEMS])
    amount = factory.LazyAttribute(lambda o: order_total(o.items))
    currency = "USD"
    shipping_address = factory.LazyFunction(lambda: dict(ADDRESS))
    payment_id = factory.LazyAttribute(lambda o: f"pay-{o.id}")
    workflow_id = factory.LazyAttribute(lambda o: order_workflow_id(o.id))
    fingerprint = "f" * 64
    status = Order.Status.RECEIVED
    email_key = factory.LazyAttribute(lambda o: keys.email_key(o.customer_email))
    address_key = factory.LazyAttribute(lambda o: keys.address_key(o.shipping_address))
    name_key = factory.LazyAttribute(lambda o: keys.name_key(o.customer_name, o.shipping_address))
