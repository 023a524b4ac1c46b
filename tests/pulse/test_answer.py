"""Answering the pulse: anonymous, once per person per quarter, for one's own store."""

from __future__ import annotations

import pytest
from django.db import models
from django.utils import translation

from pulse.models import PulseParticipation, PulseResponse
from pulse.services import pulse_answer
from pulse.statements import CODES
from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, User
from satisfaction.quarters import Quarter

pytestmark = pytest.mark.django_db

ALL_FOURS = dict.fromkeys(CODES, 4)


def _post(store, answers=None, comment=""):
    data = {"store": store.pk, "comment": comment}
    data.update({code: str(v) for code, v in (answers or ALL_FOURS).items()})
    return data


def test_the_stored_answer_has_no_field_that_leads_to_a_person():
    for field in PulseResponse._meta.get_fields():
        if field.is_relation:
            assert field.related_model not in (User, Employee), field.name
        assert not isinstance(field, models.DateField | models.DateTimeField | models.TimeField), (
            field.name)
    assert isinstance(PulseResponse._meta.pk, models.UUIDField)  # no sequence to pair rows by


def test_the_participation_holds_only_who_and_which_quarter():
    names = {f.name for f in PulseParticipation._meta.get_fields()}
    assert names == {"id", "user", "quarter"}


def test_a_clerk_answers_and_the_answer_keeps_only_quarter_store_and_answers(login, clerk,
                                                                             store):
    response = login(clerk).post("/pulse/", _post(store, ALL_FOURS | {"pride": 5}, "缺货多"))
    assert response.status_code == 302
    saved = PulseResponse.objects.get()
    assert (saved.quarter, saved.store, saved.pride, saved.equipped, saved.comment) == (
        Quarter.current(), store, 5, 4, "缺货多")
    stored = {f.attname: getattr(saved, f.attname) for f in PulseResponse._meta.concrete_fields}
    assert set(stored) == {"id", "quarter", "store_id", *CODES, "comment"}
    assert PulseParticipation.objects.filter(user=clerk, quarter=Quarter.current()).count() == 1


def test_a_second_answer_in_the_same_quarter_is_refused_with_a_message(login, clerk, store):
    client = login(clerk)
    client.post("/pulse/", _post(store))
    page = client.get("/pulse/")
    assert page.status_code == 200
    assert b'data-testid="answered"' in page.content
    again = client.post("/pulse/", _post(store, dict.fromkeys(CODES, 1)))
    assert again.status_code == 200  # the page says so; nothing more is written
    assert PulseResponse.objects.count() == 1
    with translation.override("en"), pytest.raises(ApplicationError) as error:
        pulse_answer(user=clerk, store=store, quarter=Quarter.current(), answers=ALL_FOURS)
    assert error.value.code == "already_answered"
    assert error.value.status == 409
    assert "already answered" in error.value.message
    assert PulseResponse.objects.count() == 1


def test_a_stale_form_sent_after_answering_elsewhere_gets_a_409_with_the_reason(
        login, clerk, store, monkeypatch):
    """The form was open before the answer was saved (another tab): the service refuses."""
    from pulse import selectors

    client = login(clerk)
    client.post("/pulse/", _post(store))
    monkeypatch.setattr(selectors, "has_answered", lambda **kwargs: False)
    response = client.post("/pulse/", _post(store), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert "already answered" in response.content.decode()
    assert PulseResponse.objects.count() == 1


def test_the_answer_and_the_participation_are_written_together(clerk, store, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(PulseResponse.objects, "create", fail)
    with pytest.raises(RuntimeError):
        pulse_answer(user=clerk, store=store, quarter=Quarter.current(), answers=ALL_FOURS)
    assert not PulseParticipation.objects.exists()


def test_an_answer_off_the_scale_is_a_form_error_and_nothing_is_kept(login, clerk, store):
    response = login(clerk).post("/pulse/", _post(store, ALL_FOURS | {"recommend": 6}))
    assert response.status_code == 400
    assert response.context["form"].errors["recommend"]
    assert not PulseResponse.objects.exists()
    assert not PulseParticipation.objects.exists()


def test_a_missing_answer_is_a_form_error(login, clerk, store):
    data = _post(store)
    del data["hq_support"]
    response = login(clerk).post("/pulse/", data)
    assert response.status_code == 400
    assert "hq_support" in response.context["form"].errors


def test_no_one_answers_for_a_store_they_do_not_work_in(login, clerk, other_store):
    response = login(clerk).post("/pulse/", _post(other_store))
    assert response.status_code == 400
    assert not PulseResponse.objects.exists()
    with pytest.raises(ApplicationError) as error:
        pulse_answer(user=clerk, store=other_store, quarter=Quarter.current(),
                     answers=ALL_FOURS)
    assert "store" in error.value.fields


def test_only_store_staff_answer(region_manager, store):
    with pytest.raises(ApplicationError) as error:
        pulse_answer(user=region_manager, store=store, quarter=Quarter.current(),
                     answers=ALL_FOURS)
    assert error.value.status == 403


def test_the_form_says_in_plain_words_what_is_kept_and_who_sees_what(login, store_manager):
    page = login(store_manager).get("/pulse/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What is kept, and who sees what" in page
    assert "not your name, not your login, not the date or the time" in page
    assert "at least 5 people" in page
    assert "only by HQ" in page
    assert "never used for appraisal or pay" in page


def test_the_form_reads_in_chinese(login, clerk):
    page = login(clerk).get("/pulse/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "员工" in page
    assert "HQ supports our store." not in page
