"""Committed histories replay against today's workflow code: a change that would break running orders fails here.

`tests/histories/<release>/` holds the histories each release's code recorded. Those of released code are never
rewritten; `make histories` refreshes only the current release's (tests/workflow_fakes.py CURRENT_HISTORIES)."""

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflow_fakes import CURRENT_HISTORIES, HISTORIES
from workflows.order import OrderWorkflow
from workflows.shipping import ShippingWorkflow

RELEASES = sorted(p for p in HISTORIES.iterdir() if p.is_dir())


def test_every_release_has_histories_of_both_workflows():
    assert CURRENT_HISTORIES in RELEASES and len(RELEASES) >= 2
    for release in RELEASES:
        assert {p.name.split("_")[0] for p in release.glob("*.json")} == {"order", "shipping"}, release


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_history_replays(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=[OrderWorkflow, ShippingWorkflow]).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
