// The kitchen display. Everything comes from the staff orders API: sign in with phone and
// PIN, poll the live orders and the print queue every two seconds with If-None-Match (an
// unchanged list costs a 304 with no body), bump an order to its next status naming the
// version shown (a stale screen is told and refreshed), warn when tickets are not printing.
// Text from orders (item names, a caller's notes) only ever goes into the page as text.
"use strict";
(() => {
  const POLL_MS = 2000;
  // A ticket nobody has printed for this long means the print agent or printer is down.
  const STUCK_MS = 60000;
  // A printing device reports at least every minute (its status is stored at most once a
  // minute when nothing changes): silent for three, it is probably off or offline.
  const SILENT_MS = 180000;
  const LIVE = ["received", "accepted", "preparing", "ready"];
  const NEXT = { received: "accepted", accepted: "preparing", preparing: "ready", ready: "completed" };
  const BUMP = { received: "Accept", accepted: "Start", preparing: "Ready", ready: "Picked up" };

  const businessId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
  const base = `/api/v1/businesses/${encodeURIComponent(businessId)}`;
  const storageKey = `hostline.kitchen.${businessId}`;
  const $ = (id) => document.getElementById(id);

  let session = readSession();
  let ordersTag = null;
  let jobsTag = null;
  let orders = [];
  let jobs = [];
  let printers = [];
  let timer = null;

  function readSession() {
    try { return JSON.parse(localStorage.getItem(storageKey)); } catch { return null; }
  }
  function saveSession(s) {
    session = s;
    if (s) localStorage.setItem(storageKey, JSON.stringify(s)); else localStorage.removeItem(storageKey);
  }

  async function refresh() {
    if (!session || !session.refresh_token) return false;
    const r = await fetch("/api/v1/auth/refresh", {
      method: "POST", cache: "no-store", headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    if (!r.ok) return false;
    saveSession(await r.json());
    return true;
  }

  // A request with the staff token; one refresh when the access token has expired.
  async function api(path, options = {}, retried = false) {
    const headers = Object.assign({}, options.headers);
    if (session) headers.authorization = `Bearer ${session.access_token}`;
    if (options.body) headers["content-type"] = "application/json";
    const r = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
    if (r.status === 401 && !retried && await refresh()) return api(path, options, true);
    if (r.status === 401) signOut("Please sign in again.");
    return r;
  }

  function show(signedIn) {
    $("login").hidden = signedIn;
    $("board").hidden = !signedIn;
    $("sign-out").hidden = !signedIn;
  }

  function signOut(message) {
    saveSession(null);
    clearTimeout(timer);
    ordersTag = jobsTag = null;
    show(false);
    $("login-error").textContent = message || "";
  }

  async function signIn(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    const phone = $("phone").value.replace(/[\s().-]/g, "");
    const r = await fetch("/api/v1/auth/staff-login", {
      method: "POST", cache: "no-store", headers: { "content-type": "application/json" },
      body: JSON.stringify({ business_id: businessId, phone, pin: $("pin").value }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { $("login-error").textContent = body.error || `Sign-in failed (${r.status})`; return; }
    $("pin").value = "";
    saveSession(body);
    start();
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // How long an order has waited, as a cook reads it: "4 min", "1 h 05", "2 d".
  function age(iso) {
    const m = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
    if (m < 60) return `${m} min`;
    if (m < 24 * 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")}`;
    return `${Math.floor(m / (24 * 60))} d`;
  }

  function card(o) {
    const li = el("li", "order");
    li.dataset.order = o.id;
    li.dataset.status = o.status;
    li.append(el("div", "num", `#${o.number}`));
    const how = o.fulfillment && o.fulfillment.kind === "delivery"
      ? `Delivery · ${o.fulfillment.zone}` : "Pickup";
    li.append(el("div", "meta", `${how} · ${age(o.placed_at)}`));
    const lines = el("ul", "lines");
    for (const l of o.lines) {
      const line = el("li");
      line.append(el("b", null, `${l.quantity}× `), document.createTextNode(l.name));
      const chosen = (l.options || []).filter((x) => !x.by_default).map((x) => x.name);
      if (chosen.length) line.append(el("small", null, chosen.join(", ")));
      if (l.notes) line.append(el("em", null, l.notes));
      lines.append(line);
    }
    li.append(lines);
    const bump = el("button", "bump", `${BUMP[o.status]} →`);
    bump.type = "button";
    bump.addEventListener("click", () => move(o, bump));
    li.append(bump);
    return li;
  }

  function render() {
    for (const status of LIVE) {
      const list = document.querySelector(`section[data-status="${status}"] ol`);
      const here = orders.filter((o) => o.status === status)
        .sort((a, b) => Date.parse(a.placed_at) - Date.parse(b.placed_at));
      list.replaceChildren(...here.map(card));
    }
  }

  function renderWarning() {
    const number = (orderId) => {
      const o = orders.find((x) => x.id === orderId);
      return o ? `#${o.number}` : orderId;
    };
    const now = Date.now();
    const problems = [];
    const live = new Set(["received", "accepted", "preparing", "ready"]);
    for (const j of jobs) {
      // Only tickets of orders still on the board: yesterday's unprinted tickets are history.
      const o = orders.find((x) => x.id === j.order_id);
      if (!o || !live.has(o.status)) continue;
      if (j.state === "failed") {
        problems.push(`Ticket ${number(j.order_id)} did not print: ${j.reason}`);
      } else if ((j.state === "pending" || (j.state === "leased" && Date.parse(j.until) < now))
        && now - Date.parse(j.queued_at) > STUCK_MS) {
        problems.push(`Ticket ${number(j.order_id)} is waiting to print: is the printer on?`);
      }
    }
    // What the printing devices (edge agents, CloudPRNT printers) last said of themselves.
    for (const p of printers) {
      const s = p.status;
      if (!s.ok) {
        problems.push(`${p.name}: ${s.status}`);
      } else if (now - Date.parse(s.seen_at) > SILENT_MS) {
        const since = new Date(s.seen_at).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
        problems.push(`${p.name} has not checked in since ${since}: is it on?`);
      }
    }
    const box = $("printer-warning");
    box.replaceChildren(...problems.map((p) => el("p", null, p)));
    box.hidden = problems.length === 0;
  }

  async function move(o, button) {
    button.disabled = true;
    $("problem").textContent = "";
    const r = await api(`${base}/orders/${encodeURIComponent(o.id)}/status`, {
      method: "POST", body: JSON.stringify({ status: NEXT[o.status], version: o.version }),
    });
    if (!r.ok && r.status !== 401) {
      const body = await r.json().catch(() => ({}));
      $("problem").textContent = r.status === 409
        ? `Order #${o.number} was changed on another screen; showing it as it is now.`
        : (body.error || `Could not move order #${o.number} (${r.status})`);
    }
    ordersTag = null;
    await poll();
  }

  // One GET with the last ETag; the parsed body when it changed, null when it did not.
  async function fetchIfChanged(path, tag, keep) {
    const r = await api(path, { headers: tag ? { "if-none-match": tag } : {} });
    if (r.status === 304) return null;
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    keep(r.headers.get("etag"));
    return r.json();
  }

  async function poll() {
    clearTimeout(timer);
    if (!session) return;
    try {
      const o = await fetchIfChanged(`${base}/orders?status=${LIVE.join(",")}&limit=100`,
        ordersTag, (t) => { ordersTag = t; });
      if (o) { orders = o.orders; render(); }
      const j = await fetchIfChanged(`${base}/print-jobs`, jobsTag, (t) => { jobsTag = t; });
      if (j) { jobs = j.jobs; printers = j.printers || []; }
      renderWarning();
      $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (!o) for (const m of document.querySelectorAll(".order")) {
        const order = orders.find((x) => x.id === m.dataset.order);
        if (order) m.querySelector(".meta").textContent =
          m.querySelector(".meta").textContent.replace(/ · [^·]*$/, ` · ${age(order.placed_at)}`);
      }
    } catch (e) {
      $("updated").textContent = "Connection lost; retrying…";
    }
    if (session) timer = setTimeout(poll, POLL_MS);
  }

  async function start() {
    show(true);
    const r = await api(base);
    if (r.ok) {
      const b = await r.json();
      $("title").textContent = `${b.name || businessId} — kitchen`;
    }
    poll();
  }

  $("login").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut(""));
  if (session) start(); else show(false);
})();
