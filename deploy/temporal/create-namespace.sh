#!/bin/sh
# One-shot: make sure the app's namespace exists (idempotent).
set -eu
temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1 \
  || temporal operator namespace create --namespace "$NAMESPACE" --retention "${RETENTION:-7d}"
echo "Namespace $NAMESPACE is ready"
