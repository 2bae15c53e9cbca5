"""A token or invocation count read from a cloud metrics API (CloudWatch, Azure Monitor), where numbers come as JSON
floats or strings: a finite, non-negative number, rounded to a whole count; anything else is the provider's error."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from shared.domain.usage.records import Provider
from shared.errors import ProviderResponseError


def metric_count(value: object, *, source: str, provider: Provider) -> int:
    """``value`` as a whole count, or ``ProviderResponseError`` naming ``source`` (booleans are not counts)."""
    try:
        number = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0:
        raise ProviderResponseError(f"{source} sent a value that is not a count", provider=provider.value)
    return int(number.to_integral_value())
