// The live page: polls /api/live every 2 s, draws the 60-day chart, looks dossiers up.
// Plain DOM, no library and no outside resource. Text always goes in through
// textContent, never innerHTML, so nothing read from the store can inject markup.
// Loaded from /static/app.js only: the Content-Security-Policy allows no inline script.
// A signed-out session (401) goes back to the sign-in page.
"use strict";

const POLL_MS = 2000;
const CHART_MS = 30000;
const METRIC_LABELS = {
  open: "Đang giải quyết",
  due_soon: "Đến hạn trong 1 ngày làm việc",
  overdue: "Quá hạn",
  open_after_completion: "Chưa kết thúc sau khi có kết quả",
  tax_overdue: "Chờ thuế quá hạn",
};
const WARN_METRICS = new Set(["due_soon"]);
const BAD_METRICS = new Set(["overdue", "open_after_completion", "tax_overdue"]);

const seenAlerts = new Set();
let firstPoll = true;

function el(tag, attrs, ...children) {
  const node = tag === "svg" || attrs && attrs.svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "svg" || value === null || value === undefined) continue;
    if (key === "text") node.textContent = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  return el(tag, Object.assign({ svg: true }, attrs), ...children);
}

// Every time on the page is Vietnam time (Asia/Ho_Chi_Minh), whatever the browser's
// own time zone: the instants from the API and the clock of "lần cuối" alike.
const VN_PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Ho_Chi_Minh", hourCycle: "h23",
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

function vnParts(date) {
  const parts = {};
  for (const p of VN_PARTS.formatToParts(date)) parts[p.type] = p.value;
  return parts;
}

function fmtTime(iso) {
  if (!iso) return "—";
  const p = vnParts(new Date(iso));
  return `${p.hour}:${p.minute} ${p.day}/${p.month}/${p.year}`;
}

function fmtClock(date) {
  const p = vnParts(date);
  return `${p.hour}:${p.minute}:${p.second}`;
}

function fmtDay(iso) {
  return iso ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "—";
}

function fmtNum(n) {
  return Number(n).toLocaleString("vi-VN");
}

function fmtDec(x, digits) {
  return Number(x).toFixed(digits).replace(".", ",");
}

function fmtPct(x) {
  return x === null || x === undefined ? "—" : `${fmtDec(x * 100, 1)}%`;
}

// `alsoOk`: statuses whose body is an answer too (404 for a dossier not found).
async function getJSON(url, alsoOk) {
  const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
  if (response.status === 401) {
    location.assign("/login");
    throw new Error("phiên đăng nhập đã hết hạn");
  }
  const body = await response.json();
  if (!response.ok && !(alsoOk || []).includes(response.status)) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function setStatus(text, ok) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.className = ok ? "status ok" : "status bad";
}

// ------------------------------------------------------------------ unit table
function countCell(unit, metric, value) {
  const cls = ["num"];
  if (value > 0 && BAD_METRICS.has(metric)) cls.push("bad");
  if (value > 0 && WARN_METRICS.has(metric)) cls.push("warn");
  const td = el("td", { class: cls.join(" "), "data-unit": unit === null ? "*" : unit, "data-metric": metric });
  if (value > 0 && unit !== null) {
    td.append(el("button", { type: "button", class: "link", text: fmtNum(value), onclick: () => showList(unit, metric) }));
  } else {
    td.textContent = fmtNum(value);
  }
  return td;
}

function renderUnits(data) {
  const body = document.querySelector("#units tbody");
  const rows = data.units.map((u) => el("tr", { "data-unit": u.unit },
    el("th", { class: "unit", title: u.full_name, text: u.name }),
    ...data.metrics.map((m) => countCell(u.unit, m, u[m]))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, class: "muted", text: "Chưa có hồ sơ nào." })));
  body.replaceChildren(...rows);
  document.querySelector("#units tfoot").replaceChildren(el("tr", { "data-unit": "*" },
    el("th", { class: "unit", text: "Toàn tỉnh" }),
    ...data.metrics.map((m) => countCell(null, m, data.totals[m]))));
}

