// The dashboard's charts: plotly.js (served from the installed plotly wheel) over /api.
// Each page polls the API with the ETags it was given and redraws when a new round lands.
"use strict";
const tracker = (() => {
  const poll = () => 1000 * Number(document.body.dataset.poll || 30);
  const tags = new Map();  // url -> last ETag

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    const tag = response.headers.get("ETag");
    const changed = tags.has(url) && tags.get(url) !== tag;
    tags.set(url, tag);
    return { body: await response.json(), changed };
  }

  // Unix seconds (or an ISO time) as plotly's UTC date text.
  const plotTime = (t) => (typeof t === "number" ? new Date(t * 1000).toISOString() : t)
    .replace("T", " ").replace("Z", "");

  function reloadOnChange(urls) {
    urls.forEach((url) => getJSON(url).catch(() => {}));
    setInterval(async () => {
      for (const url of urls) {
        try {
          if ((await getJSON(url)).changed) { location.reload(); return; }
        } catch (e) { /* the next poll tries again */ }
      }
    }, poll());
  }

  // A point leaves out the fields equal to their defaults (API 2): `period` and `day` absent
  // read as null (falsy), the flags as false; `value` is always there (null: "not in chart").
  // The points that have a value: those a trace draws.
  const drawn = (points) => points.filter((p) => p.value !== null);
  const drawnCount = (traces) => traces.reduce((n, t) => n + t.y.filter((v) => v !== null).length, 0);

  // Events, and weeks "not in chart", more than this far from the drawn values are left off:
  // they would squash the chart (a listing published for a year before a show came out).
  const EVENT_REACH = 45 * 86400 * 1000;

  // The points to plot: every value, and the weeks "not in chart" within EVENT_REACH of one.
  function nearValues(points) {
    const times = drawn(points).map((p) => p.ts);
    if (!times.length) return points;
    const reach = EVENT_REACH / 1000;
    const lo = Math.min(...times) - reach;
    const hi = Math.max(...times) + reach;
    return points.filter((p) => p.value !== null || (p.ts >= lo && p.ts <= hi));
  }

  async function seriesTraces(chart) {
    let changed = false;
    const traces = [];
    const spans = [];
    for (const s of chart.series) {
      const got = await getJSON(`/api/series/${s.id}/points?limit=100000`);
      changed = changed || got.changed;
      const points = nearValues(got.body.points);
      // A week "not in chart" has no value (null): a gap in the line, never a drawn rank.
      traces.push({
        type: "scatter", mode: "lines+markers", meta: "series", name: s.name,
        x: points.map((p) => plotTime(p.ts)), y: points.map((p) => p.value),
        connectgaps: false, marker: { size: 5 },
      });
      if (!spans.length) {
        drawn(points).filter((p) => p.period).slice(-200).forEach((p) => spans.push({
          type: "rect", xref: "x", yref: "paper", layer: "below",
          line: { width: 1, color: "#fff" }, fillcolor: "rgba(120,144,156,0.07)", y0: 0, y1: 1,
          x0: plotTime(p.ts), x1: plotTime(p.ts + p.period),
        }));
      }
    }
    return { traces, spans, changed };
  }

  function nearData(traces, events) {
    const times = traces.flatMap((t) => t.x.filter((_, i) => t.y[i] !== null)
      .map((x) => Date.parse(x.replace(" ", "T") + "Z")));
    if (!times.length) return events;
    const lo = Math.min(...times) - EVENT_REACH;
    const hi = Math.max(...times) + EVENT_REACH;
    return events.filter((e) => { const t = Date.parse(e.date); return t >= lo && t <= hi; });
  }

  function referenceShapes(chart, events) {
    const shapes = [];
    const notes = [];
    for (const b of chart.baselines) {
      shapes.push({
        type: "line", name: `baseline ${b.name}`, xref: "paper", x0: 0, x1: 1,
        y0: b.value, y1: b.value, line: { color: "#e65100", dash: "dash", width: 2 },
      });
      notes.push({ xref: "paper", x: 0, y: b.value, xanchor: "left", yanchor: "bottom",
        text: `baseline ${b.name}: ${b.value.toLocaleString()}`, showarrow: false,
        font: { color: "#e65100", size: 11 } });
    }
    for (const e of events) {
      shapes.push({
        type: "line", name: `event ${e.name}`, yref: "paper", y0: 0, y1: 1,
        x0: e.date, x1: e.date, line: { color: "#546e7a", dash: "dot", width: 1 },
      });
      notes.push({ yref: "paper", x: e.date, y: 1, yanchor: "bottom", text: e.name,
        showarrow: false, font: { color: "#546e7a", size: 11 } });
    }
    return { shapes, notes };
  }

  async function drawChart(el, events) {
    const chart = JSON.parse(el.dataset.chart);
    const { traces, spans, changed } = await seriesTraces(chart);
    if (chart.claims.length) {
      traces.push({
        type: "scatter", mode: "markers+text", meta: "claim", name: "claims",
        x: chart.claims.map((c) => plotTime(c.at)), y: chart.claims.map((c) => c.value),
        text: chart.claims.map((c) => c.name), textposition: "top center",
        marker: { symbol: "star", size: 14, color: "#6a1b9a" },
      });
    }
    const refs = referenceShapes(chart, nearData(traces.filter((t) => t.meta === "series"), events));
    const layout = {
      margin: { t: 30, r: 20, b: 40, l: 70 },
      xaxis: { type: "date" },
      yaxis: { title: chart.metric, autorange: chart.metric.endsWith("rank") ? "reversed" : true },
      shapes: [...spans, ...refs.shapes], annotations: refs.notes, showlegend: true,
      legend: { orientation: "h" },
    };
    await Plotly.react(el, traces, layout, { displaylogo: false, responsive: true });
    el.dataset.drawn = String(drawnCount(traces.filter((t) => t.meta === "series")));
    return changed;
  }

  function subjectPage(events) {
    const charts = [...document.querySelectorAll(".plot[data-chart]")];
    charts.forEach((el) => drawChart(el, events).catch((e) => { el.textContent = String(e); }));
    setInterval(() => charts.forEach((el) => drawChart(el, events).catch(() => {})), poll());
  }

  // One axis for several series: logarithmic when their values span over 100x.
  function scale(traces, series) {
    const values = traces.flatMap((t) => t.y).filter((v) => v !== null && v > 0);
    const wide = values.length && Math.max(...values) > 100 * Math.min(...values);
    const ranks = series.length && series.every((s) => s.metric.endsWith("rank"));
    return { type: wide ? "log" : "linear", title: wide ? "value (log)" : "value",
      autorange: ranks ? "reversed" : true };
  }

  async function drawOverlay(series, event, fromDay, toDay) {
    const el = document.getElementById("overlay");
    const traces = [];
    const differ = (s) => Object.entries(s.labels)
      .filter(([k, v]) => series.some((o) => o.labels[k] !== v)).map(([k, v]) => `${k}=${v}`);
    for (const s of series) {
      const url = `/api/series/${s.id}/points?limit=100000&relative_to=` +
        `${encodeURIComponent(event.name)}&from_day=${fromDay}&to_day=${toDay}&every=1d`;
      const points = (await getJSON(url)).body.points;
      traces.push({
        type: "scatter", mode: "lines+markers", meta: "series",
        name: [s.subject, "·", s.platform, s.metric, ...differ(s)].join(" "),
        x: points.map((p) => p.day), y: points.map((p) => p.value), connectgaps: false,
        marker: { size: 5 },
      });
    }
    const layout = {
      margin: { t: 30, r: 20, b: 40, l: 70 },
      xaxis: { title: `day since ${event.name}`, range: [fromDay, toDay], zeroline: false },
      yaxis: scale(traces, series),
      shapes: [{ type: "line", name: `event ${event.name}`, yref: "paper", y0: 0, y1: 1,
        x0: 0, x1: 0, line: { color: "#546e7a", dash: "dot" } }],
      legend: { orientation: "h" },
    };
    await Plotly.react(el, traces, layout, { displaylogo: false, responsive: true });
    el.dataset.drawn = String(drawnCount(traces));
  }

  function overlayPage(series, event, fromDay, toDay) {
    const draw = () => drawOverlay(series, event, fromDay, toDay).catch((e) => {
      document.getElementById("overlay").textContent = String(e);
    });
    draw();
    setInterval(draw, poll());
  }

  return { reloadOnChange, subjectPage, overlayPage };
})();
