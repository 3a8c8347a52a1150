"""The game room's pages: plain HTML, CSS and JavaScript, nothing loaded from elsewhere.

Three pages (served by :mod:`sim.app.room_web`): the team page, the facilitator's page and
the projector page. Each keeps its view current with long polls on the room's version
(``/api/...?since=``) and comes back by itself after a dropped connection. Every value from
the server is escaped before it is put into the page.
"""

from __future__ import annotations

CSS = """
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, sans-serif; margin: 0; color: #222;
       background: #f6f7f9; }
header { background: #1f3b57; color: #fff; padding: 10px 16px; display: flex;
         flex-wrap: wrap; gap: 6px 18px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
header .sub { opacity: .85; font-size: 14px; }
main { padding: 12px 16px; max-width: 1300px; margin: 0 auto; }
.card { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 10px 14px;
        margin: 0 0 12px 0; }
.card h2 { font-size: 15px; margin: 0 0 8px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 12px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { padding: 3px 6px; border-bottom: 1px solid #e6e6e6; text-align: right; }
th { background: #f1f3f5; font-weight: 600; }
td.l, th.l { text-align: left; }
tr.own td { background: #fff4d6; font-weight: 600; }
button { font-size: 14px; padding: 6px 12px; border-radius: 4px; border: 1px solid #1f3b57;
         background: #1f3b57; color: #fff; cursor: pointer; margin: 2px 4px 2px 0; }
button.secondary { background: #fff; color: #1f3b57; }
button:disabled { opacity: .45; cursor: default; }
input, select { font-size: 14px; padding: 4px 6px; }
label.row { display: flex; gap: 8px; align-items: center; margin: 4px 0; }
fieldset { border: 1px solid #dde1e6; border-radius: 6px; margin: 0 0 10px 0; padding: 6px 10px; }
legend { font-weight: 600; font-size: 14px; }
.lever { display: grid; grid-template-columns: minmax(120px, 1.3fr) 2fr 90px; gap: 6px;
         align-items: center; font-size: 13px; padding: 2px 0; }
.lever input[type=range] { width: 100%; }
.lever .val { text-align: right; font-variant-numeric: tabular-nums; }
.lever.changed .name::after { content: " *"; color: #b35c00; font-weight: 700; }
.msg { padding: 6px 10px; border-radius: 4px; margin: 6px 0; font-size: 14px; }
.msg.ok { background: #e6f4ea; } .msg.err { background: #fde8e8; color: #8a1c1c; }
.msg.wait { background: #fff4d6; }
.code { font-size: 30px; font-weight: 700; letter-spacing: 4px; font-family: monospace; }
.big .code { font-size: 64px; }
.big table { font-size: 20px; }
.note { color: #555; font-size: 12px; }
.tick { color: #1a7f37; font-weight: 700; }
.hidden { display: none; }
img.chart { max-width: 100%; border: 1px solid #eee; }
"""

