"""Render untrusted model text as Markdown, then sanitise it with an allow-list."""

from __future__ import annotations

import markdown
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a",
}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
ALLOWED_URL_SCHEMES = {"http", "https"}


def _markdown() -> markdown.Markdown:
    converter = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists"])
    # Raw HTML in a reply is shown as text: without these two steps Markdown
    # passes it through, and nh3 would only strip it out of sight.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter


def render_markdown_text(text: str) -> str:
    """Convert text to HTML that contains only allow-listed tags, attributes and URL schemes."""
    html = _markdown().convert(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    # Safe to mark: nh3 has removed every tag, attribute and scheme outside the allow-lists.
    return mark_safe(render_markdown_text(text))  # noqa: S308
