"""The class report and a feedback page in headless Chromium: they render, images load, no errors."""

from __future__ import annotations

import re

import pytest

from tests.gradebook.browser import render

pytestmark = pytest.mark.xdist_group("feedback")


@pytest.mark.parametrize("page", ["index", "wrong", "right"])
def test_page_renders_with_its_images_and_no_console_message(feedback_class, chromium, tmp_path, page) -> None:
    path = feedback_class[1].folder / f"{page}.html"
    shot = tmp_path / f"{page}.png"
    seen = render(chromium, path, tmp_path, screenshot=shot)
    assert seen.images > 0 and seen.broken == 0, seen.dom[:500]
    assert seen.console == []
    assert "<h1>" in seen.dom and "</table>" in seen.dom or "<h3" in seen.dom
    assert shot.stat().st_size > 10_000  # a painted page, not a blank one


def test_pages_need_no_network(feedback_class) -> None:
    for page in [*feedback_class[1].pages, feedback_class[1].report]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), page.name


def test_class_report_links_to_every_feedback_page(feedback_class, chromium, tmp_path) -> None:
    seen = render(chromium, feedback_class[1].report, tmp_path)
    links = set(re.findall(r'href="([^"]+)\.html"', seen.dom))
    assert links == {p.stem for p in feedback_class[1].pages}
    for stem in links:
        assert (feedback_class[1].folder / f"{stem}.html").is_file()
