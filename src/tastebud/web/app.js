// tastebud's web panel: one page, four hash routes, the JSON API through fetch and nothing else.
// No framework and no build step: small functions that build DOM nodes. Text from the API (prompts,
// names, reasons) only ever goes in through text nodes, never as HTML.

const KEYS = { user: "tastebud.user", theme: "tastebud.theme", pageSize: "tastebud.pageSize" };
const PAGE_SIZES = [12, 24, 48, 96]; // thumbnails per review page: the choices, 24 by default

const state = {
  user: initialUser(),
  route: "overview",
  review: null, // freshReview(), once the page starts
};

// -- small helpers ----------------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

/** An element: h("p", {class: "muted"}, "text", child). `on*` attributes become listeners,
 *  `style` sets custom properties (allowed by a strict CSP, unlike style attributes). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

// localStorage can be missing or refuse (private windows, file quotas): remembering is a nicety.
function remember(key, value) {
  try { localStorage.setItem(key, value); } catch { /* not remembered */ }
}
function recall(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

function initialUser() {
  const fromUrl = (new URLSearchParams(location.search).get("user_id") || "").trim();
  if (fromUrl) {
    remember(KEYS.user, fromUrl);
    return fromUrl;
  }
  return recall(KEYS.user) || "default";
}

const pct = (rate) => `${Math.round((rate || 0) * 100)}%`;
const plural = (n, one, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;
// "epicrealismXL_pureFix.safetensors" -> "epicrealismXL_pureFix": where space is short.
const short = (name) => String(name).replace(/\.(safetensors|ckpt|pt|pth|bin|gguf)$/i, "");
// A name that may wrap after "_", "-" or "." rather than in the middle of a word.
const breakable = (name) => String(name).split(/(?<=[_.-])/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));

/** The label the API gives, or the same thresholds when it gives only the level. */
function evidenceLabel(level, label) {
  if (label) return label;
  if (level >= 0.75) return "High confidence";
  if (level >= 0.25) return "Learning";
  return "Exploring";
}
function badge(label) {
  const kind = { "High confidence": "high", Learning: "learning" }[label] || "exploring";
  return h("span", { class: `badge ${kind}` }, label);
}

function bar(rate, label) {
  return h("div", { class: "bar", role: "img", "aria-label": label, title: label, style: { "--value": String(Math.max(0, Math.min(1, rate || 0))) } }, h("span"));
}

// -- the API ----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || (status ? `HTTP ${status}` : "No answer");
    super(error);
    this.status = status;
    this.error = error;
    this.details = (body && Array.isArray(body.details)) ? body.details : [];
  }
}

/** fetch, with the profile in the query (unless `profile: false`), JSON in and out, and every
 *  failure turned into an ApiError in the API's one error shape. */
async function api(path, { params = {}, method = "GET", json, body, profile = true } = {}) {
  const url = new URL(path, location.href);
  if (profile) url.searchParams.set("user_id", state.user);
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  const init = { method, headers: { Accept: "application/json" } };
  if (json !== undefined) init.body = JSON.stringify(json);
  else if (body !== undefined) init.body = body;
  if (init.body !== undefined) init.headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, {
      error: "The server cannot be reached",
      details: [{ field: "server", reason: "is `tastebud serve` still running?" }],
    });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** An error as the page shows it: status and title, then each field and its reason. */
function errorView(error) {
  if (!(error instanceof ApiError)) {
    console.error(error);
    return h("div", { class: "alert", role: "alert" }, h("p", {}, h("strong", {}, "Something went wrong in the page: "), String(error && error.message)));
  }
  const head = error.status ? `${error.status} ${error.error}` : error.error;
  return h("div", { class: "alert", role: "alert" },
    h("p", {}, h("strong", {}, head)),
    error.details.length
      ? h("ul", {}, error.details.map((d) => h("li", {}, d.field ? [h("code", {}, d.field), ": "] : null, d.reason)))
      : null,
    error.status === 401 ? tokenForm() : null);
}

/** A server started with --token wants it on every request, and the thumbnails and the export
 *  download are plain browser requests that carry no header: so the server keeps the token in a
 *  cookie of its own (POST /api/session), which no script can read (HttpOnly) and no other
 *  site's page can send (SameSite=Strict), for this browser session. */
function tokenForm() {
  const input = h("input", { type: "password", name: "token", required: true, autocomplete: "current-password" });
  const id = `token-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  const said = h("div", { class: "token-error", role: "alert" });
  return h("form", { class: "form token", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await api("/api/session", { method: "POST", json: { token: input.value }, profile: false });
      location.reload();
    } catch (error) {
      said.textContent = error instanceof ApiError
        ? error.details.map((d) => `${d.field}: ${d.reason}`).join("; ") || error.error
        : String(error);
    }
  } },
    h("div", { class: "field" }, h("label", { for: id }, "This server needs its token"), input),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Use token")),
    said);
}

// Only the latest request for a region may draw it: switching profiles fast must not leave an
// older answer on screen.
const tickets = {};
function ticket(region) {
  const mine = (tickets[region] || 0) + 1;
  tickets[region] = mine;
  return () => tickets[region] === mine;
}

// -- theme ------------------------------------------------------------------------------------

const darkQuery = matchMedia("(prefers-color-scheme: dark)");

function applyTheme() {
  const chosen = recall(KEYS.theme);
  // No choice stored: no attribute, and the CSS follows prefers-color-scheme by itself.
  if (chosen === "dark" || chosen === "light") document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
  const dark = chosen ? chosen === "dark" : darkQuery.matches;
  const button = $("#theme");
  // The button says what it does: "Light theme" while the page is dark.
  button.dataset.dark = String(dark);
  $(".theme-label", button).textContent = dark ? "Light theme" : "Dark theme";
  button.title = chosen ? "Remembered choice; the system setting is ignored" : "Following the system setting";
}

function toggleTheme() {
  const dark = $("#theme").dataset.dark === "true";
  remember(KEYS.theme, dark ? "light" : "dark");
  applyTheme();
}

// -- profile ----------------------------------------------------------------------------------

async function fillProfiles() {
  const select = $("#profile");
  const current = ticket("switcher");
  let names = [];
  try {
    const data = await api("/api/profiles");
    names = data.profiles.map((p) => p.user_id);
  } catch {
    // The switcher still works with the current profile; the Data page shows the error.
  }
  if (!current()) return;
  for (const name of ["default", state.user]) if (!names.includes(name)) names.unshift(name);
  select.replaceChildren(...names.map((name) => h("option", { value: name, selected: name === state.user }, name)));
  select.value = state.user;
}

function switchProfile(name) {
  name = name.trim();
  if (!name || name === state.user) return;
  state.user = name;
  state.review = freshReview(); // marks and undo belong to the profile they were made in
  remember(KEYS.user, name);
  // Keep a shared link (?user_id=...) truthful instead of pointing back at the old profile.
  const url = new URL(location.href);
  if (url.searchParams.has("user_id")) {
    url.searchParams.set("user_id", name);
    history.replaceState(null, "", url);
  }
  fillProfiles();
  $("#recommendation").replaceChildren();
  for (const id of ["#import-result", "#profile-result", "#check-result"]) $(id).replaceChildren();
  show(false);
}

// -- routes -----------------------------------------------------------------------------------

const LOADERS = {
  overview: loadOverview,
  recommend: () => {},
  review: loadReview,
  events: loadEvents,
  cleanup: loadCleanup,
  data: loadData,
};

function routeFromHash() {
  const name = location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return Object.hasOwn(LOADERS, name) ? name : "overview";
}

/** Show the page of the hash and load its data; `moveFocus` after a navigation, so a screen
 *  reader or keyboard user lands on the new page's heading instead of the old link. */
function show(moveFocus) {
  state.route = routeFromHash();
  for (const page of document.querySelectorAll(".page")) page.hidden = page.dataset.page !== state.route;
  for (const link of document.querySelectorAll("nav a[data-route]")) {
    if (link.dataset.route === state.route) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const node of document.querySelectorAll(".current-profile")) node.textContent = state.user;
  const title = $(`#${state.route}-title`);
  document.title = `${title.textContent} · tastebud`;
  if (moveFocus) title.focus();
  LOADERS[state.route]();
}