// ---------------------------------------------------------------------- alerts
function renderAlerts(alerts) {
  const items = alerts.map((a) => {
    const fresh = !firstPoll && !seenAlerts.has(a.alert_id);
    seenAlerts.add(a.alert_id);
    const cls = ["alert", `kind-${a.kind}`];
    if (a.retracted) cls.push("retracted");
    if (fresh) cls.push("fresh");
    return el("li", { class: cls.join(" "), "data-alert-id": a.alert_id, "data-kind": a.kind },
      el("div", { class: "alert-head" },
        el("span", { class: "badge", text: a.label }),
        el("time", { datetime: a.fires_at, text: fmtTime(a.fires_at) }),
        a.retracted ? el("span", { class: "tag", text: "đã thu hồi" }) : null),
      el("div", { class: "alert-body", text: a.message }),
      el("div", { class: "alert-foot" },
        el("button", { type: "button", class: "link", text: a.dossier_id, onclick: () => lookUp(a.dossier_id) }),
        ` · ${a.unit_name}`));
  });
  if (!items.length) items.push(el("li", { class: "muted", text: "Chưa có cảnh báo." }));
  document.getElementById("alerts").replaceChildren(...items);
  firstPoll = false;
}

async function poll() {
  try {
    const data = await getJSON("/api/live");
    document.getElementById("as-of").textContent = fmtTime(data.as_of);
    renderUnits(data);
    renderAlerts(data.alerts);
    setStatus(`Tự cập nhật mỗi 2 giây · lần cuối ${fmtClock(new Date())}`, true);
  } catch (err) {
    setStatus(`Mất kết nối với máy chủ (${err.message}); đang thử lại…`, false);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

// ----------------------------------------------------------------------- chart
function rateColour(rate) {
  if (rate >= 0.3) return "#c62828";
  if (rate >= 0.1) return "#ef8f00";
  return "#2e7d32";
}

function unitChart(unit, days) {
  const W = 400, H = 96, left = 30, top = 8, base = 78;
  const bar = (W - left) / days.length, plot = base - top;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "spark", role: "img",
    "aria-label": `Tỷ lệ quá hạn theo ngày của ${unit.full_name}` });
  for (const level of [0, 0.5, 1]) {
    const y = base - level * plot;
    chart.append(svg("line", { x1: left, x2: W, y1: y, y2: y, class: level ? "grid" : "axis" }));
    chart.append(svg("text", { x: left - 4, y: y + 3, class: "tick", "text-anchor": "end", text: `${level * 100}%` }));
  }
  days.forEach((day, i) => {
    const finished = unit.finished[i], overdue = unit.overdue[i], rate = unit.rate[i];
    const x = left + i * bar + 0.5;
    if (!finished) {
      chart.append(svg("rect", { x, y: base - 1, width: bar - 1, height: 1, class: "none" },
        svg("title", { text: `${fmtDay(day)}: không có hồ sơ kết thúc` })));
      return;
    }
    const h = Math.max(2, rate * plot);
    chart.append(svg("rect", { x, y: base - h, width: bar - 1, height: h, fill: rateColour(rate),
      "data-day": day, "data-rate": rate, "data-finished": finished, "data-overdue": overdue },
      svg("title", { text: `${fmtDay(day)}: ${overdue}/${finished} hồ sơ kết thúc quá hạn (${fmtPct(rate)})` })));
  });
  chart.append(svg("text", { x: left, y: H - 2, class: "tick", text: fmtDay(days[0]) }));
  chart.append(svg("text", { x: (left + W) / 2, y: H - 2, class: "tick", "text-anchor": "middle",
    text: fmtDay(days[Math.floor(days.length / 2)]) }));
  chart.append(svg("text", { x: W, y: H - 2, class: "tick", "text-anchor": "end", text: fmtDay(days[days.length - 1]) }));
  const total = unit.total_finished ? unit.total_overdue / unit.total_finished : null;
  return el("div", { class: "unit-chart", "data-unit": unit.unit },
    el("div", { class: "unit-chart-head" },
      el("span", { class: "name", title: unit.full_name, text: unit.name }),
      el("span", { class: "sum", text: `60 ngày: ${fmtPct(total)} (${fmtNum(unit.total_overdue)}/${fmtNum(unit.total_finished)})` })),
    chart);
}

