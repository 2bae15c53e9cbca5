"""What an alert says: the email (plain text and simple HTML) and the webhook's JSON body.

Both are built from the alert record alone (kind, period, scope, figures) and the enterprise's name, so they hold
no key, no key id and nothing from a provider beyond model and project names. Amounts are USD to the cent. Every
value put into HTML is escaped, and header values lose control characters (an enterprise name cannot add headers).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from email.message import EmailMessage

from shared.domain.alerts.records import Alert, AlertKind
from shared.domain.text import header_text

CENT = Decimal("0.01")
KIND_HEADER = "X-Usage-Alert-Kind"
ID_HEADER = "X-Usage-Alert-Id"
PERIOD_HEADER = "X-Usage-Alert-Period"

_METHODS = {
    "weekday_run_rate": "day-of-week run rate",
    "daily_run_rate": "daily run rate",
    "no_history": "no history yet: the month to date",
}
_TITLES = {
    AlertKind.BUDGET_WARNING: "budget warning",
    AlertKind.BUDGET_CRITICAL: "budget critical",
    AlertKind.SPEND_ANOMALY: "spend spike",
}


def usd(amount: Decimal) -> str:
    """``USD 1,234.50``."""
    return f"USD {amount.quantize(CENT, rounding=ROUND_HALF_EVEN):,.2f}"


def percent(value: Decimal | None) -> str:
    return f"{value or Decimal(0):,.2f}%"


def _one_line(text: str) -> str:
    return header_text("".join(c if c.isprintable() else " " for c in text))


def subject(alert: Alert, enterprise_name: str) -> str:
    f = alert.figures
    head = f"{_one_line(enterprise_name)}: {_TITLES[alert.kind]} for {_one_line(alert.scope.label)}"
    if alert.kind is AlertKind.SPEND_ANOMALY:
        usual = usd(f.baseline_median_usd or Decimal(0))
        return f"{head}: {usd(f.spend_usd)} on {alert.period} (usually {usual})"
    budget = usd(f.budget_usd or Decimal(0))
    return f"{head}: {usd(f.spend_usd)} of {budget} ({percent(f.percent_of_budget)}) in {alert.period}"


def _paragraphs(alert: Alert) -> list[str]:
    f = alert.figures
    label = alert.scope.label
    if alert.kind is AlertKind.SPEND_ANOMALY:
        return [
            f"Spend for {label} on {alert.period} was {usd(f.spend_usd)}, {usd(f.excess_usd or Decimal(0))} more "
            f"than its usual daily spend (median {usd(f.baseline_median_usd or Decimal(0))} over the {f.baseline_days} "
            f"previous days with data).",
            "The day is complete: the providers no longer restate it, so this is not a partial figure.",
        ]
    level = "critical" if alert.kind is AlertKind.BUDGET_CRITICAL else "warning"
    budget = usd(f.budget_usd or Decimal(0))
    lines = [
        f"Spend for {label} in {alert.period} has reached {usd(f.spend_usd)}: {percent(f.percent_of_budget)} of "
        f"the monthly budget of {budget}, past the {level} threshold of {f.threshold_percent}%."
    ]
    if f.forecast_usd is not None:
        method = _METHODS.get(f.forecast_method or "", f.forecast_method)
        lines.append(f"Forecast for the whole month: {usd(f.forecast_usd)} ({method}).")
    return lines


def alert_email(
    alert: Alert, *, enterprise_name: str, recipients: Sequence[str], settings_url: str, mail_from: str
) -> EmailMessage:
    """The alert email, plain text with an HTML alternative."""
    message = EmailMessage()
    message["Subject"] = subject(alert, enterprise_name)
    message["From"] = mail_from
    message["To"] = ", ".join(recipients)
    message[ID_HEADER] = alert.id
    message[KIND_HEADER] = alert.kind.value
    message[PERIOD_HEADER] = alert.period
    paragraphs = _paragraphs(alert)
    name = _one_line(enterprise_name)
    footer = f"You receive this message once per alert, as an alert recipient of {name}."
    text = "\n\n".join([*paragraphs, f"Budgets and alert settings:\n    {settings_url}", footer])
    message.set_content(text + "\n")
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    link = html.escape(settings_url, quote=True)
    message.add_alternative(
        "<!doctype html><html><body>"
        f"<h2>{html.escape(subject(alert, enterprise_name))}</h2>{body}"
        f'<p><a href="{link}">Budgets and alert settings</a></p>'
        f"<p><small>{html.escape(footer)}</small></p></body></html>\n",
        subtype="html",
    )
    return message


def webhook_body(alert: Alert, *, enterprise_id: str, enterprise_name: str, settings_url: str) -> bytes:
    """The JSON the webhook receives (amounts as decimal strings, like the API)."""
    document = {
        "id": alert.id,
        "kind": alert.kind.value,
        "period": alert.period,
        "created_at": alert.created_at.isoformat(),
        "enterprise": {"id": enterprise_id, "name": enterprise_name},
        "scope": {**alert.scope.model_dump(mode="json"), "label": alert.scope.label},
        "figures": alert.figures.model_dump(mode="json", exclude_none=True),
        "summary": subject(alert, enterprise_name),
        "settings_url": settings_url,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
