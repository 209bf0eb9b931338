// nasforge dashboard: polls the JSON API and redraws what changed. No framework, no CDN.
"use strict";

(function () {
  const POLL_MS = Number(new URLSearchParams(location.search).get("poll")) || 2000;
  const STATUS_COLORS = {
    complete: "#1f77b4", pruned: "#ff7f0e", failed: "#d62728", running: "#17becf",
    interrupted: "#9467bd",
  };
  const PLOT_CONFIG = { displaylogo: false, responsive: true };

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (Number.isInteger(v)) return String(v);
    return String(parseFloat(v.toPrecision(5)));
  }

  // One timestamp format everywhere: local time as YYYY-MM-DD HH:MM:SS. The API sends UTC ISO
  // strings ending in "Z"; a Date is formatted as is.
  function stamp(value) {
    if (value === null || value === undefined || value === "") return "–";
    const moment = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(moment.getTime())) return String(value);
    const two = (n) => String(n).padStart(2, "0");
    return `${moment.getFullYear()}-${two(moment.getMonth() + 1)}-${two(moment.getDate())} `
      + `${two(moment.getHours())}:${two(moment.getMinutes())}:${two(moment.getSeconds())}`;
  }

  // An axis of whole numbers (trial numbers, steps): integer ticks, every one when few, and a
  // range of at least 1 either side of a lone value instead of Plotly's ticks at -0.5.
  function integerAxis(title, values) {
    const axis = { title: { text: title }, tickformat: "d", zeroline: false };
    const finite = values.filter((v) => Number.isFinite(v));
    if (!finite.length) return axis;
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    if (hi - lo <= 10) axis.dtick = 1;
    if (hi - lo < 2) axis.range = [lo - 1, hi + 1];
    else axis.range = [lo - 0.02 * (hi - lo) - 0.3, hi + 0.02 * (hi - lo) + 0.3];
    return axis;
  }

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail; } catch (_) { /* not JSON */ }
      throw new Error(detail);
    }
    return response.json();
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node && node.textContent !== text) node.textContent = text;
  }

  function showError(message) {
    const node = document.getElementById("error");
    node.hidden = !message;
    node.textContent = message || "";
    document.getElementById("live").classList.toggle("stale", Boolean(message));
  }

  // Run fn now and every POLL_MS; one request at a time, errors shown but never fatal.
  function poll(fn) {
    const tick = async () => {
      try { await fn(); showError(""); } catch (err) { showError(err.message); }
      setTimeout(tick, POLL_MS);
    };
    tick();
  }

  function plot(id, traces, layout) {
    const node = document.getElementById(id);
    if (!window.Plotly) { node.textContent = "Plotly is not available"; return; }
    node.querySelectorAll(":scope > p.muted").forEach((note) => note.remove());
    const base = {
      margin: { l: 55, r: 15, t: 30, b: 45 }, font: { size: 11 },
      legend: { orientation: "h", y: -0.22 }, hovermode: "closest",
      xaxis: {}, yaxis: {},
    };
    const merged = Object.assign(base, layout);
    // no zero line on any axis: at trial 0 or step 0 it reads as a stray axis of its own
    for (const key of Object.keys(merged)) {
      if (/^[xy]axis\d*$/.test(key)) merged[key] = Object.assign({ zeroline: false }, merged[key]);
    }
    window.Plotly.react(node, traces, merged, PLOT_CONFIG);
  }

  // ---- the list of experiments --------------------------------------------------------------

  let shownIndex = null;

  async function indexTick() {
    const rows = await getJSON("/api/experiments");
    const signature = JSON.stringify(rows);
    if (signature === shownIndex) return; // redraw only on change: links stay clickable
    shownIndex = signature;
    const body = document.querySelector("#experiments tbody");
    body.replaceChildren(...rows.map((r) => {
      const counts = Object.entries(r.counts).filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`).join(", ");
      const objectives = Object.entries(r.objectives).map(([m, d]) => `${m} (${d})`).join(", ");
      const link = el("a", { href: `/experiments/${encodeURIComponent(r.name)}` }, r.name);
      return el("tr", { className: "experiment-row" },
        el("td", {}, link), el("td", {}, objectives),
        el("td", { className: "num trials" }, r.n_trials), el("td", {}, counts || "–"),
        el("td", { className: "num best" }, fmt(r.best && r.best.value)),
        el("td", { className: "num" }, r.best ? r.best.number : "–"),
        el("td", { className: "created" }, stamp(r.created_at)));
    }));
    document.getElementById("empty").hidden = rows.length > 0;
  }

  // ---- one experiment -----------------------------------------------------------------------
  // The summary (counts, best, revision) is polled; the other views are fetched only when its
  // revision changes. The table is read a page at a time, sorted and filtered by the server;
  // the history keeps a point per finished trial and asks only for what changed since.

  const params = new URLSearchParams(location.search);
  const state = {
    revision: null, summary: null, shownTrial: null,
    sortKey: "number", sortDir: 1, offset: 0,
    pageSize: Math.max(1, Number(params.get("page_size")) || 50),
    total: 0, rows: [], tableTicket: 0, metricNames: new Set(),
    history: new Map(), cursor: null, reportId: null, epochs: 0,
  };

  function experimentName() {
    const prefix = "/experiments/";
    return decodeURIComponent(location.pathname.slice(location.pathname.indexOf(prefix) + prefix.length));
  }

  function api(path) {
    return `/api/experiments/${encodeURIComponent(experimentName())}${path}`;
  }

  function updateCards(s) {
    setText("exp-name", s.name);
    setText("crumb-name", s.name);
    document.title = `${s.name} · nasforge`;
    const objectives = Object.entries(s.objectives).map(([m, d]) => `${m} (${d})`).join(", ");
    const spec = s.spec || {};
    setText("exp-info", `objectives: ${objectives} · space: ${spec.space || "?"} · strategy: `
      + `${spec.strategy || "?"} · seed ${spec.seed ?? "?"} · created ${stamp(s.created_at)}`);
    setText("trial-count", String(s.n_trials));
    for (const status of ["complete", "running", "pruned", "failed"]) {
      setText(`count-${status}`, String(s.counts[status] || 0));
    }
    setText("best-metric", `${s.metric} (${s.direction})`);
    setText("best-value", fmt(s.best && s.best.value));
    setText("best-trial", s.best ? String(s.best.number) : "–");
    setText("updated", stamp(new Date()));
  }

  // The history: merge the changed points, then the best so far by number and over time.
  async function loadHistory() {
    const since = state.cursor ? `?since=${encodeURIComponent(state.cursor)}` : "";
    const h = await getJSON(api(`/history${since}`));
    if (h.full) state.history = new Map();
    for (const n of h.changed) state.history.delete(n);
    h.number.forEach((n, i) => state.history.set(n,
      { status: h.status[i], value: h.value[i], elapsed: h.elapsed_s[i] }));
    state.cursor = h.cursor;
  }

  function historySeries(direction) {
    const sign = direction === "min" ? -1 : 1;
    const numbers = [...state.history.keys()].sort((a, b) => a - b);
    const h = { number: numbers, status: [], value: [], best: [], elapsed_s: [] };
    let best = null;
    for (const n of numbers) {
      const p = state.history.get(n);
      if (p.status === "complete" && p.value !== null && (best === null || sign * p.value > sign * best)) {
        best = p.value;
      }
      h.status.push(p.status); h.value.push(p.value); h.best.push(best); h.elapsed_s.push(p.elapsed);
    }
    const timed = numbers.map((n) => state.history.get(n))
      .filter((p) => p.status === "complete" && p.elapsed !== null)
      .sort((a, b) => a.elapsed - b.elapsed);
    const overTime = { elapsed_s: [], best: [] };
    best = null;
    for (const p of timed) {
      if (p.value !== null && (best === null || sign * p.value > sign * best)) best = p.value;
      if (best !== null) { overTime.elapsed_s.push(p.elapsed); overTime.best.push(best); }
    }
    return [h, overTime];
  }

  function historyPlots(s) {
    const [h, overTime] = historySeries(s.direction);
    let floor = Infinity;
    for (const v of h.value) if (v !== null && v < floor) floor = v;
    if (floor === Infinity) floor = 0;
    const byStatus = (xs) => ["complete", "pruned", "failed"].map((status) => {
      const idx = h.status.map((st, i) => (st === status ? i : -1)).filter((i) => i >= 0);
      return {
        type: h.number.length > 5000 ? "scattergl" : "scatter", mode: "markers",
        name: `${status} (${idx.length})`,
        x: idx.map((i) => xs[i]), y: idx.map((i) => (h.value[i] === null ? floor : h.value[i])),
        text: idx.map((i) => `trial ${h.number[i]}`),
        marker: { color: STATUS_COLORS[status], symbol: { complete: "circle", pruned: "x", failed: "triangle-down" }[status], size: 7 },
      };
    });
    const bestIdx = h.best.map((b, i) => (b === null ? -1 : i)).filter((i) => i >= 0);
    const bestLine = {
      type: "scatter", mode: "lines", name: "best so far", line: { shape: "hv", color: "black" },
      x: bestIdx.map((i) => h.number[i]), y: bestIdx.map((i) => h.best[i]),
    };
    plot("plot-history", [...byStatus(h.number), bestLine],
      { xaxis: integerAxis("trial number", h.number), yaxis: { title: { text: s.metric } } });
    const timed = {
      type: "scatter", mode: "lines", name: "best so far", line: { shape: "hv", color: "black" },
      x: overTime.elapsed_s, y: overTime.best,
    };
    plot("plot-history-time", [...byStatus(h.elapsed_s), timed],
      { xaxis: { title: { text: "seconds since the first trial started" } }, yaxis: { title: { text: s.metric } } });
  }

  function curvesPlot(data) {
    const seen = new Set();
    const traces = data.curves.map((c) => {
      const best = c.number === data.best_number;
      const group = best ? "best" : c.status;
      const trace = {
        type: "scatter", mode: "lines", x: c.steps, y: c.values, name: best ? `best (trial ${c.number})` : c.status,
        legendgroup: group, showlegend: !seen.has(group), text: `trial ${c.number}`,
        line: {
          color: best ? "black" : (STATUS_COLORS[c.status] || "grey"), width: best ? 3 : 1,
          dash: c.status === "pruned" ? "dash" : "solid",
        },
        opacity: best ? 1 : 0.6,
      };
      seen.add(group);
      return trace;
    });
    const node = document.getElementById("plot-curves");
    node.classList.toggle("empty", !traces.length);
    setText("curves-note", data.n_trials > data.limit ? `the latest ${data.limit} of ${data.n_trials} trials and the best` : "");
    if (!traces.length) {
      if (window.Plotly) window.Plotly.purge(node);
      node.replaceChildren(el("p", { className: "muted" },
        "No trial reported intermediate values (an evaluator reports them with ctx.report)."));
      return;
    }
    plot("plot-curves", traces,
      { xaxis: integerAxis("step (epoch)", data.curves.flatMap((c) => c.steps)),
        yaxis: { title: { text: data.metric } } });
  }

  function opsPlot(data) {
    const ops = [...new Set(data.dimensions.flatMap((d) => Object.keys(data.counts[d])))].sort();
    const traces = ops.map((op) => ({
      type: "bar", name: op, x: data.labels, y: data.dimensions.map((d) => data.counts[d][op] || 0),
    }));
    plot("plot-ops", traces, {
      barmode: "stack", yaxis: { title: { text: `count among the top ${data.top_k}` } },
      xaxis: { title: { text: "edge (from→to)" } },
    });
  }

  // The front of the first two objectives (dominated trials grey, the front as the staircase
  // it dominates) and the hypervolume of the front of every objective after each trial.
  function paretoPlot(p, hv, s) {
    const panel = document.getElementById("pareto-panel");
    panel.hidden = !p;
    if (!p) return;
    const at = new Map(p.numbers.map((n, i) => [n, i]));
    const onFront = new Set(p.front);
    const dominated = p.numbers.map((n, i) => (onFront.has(n) ? -1 : i)).filter((i) => i >= 0);
    // sorted by x: each step takes the y of the point covering it, the one on its right when x
    // is maximised (vertical first), on its left when minimised (horizontal first)
    const shape = s.objectives[p.x_metric] === "max" ? "vh" : "hv";
    plot("plot-pareto", [
      { type: p.x.length > 5000 ? "scattergl" : "scatter", mode: "markers",
        name: `dominated (${dominated.length})`, x: dominated.map((i) => p.x[i]),
        y: dominated.map((i) => p.y[i]), text: dominated.map((i) => `trial ${p.numbers[i]}`),
        marker: { color: "#b8b8b8" } },
      { type: "scatter", mode: "lines+markers", name: `Pareto front (${p.front.length})`,
        x: p.front.map((n) => p.x[at.get(n)]), y: p.front.map((n) => p.y[at.get(n)]),
        text: p.front.map((n) => `trial ${n}`), line: { shape, color: "#d62728" },
        marker: { color: "#d62728", size: 9 } },
    ], {
      xaxis: { title: { text: `${p.x_metric} (${s.objectives[p.x_metric]})` } },
      yaxis: { title: { text: `${p.y_metric} (${s.objectives[p.y_metric]})` } },
    });
    setText("hypervolume-value", `· hypervolume ${fmt(hv.hypervolume)}`);
    setText("hypervolume-setting", hv.setting ? hv.setting.statement : "no complete trial yet");
    const h = hv.history;
    const timed = h.elapsed_s.length > 0;
    plot("plot-hypervolume", [{
      type: "scatter", mode: "lines+markers", name: "hypervolume of the front",
      x: timed ? h.elapsed_s : h.number, y: timed ? h.hypervolume_by_time : h.hypervolume,
      text: (timed ? h.number_by_time : h.number).map((n) => `after trial ${n}`),
      line: { shape: "hv", color: "black" }, marker: { color: "#1f77b4", size: 5 },
    }], {
      xaxis: timed ? { title: { text: "seconds since the first trial started" } }
        : integerAxis("trial number", h.number),
      yaxis: { title: { text: hv.setting && hv.setting.normalised ? "normalised hypervolume" : "hypervolume" } },
      showlegend: false,
    });
  }

  function bestCell(s) {
    const node = document.getElementById("best-cell");
    const svg = s.best_cell_svg || "<p class='muted'>no complete cell trial yet</p>";
    if (node.dataset.shown === svg) return; // polled every few seconds: redraw on change only
    node.dataset.shown = svg;
    // The SVG is generated by the server from the stored arch, with every op name escaped.
    node.innerHTML = svg;
    setText("best-arch", s.best ? s.best.arch : "");
  }

  // The honesty report of a one-shot search: archs trained alone beside the supernet's estimates.
  function reportPanel(r) {
    document.getElementById("report-panel").hidden = !r;
    if (!r) return;
    setText("report-method", `${r.method} · derived ${r.derived}`);
    const warning = document.getElementById("report-warning");
    warning.hidden = !r.warning;
    warning.textContent = r.warning ? `warning: ${r.warning}` : "";
    setText("report-agreement", r.kendall_tau === null || r.spearman_rho === null
      ? `rank agreement: not measurable (${r.compared} architectures with both values; it needs 3 and values that differ)`
      : `rank agreement over ${r.compared} architectures: Kendall's tau ${fmt(r.kendall_tau)}`
        + (r.kendall_p === null || r.kendall_p === undefined ? ""
          : ` (p = ${Number(r.kendall_p.toPrecision(2))}${r.kendall_p >= 0.05 ? "; within chance" : ""})`)
        + `, Spearman's rho ${fmt(r.spearman_rho)}`);
    const ops = Object.entries(r.histogram).map(([op, n]) => `${op} ${n}`).join(", ") || "none";
    setText("report-ops", `operations of the derived architecture: ${ops} `
      + `(${Math.round(100 * r.parameter_free_share)}% parameter-free)`);
    const settings = Object.entries(r.settings)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
    setText("report-settings", settings ? `settings: ${settings}` : "");
    const cols = ["trial", "role", `supernet ${r.metric}`, `standalone ${r.metric}`, r.test_metric, "arch"];
    document.querySelector("#report-table thead tr").replaceChildren(...cols.map((c, i) =>
      el("th", { className: i === 1 || i === 5 ? "" : "num" }, c)));
    document.querySelector("#report-table tbody").replaceChildren(...r.rows.map((row) => el("tr", {
      className: `report-row trial-row${row.role === "derived" ? " derived" : ""}`,
      title: row.error || "",
      onclick: () => { if (row.trial !== null) showTrial(row.trial); },
    },
      el("td", { className: "num" }, row.trial === null ? "–" : row.trial),
      el("td", {}, row.role),
      el("td", { className: "num" }, fmt(row.supernet_val_acc)),
      el("td", { className: "num" }, row.error ? "failed" : fmt(row.standalone_val_acc)),
      el("td", { className: "num" }, fmt(row.standalone_test_acc)),
      el("td", { className: "arch-cell" }, row.arch))));
  }

  // How a one-shot search's architecture weights evolved: a panel per choice with a line per
  // candidate, or (many choices) the last epoch as a heatmap beside each choice's strongest weight.
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];

  function weightsPanel(w) {
    document.getElementById("weights-panel").hidden = !w;
    if (!w) return;
    setText("weights-caption", w.caption);
    setText("weights-derived", w.derived[w.derived.length - 1]);
    const node = document.getElementById("plot-weights");
    if (w.layout === "panels") weightPanels(w, node); else weightHeatmap(w, node);
  }

  function present(epochs, values) {
    const idx = values.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0);
    return { x: idx.map((i) => epochs[i]), y: idx.map((i) => values[i]) };
  }

  function weightPanels(w, node) {
    const columns = Math.min(4, w.labels.length);
    const rows = Math.ceil(w.labels.length / columns);
    node.style.height = `${170 * rows + 90}px`;
    const color = new Map(w.candidates.map((c, i) => [c, PALETTE[i % PALETTE.length]]));
    const traces = [];
    const layout = {
      grid: { rows, columns, pattern: "independent", ygap: 0.35 }, annotations: [],
      margin: { l: 50, r: 15, t: 25, b: 40 }, showlegend: true,
    };
    w.labels.forEach((label, k) => {
      const axis = k === 0 ? "" : String(k + 1);
      for (const candidate of Object.keys(w.weights[label])) {
        traces.push(Object.assign(present(w.epochs, w.weights[label][candidate]), {
          type: "scatter", mode: "lines+markers", name: candidate, legendgroup: candidate,
          showlegend: !traces.some((t) => t.name === candidate),
          xaxis: `x${axis}`, yaxis: `y${axis}`, text: `${w.names[k]}: ${candidate}`,
          line: { color: color.get(candidate), width: 1.5 }, marker: { size: 4 },
        }));
      }
      layout[`xaxis${axis}`] = {
        dtick: w.epochs.length <= 12 ? 1 : undefined,
        title: { text: k >= w.labels.length - columns ? "epoch" : "" },
      };
      layout[`yaxis${axis}`] = {
        matches: k === 0 ? undefined : "y", title: { text: k % columns === 0 ? "probability" : "" },
      };
      layout.annotations.push({
        text: w.names[k], showarrow: false, font: { size: 11 },
        xref: `x${axis} domain`, yref: `y${axis} domain`, x: 0.5, y: 1, yanchor: "bottom",
      });
    });
    plot("plot-weights", traces, layout);
  }

  function weightHeatmap(w, node) {
    node.style.height = `${Math.max(320, 16 * w.labels.length + 110)}px`;
    const heat = {
      type: "heatmap", x: w.candidates, y: w.names, zmin: 0, colorscale: "Viridis",
      z: w.labels.map((label) => w.candidates.map((c) => (w.final[label][c] ?? null))),
      colorbar: { x: 0.46, len: 0.9, title: { text: "probability" } }, xaxis: "x", yaxis: "y",
    };
    const lines = w.labels.map((label, k) => Object.assign(present(w.epochs, w.strongest[label]), {
      type: "scatter", mode: "lines", name: w.names[k], showlegend: false, opacity: 0.35,
      line: { color: "#1f77b4", width: 1 }, xaxis: "x2", yaxis: "y2",
    }));
    const mean = { x: [], y: [] };
    w.epochs.forEach((epoch, i) => {
      const values = w.labels.map((label) => w.strongest[label][i]).filter((v) => v !== null);
      if (values.length) { mean.x.push(epoch); mean.y.push(values.reduce((a, b) => a + b) / values.length); }
    });
    lines.push(Object.assign(mean, {
      type: "scatter", mode: "lines", name: "mean over choices", line: { color: "black", width: 2.5 },
      xaxis: "x2", yaxis: "y2",
    }));
    plot("plot-weights", [heat, ...lines], {
      grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.2 },
      yaxis: { autorange: "reversed", automargin: true },
      xaxis: { title: { text: `candidates at epoch ${w.epochs[w.epochs.length - 1]}` } },
      xaxis2: { title: { text: "epoch" } },
      yaxis2: { title: { text: "probability of the strongest candidate" } },
      legend: { orientation: "h", y: -0.12 },
    });
  }

  // The table's columns: every objective, then the other numeric metrics the trials seen so far
  // reported (by name, at most MAX_EXTRA_METRICS: a wide table is unreadable), then the rest.
  const MAX_EXTRA_METRICS = 6;

  function columns() {
    const s = state.summary;
    const cols = [{ key: "number", label: "#", num: true }, { key: "status", label: "status" }];
    for (const m of Object.keys(s.objectives)) cols.push({ key: `m:${m}`, label: m, num: true });
    const extra = [...state.metricNames].filter((m) => !(m in s.objectives)).sort()
      .slice(0, MAX_EXTRA_METRICS);
    for (const m of extra) cols.push({ key: `m:${m}`, label: m, num: true });
    cols.push({ key: "duration_s", label: "seconds", num: true }, { key: "arch", label: "arch" });
    return cols;
  }

  function cellValue(t, key) {
    if (key.startsWith("m:")) {
      const v = t.metrics[key.slice(2)];
      return v === undefined ? null : v;
    }
    return t[key];
  }

  // The server sorts, filters and pages; a ticket drops an answer a newer request overtook.
  async function loadTable() {
    const ticket = ++state.tableTicket;
    const filter = document.getElementById("status-filter").value;
    const sort = state.sortKey.startsWith("m:") ? `metric:${state.sortKey.slice(2)}` : state.sortKey;
    const query = new URLSearchParams({
      sort, order: state.sortDir > 0 ? "asc" : "desc",
      offset: String(state.offset), limit: String(state.pageSize),
    });
    if (filter !== "all") query.set("status", filter);
    const page = await getJSON(api(`/trials?${query}`));
    if (ticket !== state.tableTicket) return;
    if (page.total > 0 && state.offset >= page.total) { // the filter now matches fewer
      state.offset = Math.floor((page.total - 1) / state.pageSize) * state.pageSize;
      await loadTable();
      return;
    }
    state.rows = page.trials;
    state.total = page.total;
    for (const t of page.trials) {
      for (const [m, v] of Object.entries(t.metrics)) if (typeof v === "number") state.metricNames.add(m);
    }
    renderTable();
  }

  function reloadTable(change) {
    change();
    loadTable().then(() => showError(""), (err) => showError(err.message));
  }

  function renderTable() {
    if (!state.summary) return;
    const cols = columns();
    const head = document.querySelector("#trials thead tr");
    head.replaceChildren(...cols.map((c) => {
      const th = el("th", { className: c.num ? "num" : "" }, c.label);
      th.dataset.key = c.key;
      if (c.key === state.sortKey) th.classList.add(state.sortDir > 0 ? "sorted-asc" : "sorted-desc");
      th.addEventListener("click", () => reloadTable(() => {
        state.sortDir = state.sortKey === c.key ? -state.sortDir : (c.num ? -1 : 1);
        state.sortKey = c.key;
        state.offset = 0;
      }));
      return th;
    }));
    const body = document.querySelector("#trials tbody");
    body.replaceChildren(...state.rows.map((t) => el("tr", {
      className: `trial-row ${t.status}${t.number === state.shownTrial ? " selected" : ""}`,
      onclick: () => showTrial(t.number),
    },
      ...cols.map((c) => {
        const v = cellValue(t, c.key);
        if (c.key === "status") {
          const badge = el("span", { className: `status ${t.status}`, title: t.error || "" }, t.status);
          return el("td", {}, badge);
        }
        if (c.key === "arch") return el("td", { className: "arch-cell" }, v);
        return el("td", { className: c.num ? "num" : "" }, c.key === "number" ? v : fmt(v));
      }))));
    setText("shown-count", String(state.total));
    const last = Math.min(state.offset + state.rows.length, state.total);
    setText("page-info", state.total ? `${state.offset + 1}–${last} of ${state.total}` : "none");
    document.getElementById("page-prev").disabled = state.offset === 0;
    document.getElementById("page-next").disabled = last >= state.total;
  }

  // ---- one trial: its cell, metrics, curves and error ----------------------------------------

  async function showTrial(number, reveal = true) {
    const t = await getJSON(api(`/trials/${number}`));
    state.shownTrial = number;
    const panel = document.getElementById("trial-panel");
    panel.hidden = false;
    setText("trial-number", String(t.number));
    const badge = document.getElementById("trial-status");
    badge.className = `status ${t.status}`;
    badge.textContent = t.status;
    setText("trial-arch", t.arch);
    const cell = document.getElementById("trial-cell");
    try {
      const response = await fetch(api(`/cell.svg?trial=${number}`));
      // The SVG is generated by the server from the stored arch, with every op name escaped.
      cell.innerHTML = response.ok ? await response.text() : "<p class='muted'>no cell drawing</p>";
    } catch (_) { cell.textContent = ""; }
    const info = {
      ...t.metrics, seconds: t.duration_s, worker: t.worker,
      started: t.started_at && stamp(t.started_at), finished: t.finished_at && stamp(t.finished_at),
    };
    document.querySelector("#trial-metrics tbody").replaceChildren(...Object.entries(info)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", { className: "num" },
        typeof v === "number" ? fmt(v) : v))));
    const error = document.getElementById("trial-error");
    error.hidden = !t.traceback;
    error.textContent = t.traceback || "";
    const steps = Object.keys(t.intermediate || {}).map(Number).sort((a, b) => a - b);
    const keys = new Set();
    for (const s of steps) for (const k of Object.keys(t.intermediate[s])) keys.add(k);
    // a loss (train_loss, val_loss...) has another scale than an accuracy: its own axis
    const isLoss = (k) => /loss/i.test(k);
    const names = [...keys].sort((a, b) => Number(isLoss(a)) - Number(isLoss(b)) || a.localeCompare(b));
    const losses = names.filter(isLoss);
    const others = names.filter((k) => !isLoss(k));
    const twoAxes = losses.length > 0 && others.length > 0;
    const layout = {
      xaxis: integerAxis("step", steps), title: { text: `trial ${t.number}: reports` },
      yaxis: { title: { text: others.join(", ") || losses.join(", ") } },
    };
    if (twoAxes) {
      layout.yaxis2 = {
        title: { text: losses.join(", ") }, overlaying: "y", side: "right", zeroline: false,
        showgrid: false,
      };
      layout.margin = { l: 55, r: 55, t: 30, b: 45 };
    }
    plot("plot-trial", names.map((k) => ({
      x: steps, y: steps.map((s) => t.intermediate[s][k]), name: k, mode: "lines+markers",
      yaxis: twoAxes && isLoss(k) ? "y2" : "y", line: { dash: isLoss(k) ? "dot" : "solid" },
    })), layout);
    document.querySelectorAll("#trials tbody tr").forEach((row) => {
      row.classList.toggle("selected", row.firstChild.textContent === String(number));
    });
    // opened by a click, the panel sits below the table, off-screen: bring it into view (but
    // not when a poll redraws the trial already shown, which would steal the user's scroll)
    if (reveal) panel.scrollIntoView({ block: "start", behavior: "auto" });
  }

  function hideTrial() {
    state.shownTrial = null;
    document.getElementById("trial-panel").hidden = true;
    renderTable();
  }

  async function experimentTick() {
    const s = await getJSON(api(""));
    state.summary = s;
    updateCards(s);
    bestCell(s);
    if (s.report !== state.reportId) { // stored after the last trial: not part of the revision
      reportPanel(s.report === null ? null : await getJSON(api("/report")));
      state.reportId = s.report;
    }
    if (s.epochs !== state.epochs) { // a one-shot search's architecture weights, an epoch at a time
      weightsPanel(s.epochs ? await getJSON(api("/arch-weights")) : null);
      state.epochs = s.epochs;
    }
    if (s.revision === state.revision) return;
    const twoObjectives = Object.keys(s.objectives).length >= 2;
    const [curves, ops, pareto, hypervolume] = await Promise.all([
      getJSON(api("/curves")),
      getJSON(api("/ops?top_k=10")),
      twoObjectives ? getJSON(api("/pareto")) : Promise.resolve(null),
      twoObjectives ? getJSON(api("/hypervolume")) : Promise.resolve(null),
      loadTable(),
      loadHistory(),
    ]);
    state.revision = s.revision;
    historyPlots(s);
    curvesPlot(curves);
    opsPlot(ops);
    paretoPlot(pareto, hypervolume, s);
    if (state.shownTrial !== null) await showTrial(state.shownTrial, false); // its curve may grow
  }

  const page = document.body.dataset.page;
  if (page === "index") poll(indexTick);
  if (page === "experiment") {
    document.getElementById("status-filter").addEventListener("change",
      () => reloadTable(() => { state.offset = 0; }));
    document.getElementById("page-prev").addEventListener("click",
      () => reloadTable(() => { state.offset = Math.max(0, state.offset - state.pageSize); }));
    document.getElementById("page-next").addEventListener("click",
      () => reloadTable(() => { state.offset += state.pageSize; }));
    document.getElementById("trial-close").addEventListener("click", hideTrial);
    poll(experimentTick);
  }
})();
