"""The Django side of Temporal beside workflows/client.py: what its calls raise, whether the namespace is ready
for the orders, and which running orders are stuck."""
