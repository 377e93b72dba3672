"""The review queue's dashboard: figures from the events table (orders.selectors.review_dashboard), the risk
figures (orders.risk.dashboard) and a chart of decisions and queue depth per hour, drawn here as SVG (nothing from a
CDN)."""

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from orders import selectors
from orders.risk.dashboard import risk_figures
from orders.temporal import stuck

WIDTH, HEIGHT, PAD = 720, 220, 30


def dashboard_view(model_admin, request):
    if not model_admin.has_review_permission(request):
        raise PermissionDenied
    now = timezone.now()
    figures = selectors.review_dashboard(now)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Review dashboard",
        "opts": model_admin.model._meta,
        "figures": figures,
        "chart": hourly_chart(figures["hours"]),
        "risk": risk_figures(now),
        "stuck": stuck.for_display(),
    }
    return TemplateResponse(request, "admin/orders/reviewqueueorder/dashboard.html", context)


def hourly_chart(hours: list[dict]) -> SafeString:
    """Bars: decisions per hour. Line: the queue's depth at the end of each hour. One scale each, both labelled."""
    top_decisions = max([h["decisions"] for h in hours] + [1])
    top_depth = max([h["queue_depth"] for h in hours] + [1])
    step = (WIDTH - 2 * PAD) / len(hours)
    plot = HEIGHT - 2 * PAD
    bars = format_html_join(
        "",
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="#2563eb"><title>{}:00: {} decisions</title></rect>',
        (
            (
                f"{PAD + i * step + 2:.1f}",
                f"{HEIGHT - PAD - plot * h['decisions'] / top_decisions:.1f}",
                f"{step - 4:.1f}",
                f"{plot * h['decisions'] / top_decisions:.1f}",
                f"{h['hour']:%H}",
                h["decisions"],
            )
            for i, h in enumerate(hours)
        ),
    )
    points = " ".join(
        f"{PAD + (i + 0.5) * step:.1f},{HEIGHT - PAD - plot * h['queue_depth'] / top_depth:.1f}" for i, h in enumerate(hours)
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
        ((f"{PAD + (i + 0.5) * step:.1f}", HEIGHT - 10, f"{h['hour']:%H}") for i, h in enumerate(hours) if i % 3 == 0),
    )
    return format_html(
        '<svg id="review-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="Decisions and queue depth per hour, last 24 hours">'
        '<line x1="{p}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>{bars}'
        '<polyline class="depth" points="{points}" fill="none" stroke="#d97706" stroke-width="2"/>{labels}'
        '<text x="{p}" y="14" font-size="11" fill="#2563eb">decisions per hour (max {top_decisions})</text>'
        '<text x="{r}" y="14" font-size="11" fill="#d97706" text-anchor="end">queue depth (max {top_depth})</text></svg>',
        w=WIDTH, h=HEIGHT, p=PAD, b=HEIGHT - PAD, r=WIDTH - PAD, bars=bars, points=points, labels=labels,
        top_decisions=top_decisions, top_depth=top_depth,
    )
