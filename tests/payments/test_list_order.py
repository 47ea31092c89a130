"""Lists people pick from are in Vietnamese alphabetical order (core.collation), not code point
order (which put "Hoàn Kiếm" before "Hà Đông" and "Đống Đa" last): the counter's agencies and
procedures, the receipts reports' agencies, the finance accounts."""
from __future__ import annotations

from lxml import html

from core.collation import sorted_vi
from simulator.demo_world import build_demo_world
from tests.core.web import login


def groups(page: str, select_id: str) -> dict[str, list[str]]:
    document = html.fromstring(page)
    # A procedure's option may start with its national code ("1.013831 · "): the name is what sorts.
    return {group.get("label"): [o.text_content().strip().split(" · ")[-1] for o in group.xpath("option")]
            for group in document.xpath(f"//select[@id='{select_id}']/optgroup")}


def test_the_counters_lists_are_in_vietnamese_order(app):
    world = build_demo_world(app)
    client = app.test_client()
    assert login(client, "motcua", world.password).status_code == 302
    page = client.get("/counter/dossiers/new").get_data(as_text=True)
    agencies = groups(page, "agency_code")
    wards = next(names for label, names in agencies.items() if len(names) > 3 and any("Đống Đa" in n for n in names))
    assert wards == sorted_vi(wards) and wards != sorted(wards)  # the data shows the difference
    for names in [*agencies.values(), *groups(page, "procedure_code").values()]:
        assert names == sorted_vi(names)
    supervisor = app.test_client()
    assert login(supervisor, "giamsat", world.password).status_code == 302
    daily = html.fromstring(supervisor.get("/reports/receipts/daily").get_data(as_text=True))
    listed = [o.text_content().strip() for o in daily.xpath("//select[@name='agency']/option[@value!='']")]
    assert len(listed) > 3 and listed == sorted_vi(listed)
