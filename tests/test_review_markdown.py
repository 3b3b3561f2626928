"""The markdown filter: Markdown rendered, tags outside the allow-list shown as text."""

from __future__ import annotations

from review.templatetags.review_markdown import render_markdown_text


def test_markdown_renders_emphasis():
    assert render_markdown_text("答案是 **B**") == "<p>答案是 <strong>B</strong></p>"


def test_markdown_escapes_script():
    html = render_markdown_text("<script>alert(1)</script>")

    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_escapes_html_block():
    html = render_markdown_text('<div onclick="steal()">x</div>\n\nnext')

    assert "<div" not in html
    assert "&lt;div" in html


def test_markdown_drops_javascript_link():
    html = render_markdown_text("[click](javascript:alert(1))")

    assert "javascript:" not in html


def test_markdown_keeps_https_link():
    html = render_markdown_text("[指南](https://example.org/guide)")

    assert 'href="https://example.org/guide"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_markdown_handles_empty():
    assert render_markdown_text("") == ""