// -- events -----------------------------------------------------------------------------------

/** The filters of the Events form, as query parameters (empty ones left out). */
function eventFilters() {
  const form = $("#events-form");
  const filters = { user_id: state.user };
  for (const name of ["checkpoint", "keyword", "action", "session_id"]) {
    const value = form.elements[name].value.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

/** The recorded events, newest first, a page at a time; the downloads follow the filters. */
async function loadEvents(event) {
  if (event) event.preventDefault();
  const filters = eventFilters();
  for (const format of ["csv", "json"]) {
    const query = new URLSearchParams({ ...filters, format });
    $(`#events-${format}`).href = `/api/preferences/download?${query}`;
  }
  const root = $("#events");
  const current = ticket("events");
  const rows = h("tbody", {});
  const more = h("p", {});
  const showPage = async (cursor) => {
    try {
      const page = await api("/api/preferences", { params: { ...filters, limit: 50, cursor }, profile: false });
      if (!current()) return;
      if (!cursor) {
        root.replaceChildren(
          h("p", { class: "muted", id: "events-total" }, `${Number(page.total).toLocaleString()} ${page.total === 1 ? "event" : "events"}`),
          page.total ? h("div", { class: "table-wrap" }, h("table", { id: "events-table" },
            h("thead", {}, h("tr", {}, ["Date", "", "Checkpoint", "LoRAs", "Prompt", ""].map((title) => h("th", { scope: "col" }, title)))),
            rows)) : null,
          more);
      }
      rows.append(...page.preferences.map((e) => h("tr", { "data-generation": e.generation_id },
        h("td", {}, new Date(e.timestamp).toLocaleDateString()),
        h("td", {}, e.action === "selected" ? "kept" : "rejected"),
        h("td", { class: "name" }, e.checkpoint),
        h("td", {}, e.loras.map((l) => `${l.name}:${l.strength}`).join(", ")),
        h("td", { class: "prompt" }, e.prompt),
        h("td", {}, h("button", { type: "button", class: "quiet", onclick: () => forgetEvent(e), "aria-label": `Forget ${e.generation_id}` }, "Forget")))));
      more.replaceChildren(page.next_cursor
        ? h("button", { type: "button", onclick: () => showPage(page.next_cursor) }, "More")
        : null);
    } catch (error) {
      if (current()) root.replaceChildren(errorView(error));
    }
  };
  await showPage(null);
}

/** Forget one event (a mis-click) after the browser's confirmation; the list is read again. */
async function forgetEvent(e) {
  const what = `${e.action === "selected" ? "kept" : "rejected"} image of “${e.prompt.slice(0, 60)}”`;
  if (!confirm(`Forget the ${what}? Its statistics go with it.`)) return;
  try {
    await api(`/api/preferences/${encodeURIComponent(e.generation_id)}`, { method: "DELETE" });
    await loadEvents();
  } catch (error) {
    $("#events").prepend(errorView(error));
  }
}

// -- overview ---------------------------------------------------------------------------------

async function loadOverview() {
  const root = $("#overview");
  const current = ticket("overview");
  root.setAttribute("aria-busy", "true");
  try {
    const data = await api("/api/preferences/overview");
    if (current()) root.replaceChildren(overviewView(data));
  } catch (error) {
    if (current()) root.replaceChildren(errorView(error));
  } finally {
    if (current()) root.setAttribute("aria-busy", "false");
  }
}

function waitingLine(waiting) {
  const images = waiting === 1 ? "1 image is" : `${waiting.toLocaleString()} images are`;
  return h("p", { class: "waiting" }, `${images} waiting for review: judge them on the `,
    h("a", { href: "#/review" }, "Review"), " page.");
}

function emptyOverview(waiting) {
  if (waiting) {
    return h("div", { class: "empty" },
      h("h2", {}, `Nothing judged yet for profile “${state.user}”`),
      waitingLine(waiting),
      h("p", {}, "Each image you keep or reject there teaches tastebud your taste."));
  }
  return h("div", { class: "empty" },
    h("h2", {}, `Nothing recorded yet for profile “${state.user}”`),
    h("p", {}, "tastebud learns from the images you keep and reject. To start:"),
    h("ul", {},
      h("li", {}, "import the images you already have: ", h("code", {}, "tastebud import-images DIR"), " (then judge them on the ", h("a", { href: "#/review" }, "Review"), " page);"),
      h("li", {}, "or record from your generator: ", h("code", {}, "POST /api/preferences/batch"), " after each batch;"),
      h("li", {}, "or bring an export from another machine on the ", h("a", { href: "#/data" }, "Data"), " page.")),
    state.user === "demo"
      ? h("p", {}, "The demo profile is filled by ", h("code", {}, "tastebud serve --demo"), ".")
      : h("p", {}, "Or look around first: ", h("button", { type: "button", class: "link", onclick: () => switchProfile("demo") }, "try the demo profile"), "."));
}

function overviewView(data) {
  const totals = data.totals || { selected: 0, rejected: 0, total: 0 };
  if (!totals.total) return emptyOverview(data.waiting || 0);
  return h("div", { class: "stack" },
    h("section", { class: "card", "aria-labelledby": "totals-title" },
      h("h2", { id: "totals-title" }, `Profile “${data.user_id || state.user}”`),
      h("dl", { class: "totals" },
        h("div", {}, h("dt", {}, "Selected"), h("dd", { "data-total": "selected" }, totals.selected.toLocaleString())),
        h("div", {}, h("dt", {}, "Rejected"), h("dd", { "data-total": "rejected" }, totals.rejected.toLocaleString())),
        h("div", {}, h("dt", {}, "Judged"), h("dd", { "data-total": "total" }, totals.total.toLocaleString())),
        h("div", {}, h("dt", {}, "Kept overall"), h("dd", {}, pct(totals.selected / totals.total)))),
      data.waiting ? waitingLine(data.waiting) : null),
    h("div", { class: "grid-2" }, checkpointsCard(data.checkpoints || []), lorasCard(data)),
    styleCard(data.style),
    heatmapCard(data.heatmap),
    weeksCard(data.weeks || []));
}

function checkpointsCard(checkpoints) {
  const rows = checkpoints.map((c) => {
    const label = evidenceLabel(c.evidence_level, c.label);
    return h("tr", { class: "checkpoint-row" },
      h("td", { class: "name", title: c.checkpoint }, h("span", { class: "block" }, breakable(short(c.checkpoint))), badge(label)),
      h("td", { class: "bar-cell" }, bar(c.rate, `${pct(c.rate)} kept`)),
      h("td", { class: "num" }, pct(c.rate), h("span", { class: "muted small block" }, `${c.selected} of ${c.total}`)));
  });
  return h("section", { class: "card", "aria-labelledby": "checkpoints-title" },
    h("h2", { id: "checkpoints-title" }, "Top checkpoints"),
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "checkpoints" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Checkpoint and evidence"), h("th", { scope: "col" }, "Selection rate"), h("th", { scope: "col", class: "num" }, "Kept"))),
          h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No checkpoint yet."),
    h("p", { class: "muted small" }, "Evidence: High confidence from 15 images, Learning from 5, else Exploring."));
}

function lorasCard(data) {
  const work = data.loras_that_work || [];
  const clashes = data.clashes || [];
  return h("section", { class: "card", "aria-labelledby": "loras-title" },
    h("h2", { id: "loras-title" }, "LoRAs"),
    h("h3", {}, "That work"),
    work.length
      ? h("ul", { class: "plain", id: "loras-work" }, work.map((l) => h("li", {},
          h("strong", {}, l.lora), " with ", h("span", { title: l.checkpoint }, short(l.checkpoint)), ": ",
          `${pct(l.rate)} kept (${l.selected} of ${l.total})`,
          h("span", { class: "muted" }, `, the checkpoint alone ${pct(l.checkpoint_rate)}`))))
      : h("p", { class: "muted" }, "None stands out yet: a LoRA shows here once it is kept more often than its checkpoint alone."),
    h("h3", {}, "That clash"),
    clashes.length
      ? h("ul", { class: "plain", id: "loras-clash" }, clashes.map((l) => h("li", { title: l.why },
          h("strong", {}, l.lora), " with ", h("span", { title: l.checkpoint }, short(l.checkpoint)), ": ",
          `${pct(l.rate)} kept (${l.selected} of ${l.total})`,
          h("span", { class: "muted" }, `, against ${pct(l.checkpoint_rate)} without it`))))
      : h("p", { class: "muted" }, "No clash found."));
}

// The scale whose two ends are kept most differently (each end with a few images): the sentence
// the card leads with, "You keep 71% of bright images, 22% of dark ones".
function telling(scales) {
  let best = null;
  for (const scale of scales) {
    const [low, , high] = scale.looks;
    if (low.total < 5 || high.total < 5) continue;
    const gap = Math.abs(high.rate - low.rate);
    if (!best || gap > best.gap) best = { gap, more: high.rate >= low.rate ? high : low, less: high.rate >= low.rate ? low : high };
  }
  return best;
}

function styleCard(style) {
  const section = h("section", { class: "card", id: "style", "aria-labelledby": "style-title" },
    h("h2", { id: "style-title" }, "The looks you keep"));
  if (!style || !style.images) {
    section.append(h("p", { class: "muted" }, "No judged image with a known look yet: tastebud reads the look (light, colour, warmth, detail, flat colour or photographic) from the pictures of the images you import and review."));
    return section;
  }
  const lead = telling(style.scales);
  if (lead) {
    section.append(h("p", { class: "lead", id: "style-lead" },
      `You keep ${pct(lead.more.rate)} of ${lead.more.word} images, ${pct(lead.less.rate)} of ${lead.less.word} ones.`));
  }
  section.append(
    h("p", { class: "muted small" }, `Share kept of each look, from ${plural(style.images, "judged image")} (a look with few images leans toward your overall ${pct(style.rate)}).`),
    h("div", { class: "table-wrap" }, h("table", { class: "looks", id: "looks" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), h("th", { scope: "col" }, "Low"), h("th", { scope: "col" }, "Middle"), h("th", { scope: "col" }, "High"))),
      h("tbody", {}, style.scales.map((scale) => h("tr", { "data-feature": scale.feature },
        h("th", { scope: "row" }, scale.title),
        scale.looks.map((look) => {
          const words = `${look.word}: ${pct(look.rate)} kept (${look.selected} of ${look.total})`;
          return h("td", { class: `look${look.total ? "" : " none"}`, title: words },
            h("span", { class: "look-word" }, look.word),
            bar(look.rate, words),
            h("span", { class: "muted small" }, look.total ? `${pct(look.rate)} · ${look.total}` : "none"));
        })))))));
  return section;
}

