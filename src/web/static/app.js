// kudo dashboard: live updates. The server renders (and escapes) the
// page's changing part and sends it over server-sent events; this puts it
// in place. An update waits while someone is typing into the part.
"use strict";
(function () {
  const live = document.getElementById("live");
  const status = document.getElementById("live-status");
  if (!live || !live.dataset.stream) return;
  let held = null;
  const typing = () => {
    const a = document.activeElement;
    return a && live.contains(a) && (a.tagName === "INPUT" || a.tagName === "TEXTAREA") && a.value !== "";
  };
  const apply = (html) => {
    live.innerHTML = html;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || "0") + 1);
  };
  const source = new EventSource(live.dataset.stream);
  source.addEventListener("open", () => {
    document.body.dataset.live = "open";
    if (status) status.textContent = "live: this page updates by itself";
  });
  source.addEventListener("error", () => {
    document.body.dataset.live = "closed";
    if (status) status.textContent = "live updates interrupted; retrying…";
  });
  source.addEventListener("update", (event) => {
    if (typing()) held = event.data;
    else apply(event.data);
  });
  live.addEventListener("focusout", () => {
    setTimeout(() => {
      if (held !== null && !typing()) {
        apply(held);
        held = null;
      }
    }, 0);
  });
})();