async function loadChart() {
  try {
    const data = await getJSON("/api/chart");
    const box = document.getElementById("chart");
    document.getElementById("chart-range").textContent =
      data.days.length ? `(${fmtDay(data.first)} – ${fmtDay(data.last)})` : "";
    box.replaceChildren(...(data.units.length
      ? data.units.map((u) => unitChart(u, data.days))
      : [el("p", { class: "muted", text: "Chưa có hồ sơ kết thúc." })]));
  } catch (err) {
    setStatus(`Không tải được biểu đồ (${err.message})`, false);
  } finally {
    setTimeout(loadChart, CHART_MS);
  }
}

// ---------------------------------------------------------------- dossier view
function row(label, value) {
  return el("tr", {}, el("th", { text: label }), el("td", {}, value));
}

function renderDossier(d) {
  const body = document.getElementById("dossier-body");
  document.getElementById("dossier-title").textContent = `Hồ sơ ${d.dossier_id}`;
  const due = d.due_at ? fmtTime(d.due_at) : (d.status === "paused" ? "đang tạm dừng, hạn mới tính khi tiếp tục" : "—");
  const cls = d.classification === "open_overdue" || d.classification === "overdue" ? "bad" : "";
  const facts = el("table", { class: "facts" },
    row("Thủ tục", d.procedure_name),
    row("Đơn vị tiếp nhận", d.receiving_unit_name),
    row("Đang ở", d.current_unit_name),
    row("Trạng thái", el("span", { class: cls, id: "dossier-status",
      text: [d.status_label, d.classification_label, d.outcome_label].filter(Boolean).join(" · ") })),
    row("Tiếp nhận lúc", fmtTime(d.received_at)),
    row("Hạn giải quyết", el("span", { id: "dossier-due", text: due })),
    d.extended_due_at ? row("Hẹn lại (văn bản xin lỗi)", fmtTime(d.extended_due_at)) : null,
    d.tax_due_at ? row("Hạn thông báo thuế", fmtTime(d.tax_due_at)) : null,
    d.finished_at ? row("Kết thúc lúc", fmtTime(d.finished_at)) : null);

  const events = el("ol", { class: "timeline", id: "dossier-events" },
    ...d.events.map((e) => el("li", { "data-type": e.type },
      el("time", { datetime: e.at, text: fmtTime(e.at) }),
      el("strong", { text: e.label }),
      el("span", { class: "muted", text: ` — ${e.unit_name}${e.detail ? "; " + e.detail : ""}` }))));

  const hours = el("table", { class: "hours", id: "dossier-hours" },
    el("thead", {}, el("tr", {}, el("th", { text: "Đơn vị" }), el("th", { text: "Giờ làm việc" }),
      el("th", { text: "Ngày làm việc" }))),
    el("tbody", {}, ...d.unit_hours.map((u) => el("tr", { "data-unit": u.unit },
      el("td", { text: u.name + (u.holding ? " (đang giữ)" : "") }),
      el("td", { class: "num", text: fmtDec(u.hours, 1) }),
      el("td", { class: "num", text: fmtDec(u.days, 2) })))));

  const pauses = d.pauses.length
    ? el("ul", { class: "pauses", id: "dossier-pauses" }, ...d.pauses.map((p) => el("li", {},
      `${p.label}: từ ${fmtTime(p.from)} đến ${p.ongoing ? "nay" : fmtTime(p.to)} (${fmtDec(p.working_hours, 1)} giờ làm việc, không tính vào thời hạn)`)))
    : el("p", { class: "muted", text: "Không tạm dừng." });

  const alerts = d.alerts.length
    ? el("ul", { class: "dossier-alerts", id: "dossier-alerts" }, ...d.alerts.map((a) => el("li",
      { class: a.retracted ? "retracted" : "", "data-kind": a.kind },
      el("span", { class: "badge", text: a.label }), ` ${fmtTime(a.fires_at)} — ${a.message}`,
      a.retracted ? el("span", { class: "tag", text: "đã thu hồi" }) : null)))
    : el("p", { class: "muted", text: "Không có cảnh báo." });

  body.replaceChildren(
    el("div", { class: "dossier-grid" },
      el("div", {}, facts, el("h3", { text: "Thời gian làm việc tại từng đơn vị" }), hours,
        el("p", { class: "note", text: "Giờ hành chính tính vào thời hạn khi hồ sơ ở đơn vị; thời gian tạm dừng không thuộc đơn vị nào." }),
        el("h3", { text: "Tạm dừng" }), pauses),
      el("div", {}, el("h3", { text: "Diễn biến" }), events, el("h3", { text: "Cảnh báo" }), alerts)));
}