function heatmapCard(heatmap) {
  const section = h("section", { class: "card", "aria-labelledby": "heatmap-title" },
    h("h2", { id: "heatmap-title" }, "Keywords × checkpoints"));
  if (!heatmap || !heatmap.keywords || !heatmap.keywords.length) {
    section.append(h("p", { class: "muted" }, "No keyword has history yet."));
    return section;
  }
  const head = h("tr", {}, h("td"), heatmap.checkpoints.map((c) => h("th", { scope: "col", title: c }, breakable(short(c)))));
  const rows = heatmap.keywords.map((keyword, i) => h("tr", {},
    h("th", { scope: "row" }, keyword),
    heatmap.checkpoints.map((checkpoint, j) => {
      const cell = (heatmap.cells[i] || [])[j];
      if (!cell || !cell.total) {
        return h("td", { class: "cell none", title: `${keyword} × ${checkpoint}: no images` }, "–");
      }
      // The rate is printed in the cell (readable without hover); the counts are in the title
      // and in the accessible name.
      const words = `${keyword} × ${checkpoint}: ${cell.selected} of ${cell.total} kept (${pct(cell.rate)})`;
      return h("td", { class: `cell${cell.rate >= 0.55 ? " strong" : ""}`, title: words, "aria-label": words, style: { "--rate": String(cell.rate) } }, pct(cell.rate));
    })));
  section.append(
    h("p", { class: "muted small" }, "Selection rate of the most used keywords with each checkpoint; counts on hover."),
    h("div", { class: "table-wrap" }, h("table", { class: "heatmap", id: "heatmap", style: { "--cols": String(heatmap.checkpoints.length) } }, h("thead", {}, head), h("tbody", {}, rows))),
    h("div", { class: "legend", "aria-hidden": "true" }, "0%", h("span", { class: "ramp" }), "100% kept"));
  return section;
}

function weeksCard(weeks) {
  const section = h("section", { class: "card", "aria-labelledby": "weeks-title" },
    h("h2", { id: "weeks-title" }, "Taste over time"));
  if (!weeks.length) {
    section.append(h("p", { class: "muted" }, "No weeks yet."));
    return section;
  }
  const first = weeks[0];
  const last = weeks[weeks.length - 1];
  const summary = `Selection rate by week, ${plural(weeks.length, "week")}: ${pct(first.rate)} in ${first.week}, ${pct(last.rate)} in ${last.week}.`;
  section.append(
    h("p", { class: "muted small" }, "Share of images kept each week (hover a bar for its counts)."),
    h("div", { class: "weeks", id: "weeks", role: "img", "aria-label": summary },
      h("div", { class: "y-axis", "aria-hidden": "true" }, h("span", {}, "100%"), h("span", {}, "50%"), h("span", {}, "0%")),
      h("ol", { class: "cols" }, weeks.map((w) => h("li", {
        title: `${w.week} (from ${w.start}): ${w.selected} of ${w.total} kept (${pct(w.rate)})`,
        style: { "--rate": String(w.rate || 0) },
      }, h("span"))))),
    h("div", { class: "x-axis", "aria-hidden": "true" }, h("span", {}, first.start), weeks.length > 1 ? h("span", {}, last.start) : null),
    h("details", {},
      h("summary", {}, "The weeks as a table"),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Week"), h("th", { scope: "col" }, "From"), h("th", { scope: "col", class: "num" }, "Kept"), h("th", { scope: "col", class: "num" }, "Rate"))),
        h("tbody", {}, weeks.map((w) => h("tr", {}, h("td", {}, w.week), h("td", {}, w.start), h("td", { class: "num" }, `${w.selected} of ${w.total}`), h("td", { class: "num" }, pct(w.rate)))))))));
  return section;
}

