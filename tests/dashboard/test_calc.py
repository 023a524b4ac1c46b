"""Pure computations of the dashboards, without a database."""

from __future__ import annotations

from dashboard import calc, charts


def test_an_action_outcome_compares_the_indicator_before_and_after():
    assert calc.action_outcome(baseline=60.0, after=65.0) == "improved"
    assert calc.action_outcome(baseline=60.0, after=60.5) == "unchanged"
    assert calc.action_outcome(baseline=60.0, after=55.0) == "worse"
    assert calc.action_outcome(baseline=None, after=55.0) == "no_data"


def test_the_histogram_lists_every_ten_point_bucket():
    buckets = calc.histogram({0: 1, 7: 4, 9: 2})
    assert len(buckets) == 10
    assert buckets[0] == ("0–10", 1)
    assert buckets[5] == ("50–60", 0)
    assert buckets[9] == ("90–100", 2)


def test_region_means_average_the_stores_that_have_the_indicator():
    rows = [(1, {"price": [10, 60.0], "efficacy": [5, 80.0]}),
            (1, {"price": [12, 70.0]}),
            (2, {"price": [3, 40.0], "efficacy": [0, None]})]
    assert calc.region_means(rows) == {1: {"price": 65.0, "efficacy": 80.0},
                                       2: {"price": 40.0}}


def test_the_weakest_indicators_put_those_under_the_region_mean_first():
    store = {"price": 50.0, "efficacy": 55.0, "warm_service": 45.0, "assortment": 90.0}
    region = {"price": 40.0, "efficacy": 60.0, "warm_service": 50.0, "assortment": 95.0}
    # price is low but above its region; the three under their region come first, lowest first.
    assert calc.weakest(store, region) == ["warm_service", "efficacy", "assortment"]
    assert calc.weakest(store, {}, count=2) == ["warm_service", "price"]


def test_the_components_chart_draws_deductions_as_a_red_negative_bar():
    spec = charts.components_bar(labels=["survey", "scenario", "deductions"],
                                 values=[40.0, 35.5, -3.0])
    data = spec["series"][0]["data"]
    assert [d["value"] for d in data] == [40.0, 35.5, -3.0]
    assert data[2]["itemStyle"]["color"] == charts.BAD
    assert data[0]["itemStyle"]["color"] == charts.ACCENT


def test_the_trend_chart_leaves_gaps_for_quarters_without_values():
    spec = charts.trend_line(quarters=["2026Q1", "2026Q2"], values=[None, 71.234], name="v")
    assert spec["xAxis"]["data"] == ["2026Q1", "2026Q2"]
    assert spec["series"][0]["data"] == [None, 71.2]
    assert spec["yAxis"]["max"] == 100


def test_the_indicator_chart_puts_the_store_beside_its_region():
    spec = charts.indicator_bars(labels=["价格"], store=[61.04], region=[None],
                                 store_name="本店", region_name="区域平均")
    assert [s["name"] for s in spec["series"]] == ["本店", "区域平均"]
    assert spec["series"][0]["data"] == [61.0]
    assert spec["series"][1]["data"] == [None]


def test_the_gap_chart_colours_below_expectation_red():
    spec = charts.gap_bars(labels=["a", "b"], gaps=[5.0, -12.5])
    colours = [d["itemStyle"]["color"] for d in spec["series"][0]["data"]]
    assert colours == [charts.GOOD, charts.BAD]


def test_the_pareto_chart_has_a_cumulative_line_on_a_percent_axis():
    spec = charts.pareto_chart(labels=["a", "b"], counts=[3, 1], cumulative=[75.0, 100.0],
                               count_name="n", cumulative_name="cum")
    line = spec["series"][1]
    assert line["type"] == "line"
    assert line["yAxisIndex"] == 1
    assert spec["yAxis"][1]["max"] == 100


def test_grouped_bars_turn_axes_for_vertical_charts():
    spec = charts.grouped_bars(labels=["x"], series=[("a", [1.0]), ("b", [2.0])],
                               horizontal=False, max_value=100)
    assert spec["xAxis"]["type"] == "category"
    assert spec["yAxis"]["max"] == 100
    assert spec["legend"]["data"] == ["a", "b"]


def test_the_histogram_chart_has_one_bar_per_bucket():
    spec = charts.histogram_bar(buckets=calc.histogram({3: 2}), name="stores")
    assert spec["series"][0]["data"] == [0, 0, 0, 2, 0, 0, 0, 0, 0, 0]
