// Polls the device once a second and fills the panels. No framework, nothing from the network.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const text = (el, s) => { if (el.textContent !== s) el.textContent = s; };

  function list(ul, items, withReason) {
    ul.replaceChildren(...items.slice(0, 8).map((it) => {
      const li = document.createElement("li");
      li.textContent = it.name + (it.state === "processing" ? "  ⟳" : "");
      if (withReason && it.reason) {
        const r = document.createElement("span");
        r.className = "reason";
        r.textContent = it.reason;
        li.appendChild(r);
      }
      return li;
    }));
  }

  function showResult(last) {
    const box = $("result");
    if (!last) { box.classList.add("empty"); return; }
    box.classList.remove("empty");
    text($("doc-type"), last.doc_type);
    text($("confidence"), "confidence " + Math.round(last.confidence * 100) + "%");
    const sig = $("signatures");
    if (last.signature_count > 0) {
      sig.className = "signed";
      text(sig, last.signature_count + (last.signature_count === 1 ? " signature" : " signatures"));
    } else {
      sig.className = "unsigned";
      text(sig, "UNSIGNED");
    }
    $("review").hidden = !last.needs_review;
    const dl = $("fields");
    dl.replaceChildren(...last.fields.flatMap((f) => {
      const dt = document.createElement("dt"); dt.textContent = f.name;
      const dd = document.createElement("dd"); dd.textContent = f.value;
      return [dt, dd];
    }));
    const where = last.source === "folder" || last.source === "sane" || last.source === "file"
      ? `${last.uri} · page ${last.page}${last.page_count ? "/" + last.page_count : ""}` : last.source;
    text($("source"), `${where} · ${new Date(last.at).toLocaleTimeString()}` + (last.status !== "ok" ? ` · ${last.status}` : ""));
    box.dataset.resultId = last.result_id;
  }

  function showHealth(s) {
    const sync = $("sync-state");
    if (!s.sync.enabled) { sync.className = "badge"; text(sync, "sync off · backlog " + s.sync.backlog); }
    else if (s.sync.online) { sync.className = "badge online"; text(sync, "online · backlog " + s.sync.backlog); }
    else { sync.className = "badge offline"; text(sync, "offline · backlog " + s.sync.backlog); }
    const h = s.health || {};
    const parts = [];
    if (h.fps !== undefined && s.live_sources.length) parts.push(h.fps.toFixed(0) + " fps");
    if (h.cpu_temp_c) parts.push("CPU " + h.cpu_temp_c.toFixed(0) + "°C");
    if (h.gpu_temp_c) parts.push("GPU " + h.gpu_temp_c.toFixed(0) + "°C");
    if (h.disk_free_mb !== undefined) parts.push("disk " + (h.disk_free_mb / 1024).toFixed(1) + " GB free");
    if (h.intake_paused) parts.push("⚠ " + h.intake_paused);
    text($("health"), parts.join(" · "));
  }

  async function tick() {
    try {
      const r = await fetch("/api/state", { cache: "no-store" });
      const s = await r.json();
      showResult(s.last);
      const recent = $("recent");
      recent.replaceChildren(...s.recent.map((c) => {
        const li = document.createElement("li");
        li.textContent = `${c.doc_type} · ${c.signature_count ? c.signature_count + " sig." : "unsigned"}`;
        return li;
      }));
      if (s.has_queue) {
        $("queue").hidden = false;
        list($("q-waiting"), s.queue.waiting, false);
        list($("q-done"), s.queue.done, false);
        list($("q-failed"), s.queue.failed, true);
        text($("n-waiting"), String(s.queue.waiting.length));
        text($("n-done"), String(s.queue.done.length));
        text($("n-failed"), String(s.queue.failed.length));
      }
      const note = $("gate-note");
      if (note && s.views["0"]) text(note, s.views["0"].note);
      showHealth(s);
      const fatal = $("fatal");
      fatal.hidden = !s.fatal;
      if (s.fatal) text(fatal, "Device problem: " + s.fatal);
    } catch (e) {
      const sync = $("sync-state");
      sync.className = "badge offline";
      text(sync, "device not answering");
    }
  }
  tick();
  setInterval(tick, 1000);
})();
