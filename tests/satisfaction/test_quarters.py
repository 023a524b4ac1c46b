from datetime import UTC, date, datetime

import pytest

from satisfaction.errors import ApplicationError
from satisfaction.quarters import InvalidQuarterError, Quarter, quarter_param


def test_it_parses_and_prints_a_quarter():
    quarter = Quarter.parse("2026Q4")
    assert (quarter.year, quarter.number) == (2026, 4)
    assert str(quarter) == "2026Q4"
    assert Quarter.parse("2026-q1") == Quarter(2026, 1)


@pytest.mark.parametrize("text", ["2026Q5", "26Q1", "Q4 2026", "", "2026Q0"])
def test_it_rejects_text_that_is_not_a_quarter(text):
    with pytest.raises(InvalidQuarterError):
        Quarter.parse(text)


def test_its_date_range_is_in_the_chains_time_zone(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    q4 = Quarter(2026, 4)
    assert q4.first_day == date(2026, 10, 1)
    assert q4.last_day == date(2026, 12, 31)
    assert q4.start().isoformat() == "2026-10-01T00:00:00+08:00"
    assert q4.end().isoformat() == "2027-01-01T00:00:00+08:00"
    # 16:30 UTC on 31 December is already 1 January in Shanghai: the next quarter.
    assert Quarter.containing(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == Quarter(2027, 1)
    assert Quarter.containing(datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == q4


def test_it_steps_across_years():
    assert Quarter(2026, 4).next() == Quarter(2027, 1)
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert [str(q) for q in Quarter(2026, 2).last_n(3)] == ["2025Q4", "2026Q1", "2026Q2"]
    assert sorted([Quarter(2026, 1), Quarter(2025, 4)]) == [Quarter(2025, 4), Quarter(2026, 1)]


def test_the_one_query_parser_takes_a_quarter_or_the_default_and_names_a_bad_one():
    assert quarter_param({"quarter": "2026q3"}, default=None) == Quarter(2026, 3)
    assert quarter_param({}, default=Quarter(2025, 1)) == Quarter(2025, 1)
    assert quarter_param({"quarter": "  "}, default=None) is None
    with pytest.raises(ApplicationError) as error:
        quarter_param({"quarter": "last"}, default=None)
    assert error.value.status == 400
    assert list(error.value.fields) == ["quarter"]


@pytest.mark.django_db
def test_a_bad_quarter_is_a_clear_400_on_pages_and_in_the_api(login, hq):
    client = login(hq)
    page = client.get("/dashboard/mystery-shopper/?quarter=last", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400
    assert 'data-testid="error-message"' in page.content.decode()
    api = client.get("/api/v1/scoring/store-scores/?quarter=last")
    assert api.status_code == 400
    assert list(api.json()["fields"]) == ["quarter"]
    revision = client.get("/api/v1/scoring/store-scores/?quarter=2026Q4&revision=two")
    assert revision.status_code == 400
    assert list(revision.json()["fields"]) == ["revision"]


# --- The quarter picker (satisfaction.forms.QuarterChoiceField) -------------------------------

def test_the_quarter_picker_offers_only_its_quarters_and_cleans_to_a_quarter():
    from django import forms as django_forms

    from satisfaction.forms import QuarterChoiceField

    class Picker(django_forms.Form):
        quarter = QuarterChoiceField(quarters=[(Quarter(2026, 4), "2026Q4 · running"),
                                               (Quarter(2026, 3), "2026Q3 · published r1")])

    good = Picker({"quarter": "2026Q3"})
    assert good.is_valid()
    assert good.cleaned_data["quarter"] == Quarter(2026, 3)
    for value in ("2025Q1", "2026Q9", "nonsense"):
        bad = Picker({"quarter": value})
        assert not bad.is_valid()
        assert "quarter" in bad.errors
    assert '<option value="2026Q4">2026Q4 · running</option>' in str(Picker()["quarter"])


def test_quarters_around_today_are_newest_first_with_the_current_one_marked(settings):
    from satisfaction.forms import quarter_choices_around

    choices = quarter_choices_around(before=1, after=2, extra=[Quarter(2020, 1)])
    current = Quarter.current()
    assert [q for q, _label in choices] == [current.next().next(), current.next(), current,
                                            current.previous(), Quarter(2020, 1)]
    assert dict(choices)[current] != str(current)
