/* Event Sourced Bank: the little behaviour htmx does not give for free.
 *
 * htmx swaps 2xx, 409 and 422 responses (see the htmx-config meta tag in
 * base.html). Every other failure is announced here in a toast, so a
 * polling panel keeps its last figures and a form keeps what was typed.
 * No inline scripts anywhere: this file and htmx are the only JavaScript.
 */
(function () {
  "use strict";

  var MESSAGES = {
    400: "The bank could not accept that request. Nothing was changed.",
    401: "Your session has ended. Please log in again.",
    403: "You are not allowed to do that. If you were idle, reload the page.",
    404: "That account or page could not be found.",
    405: "That action is not available here.",
    503: "The bank cannot reach its records right now. Nothing was changed; please try again in a few seconds."
  };
  var GENERIC = "Something went wrong. Please try again.";
  var OFFLINE = "The bank cannot be reached. Figures on this page may be out of date.";

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) {
      return;
    }
    // One toast per message: a panel polling every few seconds must not
    // pile up copies of the same news.
    var existing = box.querySelector('[data-text="' + CSS.escape(text) + '"]');
    if (existing) {
      existing.remove();
    }
    var item = document.createElement("div");
    item.className = "toast toast-" + (kind || "error");
    item.setAttribute("role", "alert");
    item.dataset.text = text;
    item.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    box.appendChild(item);
    window.setTimeout(function () { item.remove(); }, 8000);
  }

  // A 429 says how long to wait in Retry-After (seconds).
  function slowDown(xhr) {
    var wait = parseInt(xhr.getResponseHeader("Retry-After"), 10);
    var when = wait > 0 ? "in " + wait + (wait === 1 ? " second" : " seconds") : "in a minute";
    return "Too many requests in a short time. Nothing was changed; please try again " + when + ".";
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var status = xhr.status;
    toast(status === 429 ? slowDown(xhr) : (MESSAGES[status] || GENERIC));
  });

  document.addEventListener("htmx:sendError", function () {
    toast(OFFLINE);
  });

  // A panel refreshing itself on a timer ("every 5s") is not the user doing
  // anything: htmx gives such a request no triggering event. Say so, and the
  // bank does not count it as activity, so a page left open still signs
  // itself out after the idle limit (esbank_site/web/sessions.py).
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.triggeringEvent) {
      event.detail.headers["X-Esbank-Poll"] = "true";
    }
  });

  // Put the cursor back in the field that needs fixing after a refused form.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.requestConfig.verb !== "post") {
      return;
    }
    var invalid = document.querySelector("form [aria-invalid=true]");
    if (invalid) {
      invalid.focus();
    }
  });
})();
