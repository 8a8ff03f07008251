"""What marks the service's own ImmediateResponses for Envoy's local-reply mappers."""

from __future__ import annotations

# The `details` of a refusal the service answers with a status Envoy also uses for its own
# refusals (403): the mapper that rewrites Envoy's 403 leaves replies with this prefix alone.
# It also names the refusal in the access log's `details`.
SERVICE_DETAILS_PREFIX = "plano_"