// -- recommend --------------------------------------------------------------------------------

async function recommend(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const out = $("#recommendation");
  const prompt = form.prompt.value.trim();
  const available = form.available.value.trim();
  const batch = form.batch.value;
  const current = ticket("recommend");
  out.setAttribute("aria-busy", "true");
  out.replaceChildren(h("p", { class: "muted" }, "Thinking…"));
  try {
    const asked = { prompt, available };
    const [pick, split] = await Promise.all([
      api("/api/preferences/recommend/checkpoint", { params: asked }),
      api("/api/preferences/explore", { params: { ...asked, batch } }),
    ]);
    let loras = { enabled: [], left_out: [], tags: "" };
    if (pick.checkpoint) {
      // Smart selection: only the LoRAs this profile consistently keeps for such prompts.
      loras = await api("/api/preferences/recommend/lora-set", { params: { prompt, checkpoint: pick.checkpoint, most: 3 } });
    }
    if (current()) out.replaceChildren(recommendationView(pick, loras, split));
  } catch (error) {
    if (current()) out.replaceChildren(errorView(error));
  } finally {
    if (current()) out.setAttribute("aria-busy", "false");
  }
}

function recommendationView(pick, loras, split) {
  if (!pick.checkpoint) {
    return h("div", { class: "empty" },
      h("h2", {}, "No checkpoint to recommend yet"),
      h("p", {}, `Profile “${state.user}” has no checkpoint on record. Record or import a few judged images, or list the checkpoints you have in “Available checkpoints”.`),
      pick.why ? h("p", { class: "muted" }, pick.why) : null);
  }
  const label = evidenceLabel(pick.evidence_level, pick.label);
  return h("div", { class: "stack", id: "result" },
    h("section", { class: "card", "aria-labelledby": "pick-title" },
      h("h2", { id: "pick-title" }, "Use"),
      h("div", { class: "pick" },
        h("span", { class: "checkpoint", id: "pick" }, breakable(pick.checkpoint)),
        badge(label),
        h("span", { class: "muted" }, `estimated ${pct(pick.confidence)} kept · ${plural(pick.evidence, "image")} of evidence`)),
      h("p", { class: "why", id: "why" }, pick.why),
      pick.keywords && pick.keywords.length ? h("p", { class: "muted small" }, "Keywords read: ", pick.keywords.join(", ")) : null,
      h("h3", {}, "With these LoRAs"),
      loras.enabled.length
        ? [h("ul", { class: "plain", id: "loras" }, loras.enabled.map((l) => h("li", {},
            h("strong", {}, l.lora),
            l.strength === null || l.strength === undefined ? h("span", { class: "muted" }, " (no strength learned yet)") : [" at strength ", h("strong", {}, String(l.strength)), " ", h("code", {}, `<lora:${l.lora}:${l.strength}>`)],
            h("span", { class: "muted" }, ` · kept ${pct(l.score)}`),
            l.why ? h("div", { class: "muted small" }, l.why) : null))),
           h("p", { class: "small" }, "Add to the prompt: ", h("code", { id: "lora-tags" }, loras.tags))]
        : h("p", { class: "muted", id: "no-loras" }, loras.why || "No LoRA to enable for this prompt and checkpoint."),
      loras.left_out.length
        ? h("details", { class: "small" }, h("summary", {}, `Left out (${loras.left_out.length})`),
            h("ul", { class: "plain", id: "loras-left-out" }, loras.left_out.map((l) => h("li", { class: "muted" }, l.why))))
        : null),
    h("div", { class: "grid-2" }, rankingCard(pick.ranking || []), exploreCard(split)));
}

function rankingCard(ranking) {
  return h("section", { class: "card", "aria-labelledby": "ranking-title" },
    h("h2", { id: "ranking-title" }, "Every candidate"),
    h("div", { class: "table-wrap" }, h("table", { id: "ranking" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "num" }, "#"), h("th", { scope: "col" }, "Checkpoint and evidence"), h("th", { scope: "col" }, "Score"), h("th", { scope: "col", class: "num" }, "Evidence"))),
      h("tbody", {}, ranking.map((r, i) => h("tr", {},
        h("td", { class: "num" }, String(i + 1)),
        h("td", { class: "name", title: r.checkpoint }, h("span", { class: "block" }, breakable(short(r.checkpoint))), badge(evidenceLabel(r.evidence_level))),
        h("td", { class: "bar-cell" }, h("div", { class: "bar-line" }, bar(r.score, `score ${pct(r.score)}`), h("span", { class: "num small" }, pct(r.score)))),
        h("td", { class: "num" }, plural(r.evidence, "image"))))))));
}

function exploreCard(split) {
  const allocations = split.allocations || [];
  return h("section", { class: "card", "aria-labelledby": "explore-title" },
    h("h2", { id: "explore-title" }, `Explore: a batch of ${split.batch}`),
    h("div", { class: "split", "aria-hidden": "true" }, allocations.map((a) => h("span", { title: `${a.checkpoint}: ${a.images}`, style: { "--images": String(a.images) } }, String(a.images)))),
    h("ul", { class: "plain", id: "explore" }, allocations.map((a) => h("li", {},
      h("strong", {}, plural(a.images, "image")), " with ", h("span", { title: a.checkpoint }, short(a.checkpoint)),
      h("span", { class: "muted small" }, ` · score ${pct(a.score)}, propensity ${Number(a.propensity).toFixed(2)}`)))),
    split.why ? h("p", { class: "muted small" }, split.why) : null);
}

// -- review -----------------------------------------------------------------------------------

function pageSize() {
  const chosen = Number(recall(KEYS.pageSize));
  return PAGE_SIZES.includes(chosen) ? chosen : 24;
}

function choosePageSize(event) {
  remember(KEYS.pageSize, event.target.value);
  loadReview();
}

function freshReview() {
  // marks: id -> "kept" | "rejected"; undo: newest last, {kind: "mark", id, before} or
  // {kind: "commit", ids, marks}; restore: the marks to put back after an undone commit.
  return { generations: [], total: 0, marks: new Map(), cursor: 0, undo: savedUndo(), busy: false, loaded: false, restore: null };
}

// The pages recorded can be taken back after a reload too: the profile's last commits are kept
// in the browser (marks not yet recorded are not: they were never more than the page's state).
const UNDO_KEPT = 20;
const undoKey = () => `tastebud.undo.${state.user}`;

function saveUndo() {
  const commits = state.review.undo.filter((entry) => entry.kind === "commit").slice(-UNDO_KEPT);
  remember(undoKey(), JSON.stringify(commits.map((entry) => ({ ids: entry.ids, marks: [...entry.marks] }))));
}