COMMON_JS = r"""
const esc = s => String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g,
  c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const $ = id => document.getElementById(id);
const fmt = (v, d = 1) => (v === null || v === undefined) ? "" :
  (typeof v === "number" ? v.toLocaleString("en-US", {maximumFractionDigits: d}) : esc(v));
const sleep = ms => new Promise(r => setTimeout(r, ms));
async function api(path, opts = {}) {
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = {error: r.statusText}; }
  if (!r.ok) { const e = new Error(data.error || r.statusText); e.status = r.status; throw e; }
  return data;
}
function post(path, data, headers = {}) {
  return api(path, {method: "POST", headers: {"Content-Type": "application/json", ...headers},
                    body: JSON.stringify(data)});
}
function board(view, ownBank) {
  const rows = view.leaderboard.map(r => `<tr class="${r.bank === ownBank ? "own" : ""}"
    data-bank="${esc(r.bank)}"><td>${r.position}</td><td class=l>${esc(r.bank_label)}</td>
    <td class=l>${esc(r.team)}</td><td>${fmt(r.customers, 0)}</td>
    <td>${fmt(r.retention_pct, 2)}</td><td>${fmt(r.traffic_pct, 2)}</td>
    <td>${fmt(r.profit_per_customer, 2)}</td><td>${fmt(r.points_round, 0)}</td>
    <td class="points">${fmt(r.points_total, 0)}</td></tr>`).join("");
  const title = view.leaderboard_round ? `after round ${view.leaderboard_round}` :
    "before round 1 (the market at rest)";
  return `<h2 class="board-title">Leaderboard ${title}</h2>
  <table class="leaderboard"><thead><tr><th>#</th><th class=l>bank</th><th class=l>team</th>
  <th>customers</th><th title="${esc(view.scoring.loyalty)}">retention %</th>
  <th title="${esc(view.scoring.traffic)}">traffic %</th>
  <th title="${esc(view.scoring.money)}">profit / cust.</th><th>points (round)</th>
  <th>points (total)</th></tr></thead><tbody>${rows}</tbody></table>
  <p class=note>${Object.values(view.scoring).map(line =>
    esc(line.charAt(0).toUpperCase() + line.slice(1)) + ".").join(" ")} Each round the best
  bank on each gets 5 points, the worst 1.</p>`;
}
function status(view) {
  if (view.phase === "finished") return "The game is over";
  if (view.phase === "playing") return `Round ${view.next_round} is being played...`;
  if (view.paused) return "Paused by the facilitator";
  return `Round ${view.next_round} of ${view.rounds}: set your levers and submit`;
}
const joinLink = v => `${v.join_url}?code=${encodeURIComponent(v.code)}`;
function seats(view) {
  return view.teams.map(t => `<tr data-team="${esc(t.team)}"><td class=l>${esc(t.team)}</td>
    <td class=l>${esc(t.bank_label)}</td><td>${t.joined ? (t.connected ? "online" : "away") :
    "not joined"}</td><td class="submitted">${t.submitted ? '<span class=tick>submitted</span>'
    : "-"}</td></tr>`).join("");
}
"""


def _page(title: str, body: str, script: str, big: bool = False) -> str:
    cls = ' class="big"' if big else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{CSS}</style></head><body{cls}>{body}"
        f"<script>{COMMON_JS}{script}</script></body></html>"
    )


TEAM_BODY = """
<header><h1>Bank engagement lab: game room</h1><span class=sub id=who></span>
<span class=sub id=round></span></header>
<main>
<div id=join class="card hidden"><h2>Join your team</h2>
<p>Enter the room's code (on the projector) and your team's name.</p>
<label class=row>Join code <input id=code autocomplete=off maxlength=12 size=10></label>
<label class=row>Team name <input id=team autocomplete=off maxlength=40></label>
<button id=join-btn>Join</button><div id=join-msg></div></div>
<div id=play class=hidden>
<div id=state class="msg wait"></div>
<div class=grid>
<div><div class=card><h2>Your levers</h2>
<p class=note>Move a lever, then <b>Submit</b>: the last submission before the round is
played counts. <b>*</b> marks a change from the levers in force last round. Hover a name
for what it does.</p>
<div id=levers></div>
<button id=submit>Submit levers</button> <span id=submit-msg></span></div></div>
<div>
<div class=card id=budget-card><h2>Budget of these levers (this round)</h2><div id=budget></div>
</div>
<div class=card><h2>Your last round</h2><div id=last></div></div>
<div class=card id=board></div>
<div class=card><h2>Teams</h2><table><thead><tr><th class=l>team</th><th class=l>bank</th>
<th>device</th><th>this round</th></tr></thead><tbody id=seats></tbody></table></div>
</div></div></div>
</main>
"""

