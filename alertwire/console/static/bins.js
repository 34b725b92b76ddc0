// Inspector bin page: the request list grows live (Server-Sent Events), and picking a request
// or replaying it swaps in the details pane the server rendered; no markup is built here.
"use strict";

(function () {
  const page = document.querySelector("[data-bin-page]");
  if (!page) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const list = page.querySelector("[data-request-list]");
  const liveStatus = page.querySelector("[data-live-status]");
  const announce = page.querySelector("[data-announce]");
  const pane = () => document.getElementById("request-pane");

  let latest = 0; // only the answer to the latest pick or replay is shown

  // Fetch a bin page and put its details pane in place of ours; false (with the server's
  // message shown) when the answer has no pane, e.g. a refused change.
  async function swapPane(url, init) {
    const mine = ++latest;
    let text;
    let status;
    try {
      const response = await fetch(url, { credentials: "same-origin", ...init });
      status = response.status;
      text = await response.text();
    } catch (_) {
      text = "";
      status = "no answer";
    }
    if (mine !== latest) return false;
    const doc = new DOMParser().parseFromString(text, "text/html");
    const fresh = doc.getElementById("request-pane");
    if (!fresh) {
      const message = doc.getElementById("error-message")?.textContent;
      pane().querySelector("[data-pane-error]").textContent =
        message || `The server answered ${status}: reload the page.`;
      return false;
    }
    pane().replaceWith(fresh);
    return true;
  }

  function select(link, moveFocus) {
    list.querySelectorAll("a[aria-current]").forEach((a) => a.removeAttribute("aria-current"));
    link.setAttribute("aria-current", "true");
    history.replaceState(null, "", link.href);
    return swapPane(link.href).then((ok) => {
      if (ok && moveFocus) pane().querySelector("#pane-title").focus();
    });
  }

  list.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-request-link]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    select(link, true);
  });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-replay]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.classList.add("busy");
    form.closest("section").querySelector("[data-replay-result]").textContent = "Replaying…";
    swapPane(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf },
      body: new URLSearchParams(new FormData(form)),
    }).then((ok) => {
      if (ok) {
        pane().querySelector("#replay-url").focus();
        pane().querySelector("[data-replay-result]").scrollIntoView({ block: "nearest" });
      } else {
        button.disabled = false;
        button.classList.remove("busy");
        form.closest("section").querySelector("[data-replay-result]").textContent = "";
      }
    });
  });

  if (!list.dataset.stream) return;
  const source = new EventSource(list.dataset.stream);
  source.addEventListener("open", () => { liveStatus.textContent = "● Live"; liveStatus.classList.add("is-live"); });
  source.addEventListener("error", () => { liveStatus.textContent = "Reconnecting…"; liveStatus.classList.remove("is-live"); });
  source.addEventListener("request", (event) => {
    const data = JSON.parse(event.data);
    if (list.querySelector(`[data-request-id="${CSS.escape(data.id)}"]`)) return;
    list.insertAdjacentHTML("afterbegin", data.row);
    page.querySelector("[data-empty]")?.remove();
    announce.textContent = `New request: ${data.method} ${data.path}`;
    // With nothing shown yet, show the first arrival (later ones just join the list).
    if (!pane().dataset.requestId && !latest) select(list.querySelector("a[data-request-link]"), false);
  });
})();
