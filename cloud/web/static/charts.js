// Draws every <div class="chart"> from the JSON in its sibling <script id="<id>-data"> with uPlot
// (vendored from npm, served by us). Data shape:
//   {x: [...], xtype: "time" | "category", series: [{label, values: [...]}], unit: "..."}
// "time" x values are unix seconds; "category" x values are labels drawn at 0..n-1.
(function () {
  "use strict";
  var COLORS = ["#2456d6", "#1a7f46", "#c2410c", "#7c3aed", "#b42318", "#0e7490", "#a16207", "#4b5563"];

  function draw(el) {
    var raw = document.getElementById(el.id + "-data");
    if (!raw || typeof uPlot === "undefined") return;
    var spec = JSON.parse(raw.textContent);
    var kind = el.dataset.kind || "line";
    var cat = spec.xtype === "category";
    var xs = cat ? spec.x.map(function (_, i) { return i; }) : spec.x;
    if (!xs.length) {
      el.textContent = "no data yet";
      el.classList.add("muted");
      return;
    }
    var bars = kind === "bar" && uPlot.paths && uPlot.paths.bars;
    var series = [{}];
    spec.series.forEach(function (s, i) {
      var c = COLORS[i % COLORS.length];
      series.push({
        label: s.label, stroke: c, width: bars ? 0 : 2,
        fill: bars ? c + "cc" : (spec.series.length === 1 ? c + "22" : undefined),
        // Two series side by side (left/right of the tick); one series centred on it.
        paths: bars ? uPlot.paths.bars({size: [spec.series.length > 1 ? 0.38 : 0.7, 60],
                                        align: spec.series.length === 2 ? (i === 0 ? -1 : 1) : 0}) : undefined,
        points: {show: xs.length < 40},
        value: function (u, v) { return v == null ? "–" : (+v.toFixed(3)) + (spec.unit || ""); }
      });
    });
    var xAxis = {stroke: "#5c6577", grid: {stroke: "#eef0f4"}};
    if (cat) {
      xAxis.values = function (u, ticks) { return ticks.map(function (t) { return spec.x[t] == null ? "" : spec.x[t]; }); };
      xAxis.splits = function () { return xs; };
      xAxis.rotate = xs.length > 4 ? -35 : 0;
      xAxis.size = xs.length > 4 ? 70 : 40;
    }
    var opts = {
      width: Math.max(280, el.clientWidth),
      height: +(el.dataset.height || 240),
      title: el.dataset.title || undefined,
      scales: {x: {time: !cat, range: cat ? function () { return [-0.6, xs.length - 0.4]; } : undefined},
               y: {range: function (u, lo, hi) { return [Math.min(0, lo), hi > 0 ? hi * 1.1 : 1]; }}},
      axes: [xAxis, {stroke: "#5c6577", grid: {stroke: "#eef0f4"}, size: 56}],
      series: series,
      cursor: {drag: {x: false, y: false}},
      legend: {live: false}
    };
    var data = [xs].concat(spec.series.map(function (s) { return s.values; }));
    var plot = new uPlot(opts, data, el);
    el.dataset.drawn = "1";
    window.addEventListener("resize", function () { plot.setSize({width: Math.max(280, el.clientWidth), height: opts.height}); });
  }

  function drawAll() { document.querySelectorAll("div.chart").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll); else drawAll();
})();