TEAM_JS = r"""
const STORE = "banklab-room";
const S = {code: null, token: null, version: -1, view: null, draft: {}, dirty: false,
           shown: null, catalogue: null, gen: 0};
function saved() { try { return JSON.parse(localStorage.getItem(STORE)) || null; }
                   catch (e) { return null; } }
function showJoin(message) {
  $("play").classList.add("hidden"); $("join").classList.remove("hidden");
  const q = new URLSearchParams(location.search).get("code");
  if (q && !$("code").value) $("code").value = q;
  $("join-msg").innerHTML = message ? `<div class="msg err">${esc(message)}</div>` : "";
}
async function join() {
  try {
    const out = await post("/api/join", {code: $("code").value, team: $("team").value});
    S.code = $("code").value; S.token = out.token;
    localStorage.setItem(STORE, JSON.stringify({code: S.code, token: S.token}));
    start();
  } catch (e) { showJoin(e.message); }
}
function leverRows() {
  const ref = S.view.reference_levers;
  return S.catalogue.map(g => `<fieldset class="group"><legend>${esc(g.group)}</legend>` +
    g.levers.map(l => `<div class="lever lever-${l.name}" title="${esc(l.doc)}">
      <span class=name>${esc(l.label)}</span>
      <input type=range name="${l.name}" min="${l.lo}" max="${l.hi}" step="${l.step}"
        value="${S.draft[l.name]}">
      <span class=val>${fmt(S.draft[l.name], 3)} ${esc(l.unit)}</span></div>`).join("") +
    "</fieldset>").join("");
}
function markChanged() {
  const ref = S.view.reference_levers;
  document.querySelectorAll(".lever").forEach(div => {
    const inp = div.querySelector("input"), n = inp.name;
    div.classList.toggle("changed", Math.abs(S.draft[n] - ref[n]) > 1e-9);
  });
}
function drawLevers() {
  S.draft = {...S.view.levers}; S.dirty = false;
  $("levers").innerHTML = leverRows();
  document.querySelectorAll(".lever input").forEach(inp => inp.addEventListener("input", () => {
    S.draft[inp.name] = parseFloat(inp.value); S.dirty = true;
    const unit = S.catalogue.flatMap(g => g.levers).find(l => l.name === inp.name).unit;
    inp.parentElement.querySelector(".val").textContent = `${fmt(S.draft[inp.name], 3)} ${unit}`;
    markChanged(); $("submit-msg").textContent = "not submitted yet"; reprice();
  }));
  markChanged();
}
let priceTimer = null;
function reprice() {
  clearTimeout(priceTimer);
  priceTimer = setTimeout(async () => {
    try { drawBudget(await post("/api/price", {code: S.code, token: S.token,
                                                levers: S.draft})); } catch (e) {}
  }, 250);
}
function drawBudget(b) {
  $("budget").innerHTML = `<table><tr><td class=l>one-off investment (levers raised over
    last round)</td><td class="invest">${fmt(b.investment_k)} k RMB</td></tr>
    <tr><td class=l>running costs of the levers over the round</td>
    <td class="running">${fmt(b.running_k)} k RMB</td></tr></table>
    <p class=note>Bonuses, offers and pushes cost per customer who takes them: they show in
    the round's profit.</p>`;
}
function drawLast(v) {
  const r = v.last_round;
  $("last").innerHTML = !r ? "<p class=note>No round played yet.</p>" :
    `<table class="last-round"><tr><td class=l>place</td><td>${r.position}</td></tr>
    <tr><td class=l>customers (change)</td><td>${fmt(r.customers, 0)}
      (${r.customers_change >= 0 ? "+" : ""}${fmt(r.customers_change, 0)})</td></tr>
    <tr><td class=l>retention %</td><td>${fmt(r.retention_pct, 2)}</td></tr>
    <tr><td class=l>traffic %</td><td>${fmt(r.traffic_pct, 2)}</td></tr>
    <tr><td class=l>profit (k RMB)</td><td>${fmt(r.profit_k)}</td></tr>
    <tr><td class=l>of which investment (k RMB)</td><td>${fmt(r.investment_k)}</td></tr>
    <tr><td class=l>points this round / total</td><td>${r.points_round} /
      ${r.points_total}</td></tr></table>`;
}
function render(v) {
  const first = S.view === null;
  const turn = `${v.round}/${v.phase}`;
  S.view = v;
  $("join").classList.add("hidden"); $("play").classList.remove("hidden");
  $("who").textContent = `${v.team}: ${v.bank_label}`;
  $("round").textContent = `round ${v.round} of ${v.rounds} played, week ${v.week}` +
    ` - room ${v.code}`;
  const open = v.phase === "open" && !v.paused;
  $("state").textContent = status(v) + (v.phase === "open" && v.submitted ?
    " (your levers are in; you can still change them)" : "");
  $("state").className = "msg " + (v.error ? "err" : open ? "ok" : "wait");
  if (v.error) $("state").textContent += ": " + v.error;
  if (first || (turn !== S.shown && !S.dirty)) { drawLevers(); }
  S.shown = turn;
  $("submit").disabled = !open;
  document.querySelectorAll(".lever input").forEach(i => i.disabled = !open);
  if (!S.dirty) { drawBudget(v.budget); $("submit-msg").innerHTML = v.submitted ?
    "<span class=tick>submitted</span>" : ""; }
  drawLast(v);
  $("board").innerHTML = board(v, v.bank);
  $("seats").innerHTML = seats(v);
}
async function submit() {
  $("submit").disabled = true;
  try {
    await post("/api/submit", {code: S.code, token: S.token, levers: S.draft});
    S.dirty = false; $("submit-msg").innerHTML = "<span class=tick>submitted</span>";
  } catch (e) {
    $("submit-msg").innerHTML = `<span class="msg err">${esc(e.message)}</span>`;
  } finally { $("submit").disabled = false; }
}
async function start() {
  const gen = ++S.gen; S.version = -1; S.view = null;
  while (gen === S.gen) {
    try {
      const q = `code=${encodeURIComponent(S.code)}` +
        (S.version >= 0 ? `&since=${S.version}` : "");
      const v = await api(`/api/team?${q}`, {headers: {"X-Team-Token": S.token}});
      S.version = v.version; render(v);
    } catch (e) {
      if (e.status === 403 || e.status === 404) {
        localStorage.removeItem(STORE); S.gen++; showJoin(e.message); return;
      }
      if (S.view) $("state").textContent = "connection lost: reconnecting...";
      await sleep(1500);
    }
  }
}
(async () => {
  $("join-btn").addEventListener("click", join);
  $("team").addEventListener("keydown", e => { if (e.key === "Enter") join(); });
  $("submit").addEventListener("click", submit);
  S.catalogue = (await api("/api/options")).levers;
  const s = saved();
  if (s && s.token) { S.code = s.code; S.token = s.token; start(); } else showJoin();
})();
"""

