// The measures' charts (uPlot): one per measure, dates on x, the unit on y, the normal range as
// a band. Enhancement only: the values are listed on the page without JavaScript.
(function () {
  var source = document.getElementById("measures-data");
  if (!source || typeof uPlot === "undefined") { return; }
  var lang = document.documentElement.lang === "en" ? "en-GB" : "fr-FR";
  var plots = [];

  // Dates as the reader writes them: day and month over a short span, month and year over years.
  function ticks(u, splits) {
    var span = u.scales.x.max - u.scales.x.min;
    var format = span > 400 * 86400 ? { month: "short", year: "numeric" }
      : span > 3 * 86400 ? { day: "2-digit", month: "2-digit" }
      : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" };
    return splits.map(function (t) { return new Date(t * 1000).toLocaleString(lang, format); });
  }

  function when(u, t) {
    return t === null || t === undefined ? "–" : new Date(t * 1000).toLocaleString(lang, {
      day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function band(low, high) {
    return function (u) {
      if (low === null || high === null) { return; }
      var top = u.valToPos(high, "y", true), bottom = u.valToPos(low, "y", true);
      u.ctx.save();
      u.ctx.fillStyle = "rgba(24, 117, 60, 0.12)";
      u.ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
      u.ctx.restore();
    };
  }

  function range(low, high) {
    return function (u, min, max) {
      if (low !== null) { min = Math.min(min, low); }
      if (high !== null) { max = Math.max(max, high); }
      var pad = (max - min) * 0.08 || 1;
      return [min - pad, max + pad];
    };
  }

  function width(box) { return Math.max(240, Math.floor(box.getBoundingClientRect().width)); }

  JSON.parse(source.textContent).forEach(function (s) {
    var box = document.querySelector('.chart[data-key="' + s.key + '"]');
    if (!box) { return; }
    var lines = [{ label: "Date", value: when }, { label: s.label + " (" + s.unit + ")", stroke: "#000091", width: 2, points: { show: s.x.length < 60 } }];
    var data = [s.x, s.y];
    if (s.y2) {
      lines.push({ label: s.label2 + " (" + s.unit + ")", stroke: "#b34000", width: 2, points: { show: s.x.length < 60 } });
      data.push(s.y2);
    }
    var plot = new uPlot({
      width: width(box),
      height: 200,
      scales: { x: { time: true }, y: { range: range(s.low, s.high) } },
      axes: [{ size: 40, space: 80, values: ticks }, { label: s.unit, size: 56 }],
      series: lines,
      hooks: { drawClear: [band(s.low, s.high)] }
    }, data, box);
    box.setAttribute("data-rendered", String(s.x.length));
    plots.push([plot, box]);
  });

  window.addEventListener("resize", function () {
    plots.forEach(function (p) { p[0].setSize({ width: width(p[1]), height: 200 }); });
  });
})();