function renderMatches(d) {
  document.getElementById("dossier-title").textContent = `Không tìm thấy hồ sơ “${d.code}”`;
  const body = document.getElementById("dossier-body");
  if (!d.matches.length) {
    body.replaceChildren(el("p", { class: "muted", text: "Không có hồ sơ nào có mã chứa chuỗi này." }));
    return;
  }
  body.replaceChildren(el("p", { text: "Các hồ sơ có mã gần đúng:" }), el("ul", { class: "matches" },
    ...d.matches.map((code) => el("li", {}, el("button", { type: "button", class: "link", text: code,
      onclick: () => lookUp(code) })))));
}

async function lookUp(code) {
  const panel = document.getElementById("dossier");
  document.getElementById("search-input").value = code;
  panel.hidden = false;
  document.getElementById("dossier-title").textContent = `Đang tra cứu ${code}…`;
  document.getElementById("dossier-body").replaceChildren();
  try {
    // Search first: a code that is no visible dossier lists its near matches, without a 404.
    const found = await getJSON(`/api/search?q=${encodeURIComponent(code)}`);
    const d = found.exact
      ? await getJSON(`/api/dossier?code=${encodeURIComponent(code)}`, [404])
      : { found: false, code, matches: found.matches };
    if (d.found) renderDossier(d); else renderMatches(d);
    history.replaceState(null, "", `#ho-so=${encodeURIComponent(code)}`);
  } catch (err) {
    document.getElementById("dossier-title").textContent = `Không tra cứu được: ${err.message}`;
  }
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
}

// ---------------------------------------------------------- dossiers of a cell
async function showList(unit, metric) {
  const panel = document.getElementById("list");
  panel.hidden = false;
  const body = document.getElementById("list-body");
  body.replaceChildren(el("p", { class: "muted", text: "Đang tải…" }));
  try {
    const d = await getJSON(`/api/dossiers?unit=${encodeURIComponent(unit)}&metric=${encodeURIComponent(metric)}`);
    document.getElementById("list-title").textContent = `${METRIC_LABELS[metric]} — ${d.name} (${d.dossiers.length})`;
    body.replaceChildren(el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ...["Mã hồ sơ", "Thủ tục", "Đang ở", "Tiếp nhận", "Hạn giải quyết"]
        .map((h) => el("th", { text: h })))),
      el("tbody", {}, ...d.dossiers.map((r) => el("tr", {},
        el("td", {}, el("button", { type: "button", class: "link", text: r.dossier_id, onclick: () => lookUp(r.dossier_id) })),
        el("td", { text: r.procedure_name }),
        el("td", { text: r.current_unit_name }),
        el("td", { text: fmtTime(r.received_at) }),
        el("td", { text: r.due_at ? fmtTime(r.due_at) : (r.tax_due_at ? `thuế: ${fmtTime(r.tax_due_at)}` : "—") }))))));
  } catch (err) {
    body.replaceChildren(el("p", { class: "bad", text: `Không tải được danh sách: ${err.message}` }));
  }
  panel.scrollIntoView({ behavior: "smooth", block: "start" });
}

// ---------------------------------------------------------------- who is here
async function whoAmI() {
  try {
    const me = await getJSON("/api/me");
    document.getElementById("user-name").textContent = me.user;
    document.getElementById("user-scope").textContent = me.all_units
      ? "Toàn tỉnh" : me.units.map((u) => u.name).join(", ");
    document.getElementById("signout-token").value = me.csrf_token || "";
    document.getElementById("user").hidden = false;
  } catch (err) {
    setStatus(`Không đọc được thông tin đăng nhập (${err.message})`, false);
  }
}

// ------------------------------------------------------------------------ start
document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = document.getElementById("search-input").value.trim();
  if (code) lookUp(code);
});
document.getElementById("dossier-close").addEventListener("click", () => {
  document.getElementById("dossier").hidden = true;
  history.replaceState(null, "", location.pathname);
});
document.getElementById("list-close").addEventListener("click", () => {
  document.getElementById("list").hidden = true;
});

whoAmI();
poll();
loadChart();
const linked = location.hash.match(/^#ho-so=(.+)$/);
if (linked) lookUp(decodeURIComponent(linked[1]));