HOST_BODY = """
<header><h1>Game room: facilitator</h1><span class=sub id=room-name></span>
<span class=sub id=round></span></header>
<main>
<div id=nokey class="msg err hidden">This page needs the facilitator's key: open the
address the room command printed (it ends with <code>#key=...</code>).</div>
<div id=setup class="card hidden"><h2>Start a game</h2>
<div class=grid><div>
<label class=row>Game name <input id=s-name value="workshop" maxlength=60></label>
<label class=row>Market <select id=s-market></select></label>
<label class=row>Scenario <select id=s-scenario></select></label>
<p class=note id=s-scenario-doc></p>
<label class=row>Rounds (quarters) <input id=s-rounds type=number min=1 max=40 value=4></label>
<label class=row>Seed <input id=s-seed type=number value=1></label>
<label class=row>Customers <input id=s-size type=number min=100 max=2000000></label>
<label class=row><input id=s-auto type=checkbox> play a round as soon as every team has
submitted</label>
</div><div><h2>Teams</h2><p class=note>One team name per bank it owns; leave a name empty for
a house bank (it keeps its market-file levers).</p><table id=s-teams></table></div></div>
<button id=s-start>Start the game</button> <span id=s-msg></span>
<div id=s-load class=hidden><h2>Or go on with a saved game</h2>
<select id=s-saved></select> <button id=s-load-btn class=secondary>Load</button></div>
</div>
<div id=room class=hidden>
<div class=grid>
<div class=card><h2>Join</h2><p>Teams open <b id=join-url></b> (the code is filled in) or
the address without it and type the code</p>
<div class=code id=code></div>
<p><a id=projector target=_blank>Projector view</a> (charts and leaderboard for the big
screen) &middot; <a href="#" id=new-game>start another game</a></p></div>
<div class=card><h2>This round</h2><div id=state class="msg wait"></div>
<button id=advance>Play round</button>
<button id=force class=secondary>Play now (force)</button>
<button id=back class=secondary>Back a round</button>
<button id=pause class=secondary>Pause</button>
<label class=row><input type=checkbox id=auto> play as soon as every team has submitted</label>
<div id=msg></div></div></div>
<div class=card><h2>Teams</h2><table><thead><tr><th class=l>team</th><th class=l>bank</th>
<th>device</th><th>this round</th><th></th></tr></thead><tbody id=seats></tbody></table></div>
<div class=grid><div class=card id=board></div>
<div class=card><h2>Save and debrief</h2>
<label class=row>Save as <input id=save-name maxlength=64> <button id=save
class=secondary>Save</button></label>
<label class=row><input type=checkbox id=save-replace> replace a saved game of that name</label>
<form id=debrief-form method=post action="/api/host/debrief">
<input type=hidden name=key><input type=hidden name=code>
<button id=debrief type=submit>Download the debrief (HTML)</button></form>
<p class=note>The debrief: per round each team's levers, the leaderboard and the market's
charts, in one file that opens offline.</p>
<h2>Room log</h2><ul id=log class=note></ul></div></div>
<div class=card><h2>The market</h2><img class=chart id=chart alt="the market"></div>
</div>
</main>
"""