function savedUndo() {
  try {
    const saved = JSON.parse(recall(undoKey()) || "[]");
    return (Array.isArray(saved) ? saved : [])
      .filter((entry) => entry && Array.isArray(entry.ids) && entry.ids.every(Number.isInteger) && Array.isArray(entry.marks))
      .map((entry) => ({ kind: "commit", ids: entry.ids, marks: new Map(entry.marks) }));
  } catch {
    return []; // unreadable: nothing to take back, rather than a page that fails
  }
}

async function loadReview({ focusGrid = false } = {}) {
  const r = state.review;
  const current = ticket("review");
  const body = $("#review-body");
  body.setAttribute("aria-busy", "true");
  try {
    const data = await api("/api/generations", { params: { status: "unreviewed", limit: pageSize(), ...reviewFilters() } });
    if (!current()) return;
    loadFacets();  // after the images: the page never waits for the filters' counts
    const ids = new Set(data.generations.map((g) => g.id));
    const before = r.restore || r.marks;
    r.marks = new Map([...before].filter(([id]) => ids.has(id)));
    r.restore = null;
    // A new page (after a commit) starts at its first image; the same page keeps its place.
    const samePage = r.generations.length && r.generations[0].id === (data.generations[0] || {}).id;
    r.cursor = samePage ? Math.min(r.cursor, data.generations.length - 1) : 0;
    r.generations = data.generations;
    r.total = data.total;
    r.loaded = true;
    renderReview(focusGrid);
  } catch (error) {
    if (current()) body.replaceChildren(errorView(error));
  } finally {
    if (current()) body.setAttribute("aria-busy", "false");
  }
}

// -- the review page's filters ------------------------------------------------------------------

/** The filters chosen, as query parameters (empty ones left out). */
function reviewFilters() {
  const found = {};
  for (const name of ["folder", "checkpoint", "lora", "since", "until"]) {
    const value = $(`#filter-${name}`).value;
    if (value) found[name] = value;
  }
  return found;
}

async function loadFacets() {
  const current = ticket("facets");
  try {
    const facets = await api("/api/generations/facets", { params: { status: "unreviewed" } });
    if (current()) fillFilters(facets);
  } catch {
    // The filters keep what they listed; the page itself has loaded.
  }
}

/** Each select lists what the queue has (with how many), keeping what is chosen. */
function fillFilters(facets) {
  const fill = (id, items, all) => {
    const select = $(id);
    const chosen = select.value;
    const options = [h("option", { value: "" }, all)];
    for (const item of items) options.push(h("option", { value: item.name }, `${item.name} (${item.count})`));
    if (chosen && !items.some((item) => item.name === chosen)) options.push(h("option", { value: chosen }, `${chosen} (0)`));
    select.replaceChildren(...options);
    select.value = chosen;
  };
  fill("#filter-folder", facets.folders || [], "All folders");
  fill("#filter-checkpoint", facets.checkpoints || [], "All checkpoints");
  fill("#filter-lora", facets.loras || [], "With or without");
  for (const name of ["since", "until"]) {
    const input = $(`#filter-${name}`);
    if (facets.first) input.min = facets.first;
    if (facets.last) input.max = facets.last;
  }
}

function filtersChanged() {
  state.review.cursor = 0;
  loadReview();
}

function caption(g) {
  const m = g.metadata || {};
  const checkpoints = (m.checkpoints || []).map((c) => c.name).filter(Boolean);
  const loras = (m.loras || []).map((l) => (l.strength === null || l.strength === undefined ? l.name : `${l.name} ${l.strength}`));
  return {
    prompt: m.prompt || "(no prompt)",
    checkpoint: checkpoints.join(", ") || "(no checkpoint)",
    loras: loras.join(", "),
  };
}

function renderReview(focusGrid) {
  const r = state.review;
  const body = $("#review-body");
  updateReviewButtons();
  if (!r.generations.length && Object.keys(reviewFilters()).length) {
    body.replaceChildren(h("div", { class: "empty", id: "review-empty" },
      h("p", {}, h("strong", {}, "No image awaiting review matches these filters."), " ",
        h("button", { type: "button", class: "link", onclick: () => { $("#review-filters").reset(); } }, "Show all")),
      r.undo.length ? h("p", {}, "Press ", h("kbd", {}, "U"), " or Undo to take back the last page you judged.") : null));
    reviewStatus();
    return;
  }
  if (!r.generations.length) {
    body.replaceChildren(h("div", { class: "empty", id: "review-empty" },
      h("p", {}, h("strong", {}, "Nothing awaits review:"), " run ", h("code", {}, "tastebud import-images DIR"), " or ", h("code", {}, "tastebud watch DIR"), "."),
      h("p", { class: "muted" }, `Imported images that are in no kept or rejected folder wait here, for profile “${state.user}”`,
        state.user === "default" ? "." : [" (add ", h("code", {}, `--user ${state.user}`), ")."]),
      r.undo.length ? h("p", {}, "Press ", h("kbd", {}, "U"), " or Undo to take back the last page you judged.") : null));
    reviewStatus();
    return;
  }
  const items = r.generations.map((g, index) => {
    const about = caption(g);
    const src = `/api/generations/${encodeURIComponent(g.id)}/thumbnail?user_id=${encodeURIComponent(state.user)}`;
    const image = h("img", { src, alt: "", decoding: "async", width: "256", height: "256" });
    // A placeholder says so while the server makes the thumbnail (the first time, a large
    // image takes a moment); one it cannot make leaves a readable box, not a broken-image icon.
    const picture = h("span", { class: "picture loading" }, image, h("span", { class: "placeholder", "aria-hidden": "true" }, "Making preview…"));
    image.addEventListener("load", () => picture.classList.remove("loading"));
    image.addEventListener("error", () => { picture.classList.remove("loading"); image.replaceWith(h("span", { class: "noimage" }, "No preview")); });
    return h("li", {},
      h("button", {
        type: "button",
        class: "thumb",
        "data-index": String(index),
        "data-id": String(g.id),
        tabindex: index === r.cursor ? "0" : "-1",
        title: `Prompt: ${about.prompt}\nCheckpoint: ${about.checkpoint}${about.loras ? `\nLoRAs: ${about.loras}` : ""}`,
        onclick: () => { setCursor(index, false); openViewer(); },
        onfocus: () => setCursor(index, false),
      },
      picture,
      h("span", { class: "visually-hidden" }, `Image ${index + 1} of ${r.generations.length}: `),
      h("span", { class: "mark" }),
      h("span", { class: "caption" }, h("b", {}, about.prompt), about.checkpoint, about.loras ? ` · ${about.loras}` : "")));
  });
  body.replaceChildren(h("ul", { class: "review-grid", id: "review-grid", "aria-label": "Images awaiting review", "aria-describedby": "review-help" }, items));
  r.generations.forEach((_, index) => paintThumb(index));
  setCursor(r.cursor, focusGrid);
  reviewStatus();
}

const thumbs = () => [...document.querySelectorAll("#review-grid .thumb")];

// -- the full-size view -------------------------------------------------------------------------
// Space, a click or a tap shows the focused image full size, with what made it beside it. The
// review keys work in it (S, X, U; the arrows move to the next image); Space or Esc closes it.

const viewer = () => $("#viewer");

function openViewer() {
  const r = state.review;
  if (!r.generations[r.cursor]) return;
  r.viewing = r.cursor;
  paintViewer();
  if (!viewer().open) viewer().showModal();
}

function closeViewer() {
  if (viewer().open) viewer().close();
}

