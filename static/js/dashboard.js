// Operator dashboard: fetch the data document and update the charts in place (no page reload).
(function () {
  "use strict";
  const root = document.getElementById("ops");
  if (!root || !window.Chart) return;
  const palette = ["#ff4f7b", "#4fc3ff", "#ffd24f", "#7bff4f", "#b44fff", "#ff9a4f", "#4fffd2", "#a0a0ad"];
  const stateColours = { queued: "#a0a0ad", rendering: "#4fc3ff", encoding: "#b44fff", uploading: "#ffd24f",
                         ready: "#7bff4f", failed: "#ff4f7b", cancelled: "#666" };
  Chart.defaults.color = "#c8c8d0";
  Chart.defaults.borderColor = "#2a2a35";
  const charts = {};

  function chart(id, config) {
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update("none");
    } else {
      charts[id] = new Chart(document.getElementById(id), Object.assign({ options: {} }, config));
    }
    document.getElementById(id).dataset.points = String(config.data.datasets.reduce(function (n, d) { return n + d.data.length; }, 0));
  }

  function short(iso) { return iso ? iso.slice(5, 13).replace("T", " ") + "h" : ""; }

  function dl(id, pairs) {
    const el = document.getElementById(id);
    el.replaceChildren();
    pairs.forEach(function (p) {
      const dt = document.createElement("dt"); dt.textContent = p[0];
      const dd = document.createElement("dd"); dd.textContent = p[1] === null || p[1] === undefined ? "–" : String(p[1]);
      el.append(dt, dd);
    });
  }

  function draw(data) {
    const hours = Object.keys(data.jobs.by_hour).sort();
    const states = Object.keys(stateColours);
    chart("chart-jobs", { type: "bar", data: { labels: hours.map(short), datasets: states.map(function (s) {
      return { label: s, backgroundColor: stateColours[s], data: hours.map(function (h) { return data.jobs.by_hour[h][s] || 0; }) };
    }) }, options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });

    const days = data.jobs.daily;
    chart("chart-gpu", { type: "bar", data: { labels: days.map(function (d) { return d.day.slice(0, 10); }), datasets: [
      { label: "GPU-seconds", backgroundColor: "#4fc3ff", data: days.map(function (d) { return d.gpu_seconds; }), yAxisID: "y" },
      { label: "failure rate", type: "line", borderColor: "#ff4f7b", data: days.map(function (d) { return d.failure_rate; }), yAxisID: "y1" },
    ] }, options: { scales: { y: { beginAtZero: true }, y1: { position: "right", min: 0, max: 1 } } } });

    const eng = data.engagement;
    chart("chart-engagement", { type: "line", data: { labels: eng.map(function (d) { return d.day.slice(0, 10); }), datasets: [
      { label: "like rate", borderColor: "#ff4f7b", data: eng.map(function (d) { return d.like_rate; }) },
      { label: "skip rate", borderColor: "#ffd24f", data: eng.map(function (d) { return d.skip_rate; }) },
      { label: "watch fraction", borderColor: "#7bff4f", data: eng.map(function (d) { return d.watch_fraction; }) },
    ] }, options: { scales: { y: { min: 0, max: 1 } } } });

    const map = data.taste_map;
    const groups = map.clusters.map(function (c, i) {
      return { label: c.label + " (" + c.size + ")", backgroundColor: palette[i % palette.length], pointRadius: 2,
               data: map.points.filter(function (p) { return p.c === i; }).map(function (p) { return { x: p.x, y: p.y }; }) };
    });
    chart("chart-taste", { type: "scatter", data: { datasets: groups }, options: { plugins: { legend: { position: "right" } } } });

    const totals = data.totals;
    const tiles = document.getElementById("tiles");
    tiles.replaceChildren();
    [["Viewers", totals.viewers], ["Videos", totals.videos], ["Renders ready", totals.renders_ready],
     ["Render p50 s", data.jobs.render_seconds.p50], ["Render p95 s", data.jobs.render_seconds.p95]].forEach(function (t) {
      const tile = document.createElement("div"); tile.className = "tile";
      const v = document.createElement("strong"); v.textContent = t[1] === null ? "–" : String(t[1]);
      const l = document.createElement("span"); l.textContent = t[0];
      tile.append(v, l); tiles.append(tile);
    });
    const broker = data.jobs.queue_depth.broker;
    dl("queue", [["queued jobs", data.jobs.queue_depth.queued_jobs]].concat(Object.keys(broker).map(function (q) { return ["broker " + q, broker[q]]; })));
    dl("index", [["items in index", data.index.items.in_index + " / " + data.index.items.in_database + " (" + data.index.items.kind + ")"],
                 ["interests in index", data.index.interests.in_index + " / " + data.index.interests.in_database]]);
    dl("fidelity", [["mean cosine", data.fidelity.mean], ["interests served", data.fidelity.interests], ["renders", data.fidelity.renders]]);
    dl("fleet", data.fleet.length ? data.fleet.map(function (w) {
      return [w.name, (w.warm.length ? w.warm.join(", ") : "any model") + (w.busy ? " · rendering" : " · idle") + " · " + w.jobs_done + " jobs"];
    }) : [["live workers", 0]]);
    const body = document.getElementById("blocks");
    body.replaceChildren();
    data.safety.forEach(function (b) {
      const tr = document.createElement("tr");
      [b.at.slice(0, 19).replace("T", " "), b.kind, b.category, b.reason].forEach(function (v) {
        const td = document.createElement("td"); td.textContent = v; tr.append(td);
      });
      body.append(tr);
    });
    const ab = data.bandit.ab;
    function abLine(x) { return x.pieces + " pieces · " + x.impressions + " shown · like rate " + (x.like_rate === null ? "–" : x.like_rate); }
    dl("bandit-ab", [["learning planner", abLine(ab.bandit)], ["holdout (old planner, " + Math.round(100 * ab.holdout_share) + "%)", abLine(ab.holdout)],
                     ["lift", ab.lift === null ? "–" : ab.lift + "×"]]);
    const arms = document.getElementById("bandit");
    arms.replaceChildren();
    data.bandit.clusters.forEach(function (c) {
      const tr = document.createElement("tr");
      const best = Object.keys(c.arms).map(function (d) {
        return d + ": " + c.arms[d].map(function (a) { return a.arm + " " + a.mean + " · " + a.impressions; }).join(", ");
      }).filter(function (line) { return !/: $/.test(line); }).join(" | ");
      [c.context, String(c.pieces), best || "–"].forEach(function (v) {
        const td = document.createElement("td"); td.textContent = v; tr.append(td);
      });
      arms.append(tr);
    });
    document.getElementById("ops-updated").textContent = new Date(data.generated_at).toLocaleTimeString();
    root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
  }

  function refresh() {
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(draw)
      .catch(function () {})
      .finally(function () { setTimeout(refresh, Number(root.dataset.refreshMs) || 10000); });
  }
  refresh();
})();
