"""Risk: every order scored at validation from its signals (rules.py), routed by the policy (workflows/risk.py)."""
