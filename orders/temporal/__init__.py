"""The Django side of Temporal: the one client loop of the process (runner.py), starts, messages, bulk decisions,
reading and waiting, ops checks and what their calls raise (errors.py), with client.py as one import for callers;
the connection, readiness, stuck orders and their metrics; the activities and the workers. The sandboxed workflow
code stays in workflows/, which imports none of this."""