HOST_JS = r"""
const K = "banklab-host-key";
if (location.hash.startsWith("#key=")) {
  sessionStorage.setItem(K, decodeURIComponent(location.hash.slice(5)));
  history.replaceState(null, "", location.pathname + location.search);
}
const KEY = sessionStorage.getItem(K) || "";
const H = {"X-Facilitator-Key": KEY};
const R = {code: new URLSearchParams(location.search).get("code"), version: -1, gen: 0,
           view: null, options: null};
const say = (text, ok = true) => { $("msg").innerHTML = text ?
  `<div class="msg ${ok ? "ok" : "err"}">${esc(text)}</div>` : ""; };
async function act(what, data = {}) {
  try {
    const out = await post(`/api/host/${what}`, {code: R.code, ...data}, H);
    say(""); return out;
  }
  catch (e) { say(e.message, false); }
}
function drawSetup() {
  const o = R.options;
  $("s-market").innerHTML = Object.keys(o.markets).map(m => `<option>${esc(m)}</option>`).join("");
  $("s-scenario").innerHTML = Object.keys(o.scenarios).map(s =>
    `<option ${s === "none" ? "selected" : ""}>${esc(s)}</option>`).join("");
  $("s-size").value = o.size;
  const teams = () => {
    const banks = o.markets[$("s-market").value].banks;
    $("s-teams").innerHTML = banks.map((b, i) => `<tr><td class=l>${esc(b.label)}</td>
      <td><input class=team-name data-bank="${esc(b.bank)}" maxlength=40
        value="${i < 3 ? ["Red", "Blue", "Green"][i] : ""}"></td></tr>`).join("");
  };
  const doc = () => { $("s-scenario-doc").textContent = o.scenarios[$("s-scenario").value]; };
  $("s-market").onchange = teams; $("s-scenario").onchange = doc; teams(); doc();
}
async function showSetup() {
  R.gen++; $("room").classList.add("hidden"); $("setup").classList.remove("hidden");
  const list = await api("/api/host/rooms", {headers: H});
  $("s-saved").innerHTML = list.saved.map(s => `<option>${esc(s)}</option>`).join("");
  $("s-load").classList.toggle("hidden", list.saved.length === 0);
}
async function create() {
  const teams = {};
  document.querySelectorAll(".team-name").forEach(i => {
    if (i.value.trim()) teams[i.value.trim()] = i.dataset.bank; });
  $("s-start").disabled = true;
  $("s-msg").innerHTML = '<span class="msg wait">building the market (a spin-up the first time:' +
    ' up to a minute)...</span>';
  try {
    const out = await post("/api/host/create", {teams, name: $("s-name").value,
      market: $("s-market").value, scenario: $("s-scenario").value,
      rounds: parseInt($("s-rounds").value), seed: parseInt($("s-seed").value),
      size: parseInt($("s-size").value), auto_advance: $("s-auto").checked}, H);
    $("s-msg").innerHTML = ""; enter(out.code);
  } catch (e) { $("s-msg").innerHTML = `<span class="msg err">${esc(e.message)}</span>`; }
  finally { $("s-start").disabled = false; }
}
async function loadSaved() {
  try { const out = await post("/api/host/load", {name: $("s-saved").value}, H); enter(out.code); }
  catch (e) { $("s-msg").innerHTML = `<span class="msg err">${esc(e.message)}</span>`; }
}
function enter(code) {
  R.code = code; history.replaceState(null, "", `/host?code=${encodeURIComponent(code)}`);
  $("setup").classList.add("hidden"); $("room").classList.remove("hidden");
  poll();
}
function render(v) {
  R.view = v;
  $("room-name").textContent = v.name;
  $("round").textContent = `${v.describe}`;
  $("code").textContent = v.code; $("join-url").textContent = joinLink(v);
  $("projector").href = `/projector?code=${encodeURIComponent(v.code)}`;
  const open = v.phase === "open" && !v.paused;
  let st = status(v).replace(": set your levers and submit", "");
  if (v.phase === "open") st += v.missing.length ? ` - waiting for ${v.missing.join(", ")}` :
    " - every team has submitted";
  if (v.last_round_seconds !== null && v.phase !== "playing")
    st += ` (last round played in ${v.last_round_seconds.toFixed(1)} s)`;
  if (v.error) st += " - " + v.error;
  $("state").textContent = st;
  $("state").className = "msg " + (v.error ? "err" : open && !v.missing.length ? "ok" : "wait");
  $("advance").disabled = !open || v.missing.length > 0;
  $("force").disabled = !open;
  $("back").disabled = v.phase === "playing" || v.round === 0;
  $("pause").textContent = v.paused ? "Resume" : "Pause";
  $("pause").disabled = v.phase === "playing";
  $("auto").checked = v.auto_advance;
  $("seats").innerHTML = seats(v).replaceAll("</tr>", "<td></td></tr>");
  document.querySelectorAll("#seats tr").forEach(tr => {
    const t = v.teams.find(x => x.team === tr.dataset.team);
    if (t && t.joined) tr.lastElementChild.innerHTML =
      `<button class="secondary release">free the seat</button>`;
    const b = tr.querySelector(".release");
    if (b) b.onclick = () => act("release", {team: t.team});
  });
  $("board").innerHTML = board(v, null);
  const saveName = `${v.name}-round${v.round}`.replace(/[^A-Za-z0-9_-]/g, "-");
  if (!$("save-name").value || $("save-name").value === R.saveName) $("save-name").value = saveName;
  R.saveName = saveName;
  $("log").innerHTML = v.log.slice().reverse().map(l => `<li>${esc(l)}</li>`).join("");
  const src = `/api/chart.png?code=${encodeURIComponent(v.code)}&v=${v.chart_key}`;
  if ($("chart").getAttribute("src") !== src) $("chart").setAttribute("src", src);
  $("debrief").disabled = v.phase === "playing";
}
async function poll() {
  const gen = ++R.gen; R.version = -1;
  while (gen === R.gen) {
    try {
      const q = `code=${encodeURIComponent(R.code)}` +
        (R.version >= 0 ? `&since=${R.version}` : "");
      const v = await api(`/api/host/state?${q}`, {headers: H});
      R.version = v.version; render(v);
    } catch (e) {
      if (e.status === 404 || e.status === 403) { say(e.message, false); showSetup(); return; }
      $("state").textContent = "connection lost: reconnecting..."; await sleep(1500);
    }
  }
}
(async () => {
  try { await api("/api/host/rooms", {headers: H}); }
  catch (e) { $("nokey").classList.remove("hidden"); return; }
  R.options = await api("/api/options"); drawSetup();
  $("s-start").onclick = create; $("s-load-btn").onclick = loadSaved;
  $("advance").onclick = () => act("advance");
  $("force").onclick = () => act("advance", {force: true});
  $("back").onclick = () => act("back");
  $("pause").onclick = () => act("pause", {paused: !R.view.paused});
  $("auto").onchange = () => act("auto", {on: $("auto").checked});
  $("save").onclick = async () => { const out = await act("save", {name: $("save-name").value,
    replace: $("save-replace").checked}); $("save-replace").checked = false;
    if (out) say(`Saved to ${out.saved}`); };
  $("new-game").onclick = e => { e.preventDefault(); showSetup(); };
  $("debrief-form").addEventListener("submit", () => {
    $("debrief-form").key.value = KEY; $("debrief-form").code.value = R.code; });
  const list = await api("/api/host/rooms", {headers: H});
  const known = list.rooms.map(r => r.code);
  if (R.code && known.includes(R.code)) enter(R.code);
  else if (known.length) enter(known[known.length - 1]);
  else showSetup();
})();
"""

