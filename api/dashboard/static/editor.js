/* The template editor's live check (issue 18): after each change, post the form to the
 * server's check and put back what it answers: the form's fields (with every problem beside
 * its field), the check and the diagram, and the YAML text (or, when the text was edited, the
 * form rebuilt from it). The page works without this file: every button submits the form and
 * the server renders the page again. No inline script (the Content-Security-Policy forbids it);
 * the CSRF token travels in the form data. */
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-check");
  var timer = null;
  var sent = 0;
  var changes = 0;
  var source = "form";

  /* `data-state` says whether a check is still to come (pending) or the page shows the answer
   * to the last change (idle): tests and assistive tools can wait for it. */
  function state(value) { form.setAttribute("data-state", value); }

  function schedule(event) {
    source = event.target && event.target.id === "yaml" ? "yaml" : "form";
    changes += 1;
    state("pending");
    window.clearTimeout(timer);
    timer = window.setTimeout(send, event.type === "change" ? 150 : 500);
  }

  function send() {
    timer = null;
    var mine = ++sent;
    var at = changes;
    var data = new FormData(form);
    data.delete("op");
    window.fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Editor-Source": source, "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("status " + response.status); }
      return response.json();
    }).then(function (parts) {
      if (mine === sent && at === changes) {
        apply(parts);
        if (timer === null) { state("idle"); }
      }
    }).catch(function () {
      var status = document.getElementById("check-status");
      if (status) { status.textContent = "The live check is unavailable: use \u201cCheck and update the form\u201d."; }
      if (mine === sent && timer === null) { state("idle"); }
    });
  }

  function find(key) {
    if (!key) { return null; }
    return document.getElementById(key) ||
      form.querySelector("[name=\"" + key.replace(/["\\]/g, "") + "\"]");
  }

  function apply(parts) {
    var active = document.activeElement;
    var key = active && (active.id || active.getAttribute("name"));
    var value = active && "value" in active ? active.value : null;
    var start = null;
    var end = null;
    try { start = active.selectionStart; end = active.selectionEnd; } catch (ignored) { /* not text */ }
    ["form-fields", "live", "yaml-state"].forEach(function (id) {
      var element = document.getElementById(id);
      if (element && typeof parts[id] === "string") { element.innerHTML = parts[id]; }
    });
    var text = document.getElementById("yaml");
    if (text && typeof parts.text === "string" && text !== active) { text.value = parts.text; }
    var again = find(key);
    if (again && again !== active) {
      if (value !== null && again.type !== "checkbox" && again.tagName !== "SELECT") { again.value = value; }
      again.focus();
      if (start !== null) { try { again.setSelectionRange(start, end); } catch (ignored) { /* not text */ } }
    }
  }

  state("idle");
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
}());
