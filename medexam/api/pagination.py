"""Pagination of API lists: 50 rows a page unless the client asks for another size."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination

# The largest page a client may request with ?page_size=; a larger value is
# cut to this. Documented in docs/api.md.
MAX_PAGE_SIZE = 500


class PageSizePagination(PageNumberPagination):
    """Page-number pagination that honours ?page_size= from 1 to MAX_PAGE_SIZE."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
