// alertwire console: a little plain JavaScript on top of server-rendered pages.
// Every request that changes something carries the session's CSRF token (X-CSRF-Token).
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRF-Token": csrf,
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: body || new URLSearchParams(),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = { error: "unexpected answer", message: `the server answered ${response.status}` };
    }
    return { status: response.status, data };
  }

  function problem(data) {
    return data.message || data.error || "something went wrong";
  }

  async function busy(button, work) {
    const label = button.textContent;
    button.disabled = true;
    button.classList.add("busy");
    button.setAttribute("aria-busy", "true");
    try {
      await work();
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
      button.removeAttribute("aria-busy");
      button.textContent = label;
    }
  }

  // ---------------------------------------------------------------- copy to clipboard
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      const area = el("textarea", { class: "sr-only", readonly: "" });
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      return ok;
    }
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const ok = await copyText(source.textContent);
    const scope = button.closest("section, [data-secret], td, main") || document;
    const status = scope.querySelector("[data-copy-status]") || document.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = ok ? "Copied to the clipboard." : "Copy failed: select the text and copy it.";
      setTimeout(() => { status.textContent = ""; }, 4000);
    }
  });

  // --------------------------------------------------------------- small behaviours
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-toggle-row]");
    if (toggle) {
      const row = document.getElementById(toggle.getAttribute("aria-controls"));
      if (!row) return;
      const open = toggle.getAttribute("aria-expanded") !== "true";
      row.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      return;
    }
    const back = event.target.closest("a[data-back]");
    if (back && history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });

  // ------------------------------------------------------------ integration form
  const integrationForm = document.getElementById("integration-form");
  if (integrationForm) setUpIntegrationForm(integrationForm);

  // The template picker: the chosen template's options shown, a starting point for its
  // options box, and a live preview rendered by the server as the user types.
  function setUpTemplatePreview(form) {
    const select = form.querySelector("[data-template-select]");
    const options = form.querySelector("[data-template-options]");
    const panel = form.querySelector("[data-preview]");
    if (!select || !options || !panel) return;
    let timer = null;
    let sent = 0;

    async function refresh() {
      const mine = ++sent;
      const body = new URLSearchParams({ template: select.value, template_options: options.value });
      const { status, data } = await post(panel.dataset.previewUrl, body);
      if (mine !== sent) return; // a newer preview is on its way
      const error = panel.querySelector("[data-preview-error]");
      const type = panel.querySelector("[data-preview-type]");
      const shown = panel.querySelector("[data-preview-body]");
      if (status === 200 && data.ok) {
        type.textContent = ` · ${data.content_type}`;
        shown.textContent = typeof data.body === "string" ? data.body : JSON.stringify(data.body, null, 2);
        error.hidden = true;
      } else {
        error.textContent = problem(data) + (data.line ? ` (template line ${data.line})` : "");
        error.hidden = false;
      }
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }

    select.addEventListener("change", () => {
      let skeleton = "";
      for (const help of form.querySelectorAll("[data-template-help]")) {
        help.hidden = help.dataset.templateHelp !== select.value;
        if (!help.hidden) skeleton = help.dataset.skeleton;
      }
      // Options belong to one template: start the next from its own required ones.
      options.value = skeleton;
      refresh();
    });
    options.addEventListener("input", later);
    refresh();
  }

  function setUpIntegrationForm(form) {
    const rows = form.querySelector("[data-header-rows]");
    const template = document.getElementById("header-row-template");
    const ticket = form.querySelector("[data-ticket]");
    const connect = form.querySelector("[data-connect]");
    const hint = form.querySelector("[data-connect-hint]");
    const panel = form.querySelector("[data-test-result]");
    const testButton = form.querySelector("[data-test-connection]");

    function configChanged() {
      // A test vouches only for the configuration it sent: any change needs a new one.
      ticket.value = "";
      if (connect) {
        connect.disabled = true;
        if (hint) hint.textContent = "The configuration changed: run Test Connection again to Connect.";
      }
    }

    form.addEventListener("input", (event) => {
      if (event.target.matches("[data-config]")) configChanged();
    });
    setUpTemplatePreview(form);
    form.addEventListener("change", (event) => {
      if (event.target.matches("select[data-config]")) configChanged();
    });

    form.querySelector("[data-add-header]")?.addEventListener("click", () => {
      const row = template.content.firstElementChild.cloneNode(true);
      rows.append(row);
      row.querySelector("input").focus();
    });
    rows?.addEventListener("click", (event) => {
      const remove = event.target.closest("[data-remove-header]");
      if (!remove) return;
      const row = remove.closest(".header-row");
      if (rows.querySelectorAll(".header-row").length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input").forEach((input) => { input.value = ""; });
      }
      configChanged();
      form.querySelector("[data-add-header]")?.focus();
    });

    testButton?.addEventListener("click", () => busy(testButton, async () => {
      testButton.textContent = "Testing…";
      panel.hidden = false;
      panel.className = "test-panel";
      panel.replaceChildren(el("p", { class: "muted", text: "Sending the test payload…" }));
      const { status, data } = await post(form.dataset.testUrl, new URLSearchParams(new FormData(form)));
      showTestResult(status, data);
    }));

    function showTestResult(status, data) {
      if (status === 422 && data.errors) {
        panel.className = "test-panel is-fail";
        const list = el("ul");
        for (const [field, message] of Object.entries(data.errors)) {
          list.append(el("li", { text: `${field || "form"}: ${message}` }));
        }
        panel.replaceChildren(el("p", { class: "fail", text: "Fix these fields before testing:" }), list);
        return;
      }
      if (status !== 200) {
        panel.className = "test-panel is-fail";
        panel.replaceChildren(el("p", { class: "fail", text: problem(data) }));
        return;
      }
      panel.className = "test-panel " + (data.ok ? "is-ok" : "is-fail");
      const summary = el("div", { class: "test-summary" },
        el("strong", { class: data.ok ? "ok" : "fail", "data-test-outcome": data.ok ? "ok" : "failed",
                       text: data.ok ? "✓ Connection succeeded" : "✗ Connection failed" }),
        el("span", { "data-test-status": "", text: `Status code: ${data.status_code ?? "none"}` }),
        el("span", { "data-test-latency": "", text: `Latency: ${data.latency_ms ?? "—"} ms` }));
      const parts = [summary];
      if (data.error) parts.push(el("p", { class: "fail", "data-test-error": "", text: data.error }));
      if (data.response_body !== null && data.response_body !== undefined) {
        parts.push(el("div", { class: "label small muted", text: "Response body" }));
        parts.push(el("pre", { "data-test-body": "", text: data.response_body || "(empty)" }));
      }
      panel.replaceChildren(...parts);
      if (data.ok) {
        ticket.value = data.ticket || "";
        if (connect) {
          connect.disabled = false;
          if (hint) hint.textContent = "The test succeeded: Connect to start delivering alerts.";
        }
      } else if (connect) {
        connect.disabled = true;
        if (hint) hint.textContent = "Connect becomes possible after a successful test.";
      }
    }
  }

  // ----------------------------------------------------------------- signing secret
  document.querySelectorAll("[data-secret]").forEach((box) => {
    const button = box.querySelector("[data-show-secret]");
    const shown = box.querySelector("[data-secret-box]");
    button.addEventListener("click", () => {
      if (!shown.hidden) {
        shown.hidden = true;
        box.querySelector("[data-secret-value]").textContent = "";
        button.textContent = "Show secret";
        return;
      }
      busy(button, async () => {
        const { status, data } = await post(box.dataset.secretUrl);
        if (status !== 200) {
          box.querySelector("[data-copy-status]").textContent = problem(data);
          return;
        }
        box.querySelector("[data-secret-value]").textContent = data.secret;
        const previous = box.querySelector("[data-previous-secret]");
        previous.hidden = !data.previous_secret;
        previous.textContent = data.previous_secret
          ? `The previous secret ${data.previous_secret} keeps signing until ${data.previous_secret_expires_at}.` : "";
        shown.hidden = false;
      }).then(() => { if (!shown.hidden) button.textContent = "Hide secret"; });
    });
  });

  // ------------------------------------------------------------------- Test Filter
  const triggerForm = document.getElementById("trigger-form");
  if (triggerForm) setUpTriggerForm(triggerForm);

  function setUpTriggerForm(form) {
    const button = form.querySelector("[data-test-filter]");
    const panel = form.querySelector("[data-filter-result]");
    const input = form.querySelector("[data-filter-input]");
    const slot = form.querySelector("[data-filter-error-slot]");

    button?.addEventListener("click", () => busy(button, async () => {
      button.textContent = "Testing…";
      const body = new URLSearchParams({
        filter: input.value,
        threat_level: form.querySelector("#threat_level").value,
      });
      const { status, data } = await post("/triggers/test-filter", body);
      slot.replaceChildren();
      input.removeAttribute("aria-invalid");
      if (status === 422 && data.position !== undefined) {
        panel.hidden = true;
        input.setAttribute("aria-invalid", "true");
        slot.append(el("div", { class: "filter-error", id: "filter-error", role: "alert" },
          el("code", { class: "caret-line", "aria-hidden": "true" }, data.before, el("mark", { text: data.at }), data.after),
          el("p", { text: data.error })));
        input.focus();
        return;
      }
      panel.hidden = false;
      if (status !== 200) {
        panel.className = "test-panel is-fail";
        panel.replaceChildren(el("p", { class: "fail", text: problem(data) }));
        return;
      }
      panel.className = "test-panel " + (data.matched ? "is-ok" : "");
      const parts = [el("p", { class: "test-summary" },
        el("strong", { "data-matched": String(data.matched),
                       text: `${data.matched} of ${data.total} stored alerts match.` }))];
      if (data.sample.length) {
        const head = el("tr", {}, el("th", { scope: "col", text: "Time" }),
          ...data.columns.map((c) => el("th", { scope: "col", text: c })));
        const body = el("tbody");
        for (const alert of data.sample) {
          body.append(el("tr", {},
            el("td", { class: "nowrap small" }, el("a", { href: `/alerts/${alert.id}`, text: alert.received_at })),
            ...alert.cells.map((c) => el("td", { text: c || "—" }))));
        }
        parts.push(el("p", { class: "muted small", text: `Newest ${data.sample.length} of them:` }));
        parts.push(el("div", { class: "table-wrap" }, el("table", { class: "table" }, el("thead", {}, head), body)));
      }
      panel.replaceChildren(...parts);
    }));
  }
})();
