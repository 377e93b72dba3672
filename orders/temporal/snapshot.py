"""The settings an order's workflow runs with, taken from Django's settings when it starts: a running order keeps
them, whatever the deployment changes later."""

from typing import Optional

from django.conf import settings

from workflows.types import FaultSettings, ProcessSettings, RetrySettings


def process_settings(faults: Optional[FaultSettings] = None) -> ProcessSettings:
    return ProcessSettings(
        faults=faults,
        review_escalate_after_seconds=settings.REVIEW_ESCALATE_AFTER,
        review_timeout_seconds=settings.REVIEW_TIMEOUT,
        review_claim_ttl_seconds=settings.REVIEW_CLAIM_TTL,
        four_eyes_amount=settings.FOUR_EYES_AMOUNT,
        risk_auto_approve_below=settings.RISK_AUTO_APPROVE_BELOW,
        risk_auto_cancel_from=settings.RISK_AUTO_CANCEL_FROM,
        authorization_valid_for_seconds=settings.PAYMENT_AUTHORIZATION_VALID_FOR,
        max_reauthorizations=settings.PAYMENT_MAX_REAUTHORIZATIONS,
        shipping_max_attempts=settings.SHIPPING_MAX_ATTEMPTS,
        shipping_backoff_seconds=settings.SHIPPING_RETRY_BACKOFF,
        shipping_task_queue=settings.TEMPORAL_SHIPPING_TASK_QUEUE,
        business_retry=RetrySettings(
            initial_interval_seconds=settings.BUSINESS_RETRY_INITIAL_INTERVAL,
            backoff_coefficient=settings.BUSINESS_RETRY_BACKOFF,
            maximum_interval_seconds=settings.BUSINESS_RETRY_MAX_INTERVAL,
            maximum_attempts=settings.BUSINESS_RETRY_MAX_ATTEMPTS,
        ),
    )
