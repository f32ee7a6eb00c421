// stormguard status page: renders the view stormguard streams over
// server-sent events. No framework, nothing loaded from outside.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let view = null;
  let lastSVG = "";

  // The cancel token comes from the address (#token=...), once, and is
  // kept in this browser; it never goes into the page or the address bar.
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    localStorage.setItem("stormguard-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = () => localStorage.getItem("stormguard-token") || "";

  function text(el, s) { if (el.textContent !== s) el.textContent = s; }
  function ago(t) {
    if (!t) return "never";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
    return s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
  }
  function left(t) {
    const s = Math.max(0, Math.round((Date.parse(t) - Date.now()) / 1000));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function row(cells) {
    const tr = document.createElement("tr");
    for (const [v, cls] of cells) {
      const td = document.createElement("td");
      td.textContent = v;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  }

  function render() {
    if (!view) return;
    const v = view;
    const p = $("phase");
    p.dataset.phase = v.phase;
    text(p, v.seen ? v.phase : "waiting for stormguard");
    const cd = $("countdown");
    cd.hidden = !v.deadline;
    if (v.deadline) text(cd, v.phase === "countdown" ? "power-down in " + left(v.deadline) : "deadline passed");
    text($("reason"), v.cancelled_by && v.phase !== "countdown" ? "cancelled by " + v.cancelled_by : (v.reason || ""));
    text($("next"), v.next || "");
    $("blind").hidden = !v.blind;
    text($("blind"), v.blind ? "BLIND: " + (v.blind_text || "no source can see lightning") : "");
    if (lastSVG !== v.svg) { $("plot").innerHTML = v.svg; lastSVG = v.svg; }
    text($("nearest"), v.nearest || "no strike nearby");
    text($("strikes"), String(v.strikes));
    text($("cells"), String(v.cells));
    const b = $("cancel");
    b.disabled = !v.can_cancel || !(v.phase === "countdown" || v.hosts.some((h) => h.pending));
    b.title = v.can_cancel ? "" : "set status.cancel-token-file to cancel from this page";
    const fleet = $("fleet").tBodies[0];
    fleet.replaceChildren(...v.hosts.map((h) => row([[h.name], [h.presence, h.presence], [h.pending ? left(h.pending) : ""], [h.answer || ""]])));
    const src = $("sources").tBodies[0];
    src.replaceChildren(...v.sources.map((s) => row([[s.name], [s.kind], [s.status + (s.detail ? ": " + s.detail : ""), s.status], [ago(s.last_report)]])));
    const l = $("link");
    l.classList.toggle("down", !v.connected || !v.online);
    text(l, !v.connected ? "stormguard has lost the broker" : v.online ? "live" : "stormguard is offline");
  }

  $("cancel").addEventListener("click", async () => {
    let t = token();
    if (!t) {
      t = prompt("Cancel token") || "";
      if (!t) return;
      localStorage.setItem("stormguard-token", t);
    }
    const out = $("cancel-result");
    text(out, "sending…");
    try {
      const r = await fetch("/api/cancel", { method: "POST", headers: { Authorization: "Bearer " + t } });
      const j = await r.json();
      if (r.status === 401) localStorage.removeItem("stormguard-token");
      text(out, j.ok ? "CANCEL sent" : "refused: " + j.error);
    } catch (e) {
      text(out, "not sent: " + e);
    }
  });

  function connect() {
    const es = new EventSource("/api/events");
    es.addEventListener("state", (e) => { view = JSON.parse(e.data); render(); });
    es.onerror = () => { const l = $("link"); l.classList.add("down"); text(l, "reconnecting…"); };
  }
  setInterval(render, 1000);
  connect();
})();
