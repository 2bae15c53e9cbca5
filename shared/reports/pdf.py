"""The monthly report as PDF (the site's "Export Report" button), drawn with fpdf2 from the same model and charts.

Text uses DejaVu Sans, the TrueType font matplotlib ships, so enterprise and model names in any script render.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from shared.domain.reports.monthly import MonthlyReport, percent, tokens, usd
from shared.reports.render import (
    MODELS_SHOWN,
    OPPORTUNITIES,
    discount_note,
    discount_text,
    estimate_notes,
    forecast_lines,
    kpis,
    model_note,
    provider_name,
    source_label,
)

FONT = "DejaVu"
INK = (31, 41, 51)
MUTED = (82, 96, 109)
HEADING = FontFace(emphasis="BOLD", fill_color=(245, 247, 250))


@cache
def _font_files() -> tuple[Path, Path]:
    import matplotlib  # only for its fonts' location; imported late (a cold start would pay for it otherwise)

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"


class _ReportPdf(FPDF):
    def __init__(self, report: MonthlyReport) -> None:
        super().__init__(format="A4")
        self._report = report
        regular, bold = _font_files()
        self.add_font(FONT, "", str(regular))
        self.add_font(FONT, "B", str(bold))
        self.set_font(FONT, size=10)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_creation_date(report.generated_at)
        self.set_title(f"{report.enterprise.name}: LLM usage report, {report.month_label}")
        self.set_creator("Enterprise usage tracking")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self._report.enterprise.name} · {self._report.month} · page {self.page_no()}", align="C")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(FONT, "B", 12)
        self.set_text_color(*INK)
        self.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, size=9)

    def para(self, text: str, *, muted: bool = False) -> None:
        self.set_text_color(*(MUTED if muted else INK))
        self.multi_cell(0, 5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def rows(self, header: list[str], body: list[list[str]], widths: tuple[int, ...]) -> None:
        self.set_font(FONT, size=8)
        align = ("LEFT", *("RIGHT" for _ in header[1:]))
        with self.table(col_widths=widths, headings_style=HEADING, text_align=align, line_height=5) as table:
            for values in [header, *body]:
                row = table.row()
                for value in values:
                    row.cell(value)
        self.set_font(FONT, size=9)


def report_pdf(report: MonthlyReport, pngs: Mapping[str, bytes]) -> bytes:
    pdf = _ReportPdf(report)
    pdf.add_page()
    pdf.set_font(FONT, size=9)
    pdf.para(report.enterprise.name, muted=True)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 9, f"LLM usage report — {report.month_label}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    suffix = "" if report.complete else " · month to date, figures will still change"
    pdf.para(f"{report.start.isoformat()} to {report.end.isoformat()} (UTC){suffix}", muted=True)
    for warning in report.key_warnings:
        pdf.para(f"Action needed: {warning.message}")
    pdf.ln(2)
    pdf.rows(
        [label for label, _, _ in kpis(report)],
        [[value for _, value, _ in kpis(report)], [note for _, _, note in kpis(report)]],
        (1, 1, 1, 1),
    )
    pdf.heading("Spend by day")
    pdf.image(io.BytesIO(pngs["spend_by_day"]), w=pdf.epw)
    forecast = forecast_lines(report)
    if forecast is not None:
        pdf.heading("Forecast")
        pdf.para(f"{forecast[0]}.")
        pdf.para(forecast[1], muted=True)
    pdf.heading("What you pay against the market")
    market = report.market
    pdf.para(
        f"Your blended rate: {usd(market.your_blended_rate)} per 1M tokens. {market.index} on the same blend: "
        f"{usd(market.index_blended_rate)} ({percent(market.rate_vs_index, places=0)} of the index). "
        f"Realized discount vs list: {percent(market.realized_discount_vs_list)} "
        f"({discount_note(market.realized_discount_vs_list, market.price_coverage)})."
    )
    pdf.image(io.BytesIO(pngs["rate_vs_index"]), w=pdf.epw)
    pdf.heading("Peers")
    if report.peers.status == "positioned":
        pdf.para(f"Anonymous benchmark of {report.peers.enterprise_count_band} enterprises; lower is better.")
        for line in report.peers.lines:
            pdf.para(line)
    elif report.peers.status == "not_sharing":
        pdf.para("You do not share anonymous benchmarks, so no peer position is shown.", muted=True)
    else:
        pdf.para(f"No peer benchmark is published for {report.month_label} yet.", muted=True)
    pdf.heading("By provider")
    pdf.rows(
        ["Provider", "Spend", "Input", "Output", "Cached", "Rate / 1M", "vs list"],
        [
            [
                provider_name(p.provider) + (f" ({source_label(p)})" if source_label(p) else ""),
                usd(p.totals.total_cost_usd),
                tokens(p.totals.input_tokens),
                tokens(p.totals.output_tokens),
                tokens(p.totals.cached_tokens),
                usd(p.effective_rates.blended),
                discount_text(p.your_discount),
            ]
            for p in report.by_provider
        ]
        or [["No usage this month", "", "", "", "", "", ""]],
        (3, 2, 2, 2, 2, 2, 2),
    )
    _models(pdf, report)
    _savings_and_notes(pdf, report)
    return bytes(pdf.output())


def _models(pdf: _ReportPdf, report: MonthlyReport) -> None:
    pdf.heading("By model")
    unpriced = set(report.unpriced_models)
    body = [
        [
            m.key + (f" ({model_note(m, unpriced)})" if model_note(m, unpriced) else ""),
            usd(m.cost_usd),
            "n/a" if m.key in unpriced and m.list_cost_usd == 0 else usd(m.list_cost_usd),
            tokens(m.input_tokens),
            tokens(m.output_tokens),
            tokens(m.cached_tokens),
        ]
        for m in report.by_model[: MODELS_SHOWN * 2]
    ]
    pdf.rows(
        ["Model", "Spend", "At list", "Input", "Output", "Cached"],
        body or [["No usage", "", "", "", "", ""]],
        (5, 2, 2, 2, 2, 2),
    )
    hidden = len(report.by_model) - MODELS_SHOWN * 2
    if hidden > 0:
        pdf.para(f"and {hidden} more models (see the CSV export).", muted=True)


def _savings_and_notes(pdf: _ReportPdf, report: MonthlyReport) -> None:
    pdf.heading("Where you could save")
    if report.opportunities:
        for item in report.opportunities:
            pdf.para(f"{OPPORTUNITIES.get(item.kind, item.kind)}: {usd(item.savings_usd)} / month")
    else:
        pdf.para("No savings opportunity above the noise this month.", muted=True)
    estimates = estimate_notes(report)
    if report.reconciliation or report.unpriced_models or estimates or report.sync_notes:
        pdf.heading("Notes on the figures")
        for text in [*report.sync_notes, *estimates]:
            pdf.para(text, muted=True)
        for note in report.reconciliation:
            pdf.para(
                f"{provider_name(note.provider)}: on {note.flagged_days} day(s) billed cost "
                f"({usd(note.billed_usd)}) and usage at list ({usd(note.list_usd)}) disagree "
                f"({', '.join(note.reasons) or 'no reason recorded'}).",
                muted=True,
            )
        if report.unpriced_models:
            pdf.para(
                f"Usage without a public list price (never counted as $0): {', '.join(report.unpriced_models)}",
                muted=True,
            )
    pdf.ln(2)
    pdf.para(
        "Amounts in USD; days in UTC. Blended rate = 0.75 × input rate + 0.25 × output rate, per 1M tokens.", muted=True
    )