function detail(label, value) {
  return value === null || value === undefined || value === "" ? null : h("div", {}, h("dt", {}, label), h("dd", {}, String(value)));
}

function paintViewer() {
  const r = state.review;
  const g = r.generations[r.cursor];
  if (!g) return closeViewer();
  const m = g.metadata || {};
  const mark = r.marks.get(g.id);
  const loras = (m.loras || []).map((l) => (l.strength === null || l.strength === undefined ? l.name : `${l.name} at ${l.strength}`));
  const size = m.width && m.height ? `${m.width} × ${m.height}` : null;
  const image = h("img", { src: `/api/generations/${encodeURIComponent(g.id)}/image?user_id=${encodeURIComponent(state.user)}`, alt: m.prompt || "the image" });
  image.addEventListener("error", () => image.replaceWith(h("p", { class: "noimage" }, "The image cannot be shown (its file is gone or unreadable).")));
  const button = (label, key, action, first = false) => h("button", { type: "button", onclick: action, autofocus: first }, h("kbd", {}, key), ` ${label}`);
  viewer().replaceChildren(
    h("div", { class: "viewer" },
      h("div", { class: `viewer-image${mark ? ` ${mark}` : ""}` }, image),
      h("div", { class: "viewer-about" },
        h("h2", { id: "viewer-title" }, `Image ${r.cursor + 1} of ${r.generations.length}`),
        h("p", { class: "viewer-mark", "data-mark": mark || "" }, mark === "kept" ? "✓ Kept" : mark === "rejected" ? "✕ Rejected" : "Not marked"),
        h("dl", { class: "viewer-details" },
          detail("Prompt", m.prompt || "(no prompt)"),
          detail("Negative prompt", m.negative_prompt),
          detail("Checkpoint", (m.checkpoints || []).map((c) => c.name).filter(Boolean).join(", ") || "(no checkpoint)"),
          detail("LoRAs", loras.join(", ")),
          detail("Seed", m.seed), detail("Sampler", m.sampler), detail("Steps", m.steps),
          detail("CFG scale", m.cfg_scale), detail("Size", size),
          g.style ? detail("Look", g.look && g.look.length ? g.look.join(", ") : "nothing out of the ordinary") : detail("Look", "not read yet"),
          g.style ? h("div", { class: "viewer-style" }, h("dt", {}, "Style"), h("dd", {}, Object.entries(g.style).map(([name, value]) => `${name} ${Number(value).toFixed(2)}`).join(" · "))) : null,
          detail("File", g.path)),
        h("div", { class: "viewer-actions" },
          button("Keep", "S", () => viewerKey("s")),
          button("Reject", "X", () => viewerKey("x")),
          button("Previous", "←", () => viewerKey("ArrowLeft")),
          button("Next", "→", () => viewerKey("ArrowRight")),
          button("Close", "Esc", closeViewer, true)))));
}

/** A key in the full-size view; true when the view used it. */
function viewerKey(key) {
  const r = state.review;
  const step = { ArrowLeft: -1, ArrowRight: 1 }[key];
  if (step) {
    setCursor(r.cursor + step, false);
    r.viewing = r.cursor;
    paintViewer();
  } else if (key === " " || key === "Escape") {
    closeViewer();
  } else {
    const action = { s: "keep", x: "reject", u: "undo" }[key.toLowerCase()];
    if (!action) return false;
    if (action === "undo") { if (r.undo.length && r.undo[r.undo.length - 1].kind === "mark") undo(); }
    else toggleMark(action === "keep" ? "kept" : "rejected");
    paintViewer();
  }
  return true;
}

function paintThumb(index) {
  const button = thumbs()[index];
  if (!button) return;
  const mark = state.review.marks.get(state.review.generations[index].id);
  button.classList.toggle("kept", mark === "kept");
  button.classList.toggle("rejected", mark === "rejected");
  button.dataset.mark = mark || "";
  $(".mark", button).textContent = mark === "kept" ? "✓ Kept" : mark === "rejected" ? "✕ Rejected" : "";
}

/** Roving tabindex: the grid is one Tab stop, and the arrows move within it. */
function setCursor(index, focus) {
  const all = thumbs();
  if (!all.length) return;
  const r = state.review;
  r.cursor = Math.max(0, Math.min(all.length - 1, index));
  all.forEach((button, i) => {
    button.tabIndex = i === r.cursor ? 0 : -1;
    button.classList.toggle("current", i === r.cursor);
  });
  if (focus) all[r.cursor].focus();
}

function columns() {
  const grid = $("#review-grid");
  if (!grid) return 1;
  // The resolved tracks of `repeat(auto-fill, ...)`, one per column as laid out right now.
  return getComputedStyle(grid).gridTemplateColumns.split(" ").filter(Boolean).length || 1;
}

function toggleMark(kind) {
  const r = state.review;
  const g = r.generations[r.cursor];
  if (!g || r.busy) return;
  const before = r.marks.get(g.id) || null;
  if (before === kind) r.marks.delete(g.id);
  else r.marks.set(g.id, kind);
  r.undo.push({ kind: "mark", id: g.id, before });
  paintThumb(r.cursor);
  reviewStatus();
  updateReviewButtons();
}

function reviewStatus(message) {
  const r = state.review;
  const kept = [...r.marks.values()].filter((m) => m === "kept").length;
  const rejected = r.marks.size - kept;
  const counts = r.generations.length
    ? `${plural(r.generations.length, "image")} on this page, ${r.total.toLocaleString()} awaiting review ${Object.keys(reviewFilters()).length ? "that match the filters" : "in all"}. Marked: ${kept} kept, ${rejected} rejected.`
    : "";
  $("#review-status").textContent = [message, counts].filter(Boolean).join(" ");
}

function updateReviewButtons() {
  const r = state.review;
  const empty = !r.generations.length;
  for (const button of document.querySelectorAll(".review-bar button")) {
    const action = button.dataset.action;
    button.disabled = r.busy || (action === "undo" ? !r.undo.length : empty);
  }
}

function reviewError(error) {
  const box = $("#review-error");
  if (!error) { box.hidden = true; box.replaceChildren(); return; }
  box.replaceChildren(...errorView(error).childNodes);
  box.hidden = false;
}

async function commit(kind) {
  const r = state.review;
  if (r.busy || !r.generations.length) return;
  reviewError(null);
  const ids = r.generations.map((g) => g.id);
  // The whole page in one request, recorded in one transaction: all of it or none.
  let body;
  if (kind === "advance") {
    const kept = ids.filter((id) => r.marks.get(id) === "kept");
    if (!kept.length) {
      // An Advance keeps something by definition; rejecting everything is Reject all.
      reviewStatus("Mark at least one image kept (S) to advance, or reject the whole page (R).");
      return;
    }
    body = {
      selected: kept,
      rejected: ids.filter((id) => r.marks.get(id) === "rejected"),
      rest: ids.filter((id) => !r.marks.has(id)),
    };
  } else {
    body = { rejected: ids };
  }
  const focusGrid = document.activeElement && document.activeElement.closest("#review-grid") !== null;
  r.busy = true;
  updateReviewButtons();
  const done = [];
  let message = "";
  try {
    await api("/api/generations/advance", { method: "POST", json: { ...body, user_id: state.user } });
    done.push(...ids);
    const counts = [
      [body.selected, "kept"], [body.rejected, "rejected"], [body.rest, "rejected implicitly"],
    ].filter(([group]) => group && group.length).map(([group, what]) => `${group.length} ${what}`);
    message = `Recorded: ${counts.join(", ")}.`;
  } catch (error) {
    reviewError(error);
  } finally {
    if (done.length) {
      // The page's marks can no longer be undone one by one: the commit is what U takes back.
      r.undo = r.undo.filter((entry) => entry.kind === "commit");
      r.undo.push({ kind: "commit", ids: done, marks: new Map(r.marks) });
      r.marks = new Map();
      saveUndo();
    }
    r.busy = false;
    await loadReview({ focusGrid });
    reviewStatus(message);
  }
}

