"""Times on pages, shown in the project's time zone with that zone named."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def _offset_label(moment: datetime) -> str:
    offset = moment.strftime("%z")  # "+0800"
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


@register.simple_tag
def time_zone_label() -> str:
    """Name the zone page times are shown in, as an offset from UTC (e.g. UTC+08:00)."""
    return _offset_label(timezone.localtime())


@register.filter
def local_time(value: datetime | None) -> SafeString | str:
    """Render an aware datetime as YYYY-MM-DD HH:MM local time in a <time> element."""
    if value is None:
        return ""
    moment = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(timespec="minutes"),
        _offset_label(moment),
        moment.strftime("%Y-%m-%d %H:%M"),
    )
