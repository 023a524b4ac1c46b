"""A complaint's history is stored raw (action keys, field names, values) and shown in the
reader's language: the verb, each field by its model's verbose name, each value by its label."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from complaints import services
from complaints.models import ComplaintEvent
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db


def _history(html: str) -> str:
    """The text of the detail page's history table (tags dropped, spaces collapsed)."""
    start = html.index('id="history"') if 'id="history"' in html else html.rindex("<h2>")
    text = re.sub(r"<[^>]+>", " ", html[start:])
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def triaged(store, hq, store_manager):
    complaint = make_complaint(store)
    services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                              grade="C", substantiated=True, responsibility="own_store",
                              owner=store_manager)
    return complaint


def test_the_stored_history_stays_raw(triaged):
    created, graded = ComplaintEvent.objects.filter(complaint=triaged).order_by("pk")[:2]
    assert (created.action, created.changes) == ("created", {"status": [None, "new"]})
    assert graded.action == "triaged"
    assert graded.changes["status"] == ["new", "assigned"]


def test_a_chinese_reader_reads_the_history_in_chinese(login, hq, triaged):
    html = login(hq).get(reverse("complaints:detail", args=[triaged.pk]),
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    text = _history(html)
    assert "创建" in text
    assert "定级并分派" in text
    assert "状态: 新建" in text
    assert "状态: 新建 → 已分派" in text
    assert "等级: — → C – 一般" in text
    assert "属实: 是" in text
    assert "责任归属: — → 本门店" in text
    assert "处理责任人: store1" in text
    for english in ("created", "triaged", "status", "new", "assigned", "own_store", "Own store"):
        assert not re.search(rf"\b{english}\b", text), english


def test_an_english_reader_reads_the_same_history_in_english(login, hq, triaged):
    html = login(hq).get(reverse("complaints:detail", args=[triaged.pk]),
                         HTTP_ACCEPT_LANGUAGE="en").content.decode()
    text = _history(html)
    assert "Created" in text
    assert "Graded and assigned" in text
    assert "Status: New → Assigned" in text
    assert "Responsibility: — → Own store" in text
    assert "Substantiated: yes" in text
    assert "新建" not in text
    assert "创建" not in text
