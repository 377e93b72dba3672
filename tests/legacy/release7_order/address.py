"""Address changes: accepted only if the shipment will use it. A change takes its turn with child starts and final
steps; a running shipping child is given it and answers (AddressChangeAck) before the database records it."""

from typing import Optional

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release7_order.fulfilment import Fulfilment
    from tests.legacy.release7_order.state import OrderState
    from workflows import texts
    from workflows.names import Messages
    from workflows.shipping import ShippingWorkflow
    from workflows.steps import StepFailed, bookkeeping, failure_reason
    from workflows.types import (
        Activities,
        AddressChange,
        AddressChangeAck,
        AddressUpdate,
        MessageResult,
        ShippingAddressChange,
    )


class AddressChanges:
    def __init__(self, state: OrderState, fulfilment: Fulfilment) -> None:
        self.state = state
        self.fulfilment = fulfilment

    def refusal(self) -> Optional[str]:
        state = self.state
        refusal = state.refusal()
        if refusal or not state.serialized:
            return refusal
        if state.cancel is not None:
            return texts.BEING_CANCELLED
        if state.carrier_called:
            return texts.CARRIER_CALLED
        return None

    def check(self, update: AddressUpdate) -> None:
        refusal = self.refusal()
        missing = update.address.missing_fields()
        if refusal is None and missing:
            refusal = texts.address_missing(missing)
        if refusal:
            raise ValueError(refusal)

    def validate(self, update: AddressUpdate) -> None:
        self.check(update)
        self.state.check_client_updates()

    async def change(self, update: AddressUpdate) -> MessageResult:
        """The update: answered once the change is in, or with the reason it was refused."""
        self.state.client_updates += 1
        refusal = await self._apply(update)
        if refusal:
            return self.state.result(False, refusal)
        return self.state.result(True)

    async def change_by_signal(self, update: AddressUpdate) -> None:
        if self.state.signal_refused("update_address", lambda: self.check(update)):
            return
        refusal = await self._apply(update)
        if refusal:
            self.state.log(f"signal update_address refused: {refusal}")

    def acknowledged(self, ack: AddressChangeAck) -> None:
        """The shipping child's answer to a change it was given."""
        self.state.address_acks[ack.sequence] = ack

    async def _apply(self, update: AddressUpdate) -> Optional[str]:
        """Apply an address change; None when it is in (the database, and the shipment if one is under way), else
        the reason it was refused."""
        state = self.state
        # The order row is written by the first step: an early change waits for it.
        if not await state.row_written():
            return state.not_created()
        if not state.serialized:
            return await self._apply_unserialized(update)
        async with state.turn_lock:
            # Checked again: the order may have moved on while this change waited for its turn.
            refusal = self.refusal()
            if refusal:
                return refusal
            state.address_changes += 1
            sequence = state.address_changes
            child = state.child
            if child is not None and not child.done():
                refusal = await self._forward(child, update, sequence)
                if refusal:
                    return refusal
            try:
                await state.write(Activities.UPDATE_ADDRESS, AddressChange(state.order_id, update.address, update.actor, sequence))
            except StepFailed as err:
                return failure_reason(err)
            state.address = update.address
            return None

    async def _forward(self, child, update: AddressUpdate, sequence: int) -> Optional[str]:
        """Give a running shipping child the new address; None when the shipment will use it."""
        state = self.state
        await self.fulfilment.signal_child(child, Messages.SHIPPING_CHANGE_ADDRESS, ShippingAddressChange(update.address, sequence))
        await workflow.wait_condition(lambda: sequence in state.address_acks or child.done())
        ack = state.address_acks.pop(sequence, None)
        if ack is not None:
            return None if ack.applied else ack.reason
        # The child closed before it took the change.
        if child.exception() is None and child.result().dispatched:
            return texts.ALREADY_DISPATCHED
        if state.carrier_called:
            return texts.CARRIER_CALLED
        if state.cancel is not None:
            return texts.BEING_CANCELLED
        return None  # the attempt failed before dispatch: the next one uses the new address

    async def _apply_unserialized(self, update: AddressUpdate) -> Optional[str]:
        """How orders started before RELEASE_2 apply a change (kept so that they replay)."""
        state = self.state
        async with state.turn_lock:
            state.address_changes += 1
            change = AddressChange(state.order_id, update.address, update.actor, state.address_changes)
            await bookkeeping(Activities.UPDATE_ADDRESS, change)
            state.address = update.address
            if state.child is not None and not state.child.done():
                await self.fulfilment.signal_child(state.child, ShippingWorkflow.update_address, update.address)
        return None
