"""portal.paging: the one paging helper of the portal's lists (history, rules, API keys).
The pages themselves are tested through HTTP in test_portal_executions, _rules, _apikeys."""

import pytest
from django.http import QueryDict

from portal.paging import PAGE_SIZE, page_number, pager, window


@pytest.mark.parametrize(
    ("query", "page"),
    [("", 1), ("page=3", 3), ("page=0", 1), ("page=-2", 1), ("page=two", 1), ("page=", 1)],
)
def test_page_number_is_a_whole_number_from_one_else_the_first_page(query, page):
    assert page_number(QueryDict(query)) == page


def test_window_is_the_slice_of_that_page():
    assert window(1) == {"limit": PAGE_SIZE, "offset": 0}
    assert window(3, size=10) == {"limit": 10, "offset": 20}


def test_pager_counts_pages_and_links_keep_the_filters_that_are_set():
    shown = pager(total=51, page=2, filters={"action": "core.local", "status": ""})
    assert (shown["total"], shown["page"], shown["pages"], shown["has_next"]) == (51, 2, 3, True)
    assert shown["query"] == "action=core.local"
    assert shown["previous_url"] == "?action=core.local&page=1"
    assert shown["next_url"] == "?action=core.local&page=3"


def test_pager_of_an_empty_list_is_one_page_without_links():
    shown = pager(total=0, page=1)
    assert (shown["pages"], shown["has_next"], shown["query"]) == (1, False, "")
    assert shown["previous_url"] == shown["next_url"] == ""


def test_last_page_has_no_next_link():
    shown = pager(total=PAGE_SIZE * 2, page=2)
    assert shown["pages"] == 2 and not shown["has_next"] and shown["next_url"] == ""
    assert shown["previous_url"] == "?page=1"
