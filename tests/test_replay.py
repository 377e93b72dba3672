"""Committed histories replay against today's workflow code: a change that would break running orders fails here.
Refresh them with `make histories` only when a change is meant to be incompatible (and version it)."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.order import OrderWorkflow
from workflows.shipping import ShippingWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_workflow_has_a_history():
    names = {p.name.split("_")[0] for p in HISTORIES}
    assert names == {"order", "shipping"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=[OrderWorkflow, ShippingWorkflow]).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