PROJECTOR_BODY = """
<header><h1>Bank engagement lab: game room</h1><span class=sub id=round></span></header>
<main>
<div class=grid>
<div class=card><h2>Join at <span id=join-url></span>, code</h2>
<div class=code id=code></div><div id=state class="msg wait"></div></div>
<div class=card><h2>Teams</h2><table><thead><tr><th class=l>team</th><th class=l>bank</th>
<th>device</th><th>this round</th></tr></thead><tbody id=seats></tbody></table></div>
</div>
<div class=card id=board></div>
<div class=card><img class=chart id=chart alt="the market"></div>
</main>
"""

PROJECTOR_JS = r"""
const code = new URLSearchParams(location.search).get("code") || "";
let version = -1;
function render(v) {
  $("round").textContent = `round ${v.round} of ${v.rounds} played, week ${v.week}, ` +
    `scenario ${v.scenario}`;
  $("code").textContent = v.code; $("join-url").textContent = joinLink(v);
  $("state").textContent = status(v).replace(": set your levers and submit",
    ": teams, set your levers and submit");
  $("seats").innerHTML = seats(v);
  $("board").innerHTML = board(v, null);
  const src = `/api/chart.png?code=${encodeURIComponent(v.code)}&v=${v.chart_key}`;
  if ($("chart").getAttribute("src") !== src) $("chart").setAttribute("src", src);
}
(async () => {
  for (;;) {
    try {
      const v = await api(`/api/public?code=${encodeURIComponent(code)}` +
        (version >= 0 ? `&since=${version}` : ""));
      version = v.version; render(v);
    } catch (e) {
      $("state").textContent = e.status ? e.message : "connection lost: reconnecting...";
      await sleep(e.status ? 5000 : 1500);
    }
  }
})();
"""


def team_page() -> str:
    """The team page (``/``)."""
    return _page("Game room: team", TEAM_BODY, TEAM_JS)


def host_page() -> str:
    """The facilitator's page (``/host#key=...``)."""
    return _page("Game room: facilitator", HOST_BODY, HOST_JS)


def projector_page() -> str:
    """The projector page (``/projector?code=...``)."""
    return _page("Game room: projector", PROJECTOR_BODY, PROJECTOR_JS, big=True)


__all__ = ["host_page", "projector_page", "team_page"]