async function undo() {
  const r = state.review;
  if (r.busy) return;
  reviewError(null);
  const last = r.undo.pop();
  if (!last) {
    reviewStatus("Nothing to undo.");
    return;
  }
  if (last.kind === "mark") {
    if (last.before) r.marks.set(last.id, last.before);
    else r.marks.delete(last.id);
    const index = r.generations.findIndex((g) => g.id === last.id);
    if (index >= 0) { paintThumb(index); setCursor(index, true); }
    updateReviewButtons();
    reviewStatus("Mark undone.");
    return;
  }
  r.busy = true;
  updateReviewButtons();
  let message = "";
  try {
    await api("/api/generations/review", { method: "POST", json: { ids: last.ids, action: "unreviewed", user_id: state.user } });
    r.restore = last.marks; // the page comes back as it was marked, ready to fix and commit
    r.generations = [];
    message = `Undone: ${plural(last.ids.length, "image")} back in the queue.`;
  } catch (error) {
    // Kept to try again when the server could not answer; dropped when it refused (the images
    // were deleted or judged again elsewhere since), so it never blocks the pages before it.
    if (!error.status || error.status >= 500) r.undo.push(last);
    reviewError(error);
  } finally {
    saveUndo();
    r.busy = false;
    await loadReview({ focusGrid: true });
    reviewStatus(message);
  }
}

const REVIEW_ACTIONS = {
  keep: () => toggleMark("kept"),
  reject: () => toggleMark("rejected"),
  advance: () => commit("advance"),
  "reject-all": () => commit("reject-all"),
  undo: () => undo(),
};

function reviewKeys(event) {
  if (state.route !== "review" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (viewer().open) {
    if (!event.repeat || event.key.startsWith("Arrow")) {
      if (viewerKey(event.key)) event.preventDefault();
    }
    return;
  }
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const inGrid = Boolean(target.closest && target.closest("#review-grid"));
  const onPage = inGrid || target === document.body || Boolean(target.closest && target.closest("#page-review, main"));
  if (!onPage) return;
  const r = state.review;
  const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(), ArrowDown: columns() };
  // A held key repeats: fine for moving, not for recording a page after the next one.
  if (event.repeat && !(event.key in moves)) return;
  if (event.key in moves) {
    // Arrows move in the grid from anywhere on the page but a form field.
    if (!r.generations.length) return;
    event.preventDefault();
    setCursor(inGrid ? r.cursor + moves[event.key] : r.cursor, true);
    return;
  }
  if (event.key === " " && inGrid) {
    event.preventDefault(); // not the button's click: Space shows the image full size
    openViewer();
    return;
  }
  if (event.key === "Enter") {
    // Elsewhere Enter activates the focused button, as it should.
    if (!inGrid) return;
    event.preventDefault();
    commit("advance");
    return;
  }
  const action = { s: "keep", x: "reject", r: "reject-all", u: "undo" }[event.key.toLowerCase()];
  if (!action) return;
  event.preventDefault();
  REVIEW_ACTIONS[action]();
}

// -- data -------------------------------------------------------------------------------------

// -- cleanup ----------------------------------------------------------------------------------

function cleanupDays() {
  const days = Number($("#cleanup-days").value);
  return Number.isFinite(days) && days >= 0 ? days : 7;
}

function megabytes(size) {
  const [unit, scale] = size >= 1e9 ? ["GB", 1e9] : size >= 1e6 ? ["MB", 1e6] : ["KB", 1e3];
  return `${(size / scale).toLocaleString(undefined, { maximumFractionDigits: 1 })} ${unit}`;
}

async function loadCleanup(event) {
  if (event) event.preventDefault();
  const root = $("#cleanup");
  const current = ticket("cleanup");
  try {
    const plan = await api("/api/cleanup", { params: { older_than_days: cleanupDays() } });
    if (current()) root.replaceChildren(cleanupView(plan));
  } catch (error) {
    if (current()) root.replaceChildren(errorView(error));
  }
}

function cleanupView(plan, note) {
  const skipped = Object.entries(plan.skipped || {});
  return h("div", { class: "stack" },
    note || null,
    h("section", { class: "card", "aria-labelledby": "cleanup-found" },
      h("h2", { id: "cleanup-found" }, plan.images
        ? `${plural(plan.images, "rejected image")} can go: ${megabytes(plan.bytes)}`
        : "Nothing to clean up"),
      plan.images
        ? h("p", {}, h("button", { type: "button", class: "primary", id: "cleanup-apply", onclick: () => applyCleanup(plan) },
            `Move ${plural(plan.images, "image")} to the trash folder`))
        : h("p", { class: "muted" }, "No rejected image meets every rule yet."),
      skipped.length
        ? h("div", {}, h("h3", {}, "Left alone"), h("ul", { class: "plain", id: "cleanup-skipped" },
            skipped.map(([reason, count]) => h("li", {}, `${count.toLocaleString()}: ${reason}`))))
        : null,
      plan.images
        ? h("details", {}, h("summary", {}, "The files"),
            h("div", { class: "table-wrap" }, h("table", { id: "cleanup-files" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "File"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col" }, "Rejected"))),
              h("tbody", {}, plan.removable.slice(0, 200).map((item) => h("tr", {},
                h("td", { class: "name" }, breakable(item.path)),
                h("td", { class: "num" }, megabytes(item.size)),
                h("td", {}, item.rejected_at ? new Date(item.rejected_at).toLocaleDateString() : "")))))))
        : null));
}

async function applyCleanup(plan) {
  if (!confirm(`Move ${plural(plan.images, "rejected image")} (${megabytes(plan.bytes)}) to the trash folder? Undo puts them back.`)) return;
  await cleanupThen("/api/cleanup", { older_than_days: cleanupDays() }, (done) =>
    `Moved ${plural(done.moved, "image")} (${megabytes(done.moved_bytes)}) to the trash folder.`);
}

function undoCleanup() {
  return cleanupThen("/api/cleanup/undo", {}, (back) => {
    const failed = back.failed || [];
    return (back.restored.length ? `Put back ${plural(back.restored.length, "image")}.` : "Nothing to undo.")
      + (failed.length ? ` ${failed.length} could not be: ${failed[0].reason}.` : "");
  });
}

/** Post a cleanup or its undo, then show what it did above what can go now. */
async function cleanupThen(path, body, said) {
  const root = $("#cleanup");
  try {
    const done = await api(path, { method: "POST", json: body });
    const note = h("p", { class: "notice", role: "status", id: "cleanup-done" }, said(done));
    const next = await api("/api/cleanup", { params: { older_than_days: cleanupDays() } });
    root.replaceChildren(cleanupView(next, note));
  } catch (error) {
    root.replaceChildren(errorView(error));
  }
}

async function loadVision() {
  const root = $("#vision");
  try {
    const status = await api("/api/vision", { profile: false });
    root.replaceChildren(status.enabled
      ? h("div", {},
          h("p", {}, `${status.model} at ${status.url}: `, h("strong", { id: "vision-state" }, status.state)),
          h("p", { class: "muted" }, `${status.described.toLocaleString()} described, ${status.failed.toLocaleString()} failed${status.waiting ? `, ${status.waiting} waiting` : ""}.`),
          status.last_error ? h("p", { class: "muted small", id: "vision-error" }, `Last error: ${status.last_error}`) : null)
      : h("p", { class: "muted", id: "vision-state" }, "Off. Start the server with --vision-url http://127.0.0.1:11434 (Ollama) to have a local model describe each judged image; nothing is sent anywhere otherwise."));
  } catch (error) {
    root.replaceChildren(errorView(error));
  }
}

function loadData() {
  loadVision();
  const link = $("#export-link");
  link.href = `/api/preferences/export?user_id=${encodeURIComponent(state.user)}`;
  link.setAttribute("download", `tastebud-${state.user.replace(/[^\w.-]+/g, "_")}.json`);
  loadProfiles();
}

async function loadProfiles() {
  const root = $("#profiles");
  const current = ticket("profiles");
  try {
    const data = await api("/api/profiles");
    if (!current()) return;
    const profiles = data.profiles || [];
    root.replaceChildren(profiles.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "profile-table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Profile"), h("th", { scope: "col", class: "num" }, "Events"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
          h("tbody", {}, profiles.map((p) => h("tr", { "data-profile": p.user_id },
            h("td", { class: "name" }, p.user_id),
            h("td", { class: "num" }, Number(p.total).toLocaleString()),
            h("td", {}, p.user_id === state.user
              ? h("span", { class: "muted" }, "current")
              : [h("button", { type: "button", onclick: () => switchProfile(p.user_id), "aria-label": `Switch to ${p.user_id}` }, "Switch"),
                 " ",
                 h("button", { type: "button", class: "quiet", onclick: () => deleteProfile(p.user_id), "aria-label": `Delete ${p.user_id}` }, "Delete")]))))))
      : h("p", { class: "muted" }, "No profile has events yet."));
  } catch (error) {
    if (current()) root.replaceChildren(errorView(error));
  }
}

