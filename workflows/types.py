"""The types of the order process, by audience: names (workflows/names.py), what a workflow starts with
(inputs.py), its messages (messages.py) and the activities' inputs and results (activity_io.py). Re-exported here
for code that imports them from one place (and the frozen release-1 code in tests/legacy)."""

from workflows.activity_io import (  # noqa: F401
    AddressChange,
    ApprovalRecord,
    ChargeRequest,
    ClaimChange,
    DispatchRequest,
    OrderRef,
    OrderSummary,
    Outcome,
    PackageRequest,
    PaymentRecord,
    PaymentTruth,
    ReviewDecision,
    Screening,
    ScreenRequest,
    ShipmentTruth,
    ShippingAttempt,
    ShippingResult,
    ShippingStep,
)
from workflows.inputs import (  # noqa: F401
    Address,
    FaultSettings,
    OrderInput,
    OrderItem,
    ProcessSettings,
    RetrySettings,
    ShippingInput,
)
from workflows.messages import (  # noqa: F401
    ELLIPSIS,
    REASON_MAX_LENGTH,
    AddressChangeAck,
    AddressUpdate,
    ApproveRequest,
    CancelCodes,
    CancelRequest,
    Claim,
    ClaimRequest,
    CreationResult,
    DispatchFailure,
    MessageResult,
    ShippingAddressChange,
    WorkflowState,
    fit_text,
)
from workflows.names import (  # noqa: F401
    MAIN_TASK_QUEUE,
    POLICY_ACTOR,
    SHIPPING_TASK_QUEUE,
    TERMINAL_STATUSES,
    Activities,
    ErrorTypes,
    OrderStatus,
    Roles,
    default_payment_id,
    order_workflow_id,
    shipping_workflow_id,
)
