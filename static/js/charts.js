/* Charts from server-rendered specs, each beside a table the user can switch to.
 *
 * Markup (see templates/_chart.html):
 *   <figure class="chart-block" data-chart="ID">
 *     <div class="chart-toggle">[Chart] [Table] buttons</div>
 *     <div class="chart" id="chart-ID"></div>
 *     <div class="chart-table" hidden>...<table>...</div>
 *     <script type="application/json" id="spec-ID">{...ECharts option...}</script>
 *   </figure>
 * The option is built by the server (satisfaction/charts.py); this file only renders it,
 * resizes it with the window, and switches views. No network access, no CDN.
 */
(function () {
  "use strict";

  function render(block) {
    var id = block.getAttribute("data-chart");
    var specNode = document.getElementById("spec-" + id);
    var target = block.querySelector(".chart");
    if (!specNode || !target || typeof echarts === "undefined") { return null; }
    var option = JSON.parse(specNode.textContent);
    var chart = echarts.init(target, null, { renderer: "svg" });
    chart.setOption(option);
    target.setAttribute("data-rendered", "1");
    return chart;
  }

  function wireToggle(block, chart) {
    var buttons = block.querySelectorAll("[data-view]");
    var chartNode = block.querySelector(".chart");
    var tableNode = block.querySelector(".chart-table");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var showTable = button.getAttribute("data-view") === "table";
        chartNode.hidden = showTable;
        tableNode.hidden = !showTable;
        buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        if (!showTable && chart) { chart.resize(); }
      });
    });
  }

  function init() {
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (block) {
      var chart = render(block);
      if (chart) { charts.push(chart); }
      wireToggle(block, chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