/** Delete another profile (never the one shown), after the browser's own confirmation. */
async function deleteProfile(name) {
  const out = $("#profile-result");
  if (!confirm(`Delete profile “${name}” and everything learned of it? This cannot be undone.`)) return;
  try {
    const gone = await api(`/api/profiles/${encodeURIComponent(name)}`, { method: "DELETE", profile: false });
    const events = Number(gone.events);
    out.replaceChildren(h("p", { class: "notice" }, `Deleted profile “${name}” (${events.toLocaleString()} ${events === 1 ? "event" : "events"}).`));
  } catch (error) {
    out.replaceChildren(errorView(error));
  }
  loadProfiles();
  fillProfiles();
}

async function createProfile(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const out = $("#profile-result");
  const name = form.user_id.value.trim();
  try {
    // No ?user_id= here: the new name is in the body, and the current profile is not the subject.
    const made = await api("/api/profiles", { method: "POST", json: { user_id: name }, profile: false });
    form.reset();
    switchProfile(made.user_id || name);
    $("#profile-result").replaceChildren(h("p", { class: "notice" }, `Created profile “${made.user_id || name}” and switched to it.`));
  } catch (error) {
    out.replaceChildren(errorView(error));
  }
}

async function importFile(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const out = $("#import-result");
  const file = form.file.files[0];
  if (!file) return;
  const into = state.user;
  const button = $("button[type=submit]", form);
  button.disabled = true;
  out.replaceChildren(h("p", { class: "muted" }, `Importing ${file.name}…`));
  try {
    const text = await file.text();
    const result = await api("/api/preferences/import", { method: "POST", body: text });
    out.replaceChildren(h("div", { class: "notice", id: "import-summary" },
      h("p", {}, h("strong", {}, `Imported ${file.name} into “${result.user_id || into}”.`)),
      h("p", {}, `${result.added} added, ${result.replaced} replaced, ${result.unchanged} unchanged, ${result.kept_newer} kept (the stored one was newer).`)));
    form.reset();
    fillProfiles();
    loadProfiles();
  } catch (error) {
    out.replaceChildren(h("p", {}, `${file.name} was not imported; nothing changed.`), errorView(error));
  } finally {
    button.disabled = false;
  }
}

async function checkOrRepair(repair) {
  const out = $("#check-result");
  out.replaceChildren(h("p", { class: "muted" }, repair ? "Repairing…" : "Checking…"));
  try {
    const report = repair ? await api("/api/repair", { method: "POST" }) : await api("/api/check");
    const counts = `${plural(report.events, "event")}, ${plural(report.statistics, "statistic")}, ${report.wrong} wrong`;
    let verdict;
    if (repair) verdict = report.ok ? "Nothing needed repair." : `Repaired: ${plural(report.wrong, "statistic")} differed from a recount of the events and ${report.wrong === 1 ? "was" : "were"} rebuilt.`;
    else verdict = report.ok ? "All statistics match the events." : `${plural(report.wrong, "statistic")} differ from a recount of the events: Repair rebuilds them.`;
    out.replaceChildren(h("div", { class: "notice", id: "check-report" }, h("p", {}, h("strong", {}, verdict)), h("p", { class: "muted" }, counts)));
  } catch (error) {
    out.replaceChildren(errorView(error));
  }
}

// -- start ------------------------------------------------------------------------------------

function start() {
  state.review = freshReview();
  applyTheme();
  darkQuery.addEventListener("change", applyTheme);
  $("#theme").addEventListener("click", toggleTheme);
  $("#profile").addEventListener("change", (event) => switchProfile(event.target.value));
  $("#recommend-form").addEventListener("submit", recommend);
  $("#events-form").addEventListener("submit", loadEvents);
  $("#cleanup-form").addEventListener("submit", loadCleanup);
  $("#cleanup-undo").addEventListener("click", undoCleanup);
  $("#import-form").addEventListener("submit", importFile);
  $("#profile-form").addEventListener("submit", createProfile);
  $("#check").addEventListener("click", () => checkOrRepair(false));
  $("#repair").addEventListener("click", () => checkOrRepair(true));
  for (const button of document.querySelectorAll(".review-bar button")) {
    button.addEventListener("click", () => REVIEW_ACTIONS[button.dataset.action]());
  }
  document.addEventListener("keydown", reviewKeys);
  // Closed however (Esc, a button): the focus goes back to the image the view showed last (the
  // browser gives it back to the one it was opened from, which would move the cursor there).
  viewer().addEventListener("close", () => setCursor(state.review.viewing ?? state.review.cursor, true));
  $("#page-size").value = String(pageSize());
  $("#page-size").addEventListener("change", choosePageSize);
  $("#review-filters").addEventListener("change", filtersChanged);
  $("#review-filters").addEventListener("reset", () => setTimeout(filtersChanged));
  $("#review-filters").addEventListener("submit", (event) => { event.preventDefault(); filtersChanged(); });
  // The skip link moves focus without touching the hash, which holds the route.
  $(".skip").addEventListener("click", (event) => { event.preventDefault(); $("#main").focus(); });
  window.addEventListener("hashchange", () => show(true));
  fillProfiles();
  show(false);
}

start();
