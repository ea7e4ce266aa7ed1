"""The weekly digest as an email: HTML body with a chart, a short text form and the XLSX."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.markup import esc, fmt
from handlers.messages import Channel, Outbound, OutFile
from schedules.digest import Figures
from storage.export import write_xlsx
from storage.report_cells import report_cells

TEMPLATES = Path(__file__).with_name("data")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHART_ID = "chart"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
)


def span(value: timedelta | None) -> str:
    """A duration as people read it: 2 hari 3 jam, 45 menit."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} hari"] if days else []
    parts += [f"{hours} jam"] if hours else []
    parts += [f"{minutes} menit"] if minutes or not parts else []
    return " ".join(parts)


def subject(figures: Figures) -> str:
    """The digest email's subject."""
    first, last = _first_last(figures)
    return f"Ringkasan mingguan Helpdesk E-learning {first} s.d. {last}"


def _first_last(figures: Figures) -> tuple[str, str]:
    days = figures.period.days
    return days[0].strftime("%d-%m-%Y"), days[-1].strftime("%d-%m-%Y")


def chart_png(figures: Figures) -> bytes:
    """Interactions per day and channel as stacked bars (PNG)."""
    days = list(figures.per_day)
    channels = sorted({c for counts in figures.per_day.values() for c in counts})
    figure = Figure(figsize=(8, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [d.strftime("%a %d-%m") for d in days]
    bottom = [0] * len(days)
    for channel in channels:
        values = [figures.per_day[d].get(channel, 0) for d in days]
        axes.bar(labels, values, bottom=bottom, label=channel)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("pesan")
    axes.set_title("Interaksi per hari dan kanal")
    if channels:
        axes.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def full_html(figures: Figures, *, rows: int) -> str:
    """The complete HTML body; the chart is the inline image `cid:chart`."""
    first, last = _first_last(figures)
    zone = figures.period.zone
    return _env.get_template("digest.html.j2").render(
        f=figures,
        subject=subject(figures),
        first=first,
        last=last,
        rows=rows,
        first_response=span(figures.median_first_response),
        to_close=span(figures.median_close),
        local=lambda moment: moment.astimezone(zone).strftime("%d-%m-%Y %H:%M"),
    )


def short_html(figures: Figures) -> str:
    """The short form (Telegram's HTML subset), also the base of the plain-text part."""
    first, last = _first_last(figures)
    lines = [
        fmt("<b>Ringkasan mingguan Helpdesk E-learning</b> {} s.d. {}", first, last),
        f"Pesan: {figures.messages} ({_pairs(figures.by_channel)})",
        f"Topik: {_pairs(figures.by_topic)}",
        f"Peran: {_pairs(figures.by_role)}",
        (
            f"Tiket: {figures.tickets_opened} dibuka, {figures.tickets_closed} ditutup, "
            f"{figures.tickets_open} masih terbuka ({figures.tickets_old} lebih dari 3 hari)"
        ),
        f"Median respons pertama: {span(figures.median_first_response)}",
        f"Median penyelesaian: {span(figures.median_close)}",
        f"Langkah alur terlambat: {len(figures.overdue)}",
        f"Pelatihan minggu depan: {len(figures.trainings)}",
    ]
    zone = figures.period.zone
    lines += [
        fmt("· {} ({})", t.title, t.starts_at.astimezone(zone).strftime("%d-%m-%Y %H:%M"))
        for t in figures.trainings
    ]
    return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return esc(", ".join(f"{k} {v}" for k, v in counts.items()) or "-")


async def week_xlsx(session: AsyncSession, figures: Figures) -> tuple[bytes, int]:
    """The week's report rows as XLSX bytes, and how many rows."""
    period = figures.period
    buffer = io.BytesIO()
    count = await write_xlsx(report_cells(session, period.start, period.end, period.zone), buffer)
    return buffer.getvalue(), count


def xlsx_name(figures: Figures) -> str:
    """The attachment's file name."""
    return f"laporan-elearning-{figures.period.days[0].isoformat()}.xlsx"


async def build(session: AsyncSession, figures: Figures) -> tuple[str, str, tuple[OutFile, ...]]:
    """Short html, full html and the files (chart inline, XLSX attached)."""
    data, rows = await week_xlsx(session, figures)
    files = (
        OutFile("grafik.png", "image/png", chart_png(figures), inline_id=CHART_ID),
        OutFile(xlsx_name(figures), XLSX, data),
    )
    return short_html(figures), full_html(figures, rows=rows), files


def emails(
    figures: Figures, short: str, full: str, files: tuple[OutFile, ...], to: Sequence[str]
) -> list[Outbound]:
    """One email per recipient."""
    return [
        Outbound(
            channel=Channel.EMAIL,
            chat_id=address,
            subject=subject(figures),
            html=short,
            email_html=full,
            files=files,
            purpose="digest",
        )
        for address in to
    ]
