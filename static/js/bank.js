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
    // A refusal that says why in X-Refusal (plain text) is shown as it is.
    var said = xhr.getResponseHeader("X-Refusal");
    toast(said || (status === 429 ? slowDown(xhr) : (MESSAGES[status] || GENERIC)));
  });

  document.addEventListener("htmx:sendError", function () {
    toast(OFFLINE);
  });

  // A panel refreshing itself on a timer ("every 5s") is not the user doing
  // anything: htmx gives such a request no triggering event. Say so, and the
  // bank does not count it as activity, so a page left open still signs
  // itself out after the idle limit (esbank_site/web/sessions.py).
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (!detail.triggeringEvent) {
      detail.headers["X-Esbank-Poll"] = "true";
    }
    // A panel refreshing itself (on its timer, or told by a command that
    // its data changed) sends the ETag of what it shows, from its
    // data-etag: if nothing changed the bank answers 304 with no body, and
    // htmx swaps nothing (accounts/polling.py; base.html's responseHandling),
    // so focus, and a screen reader's place, stay where they were. Links
    // and forms inside a panel are the user asking: they send none. A
    // script's If-None-Match keeps the browser's cache out of it (Fetch
    // standard), so the 304 reaches htmx as it is.
    var etag = detail.elt.getAttribute("data-etag");
    if (etag && detail.verb === "get" && detail.elt === detail.target) {
      detail.headers["If-None-Match"] = '"' + etag + '"';
    }
  });

  // When a swap replaces the element that has focus, put focus back on
  // its equivalent in the new content, without scrolling: the same id
  // (htmx does that much itself), or the same link, field or button (by
  // href, name or tag) in the same row: the nearest ancestor with one of
  // these keys (the rows of the panels' templates) or an id. Without this
  // a keyboard user tabbing through a panel that refreshes itself is
  // thrown back to the top of the page. If the element is gone (its row
  // left the page), the panel itself takes focus.
  var ROW_KEYS = ["data-account-id", "data-number", "data-version", "data-processor"];

  function attributeSelector(name, value) {
    return "[" + name + '="' + CSS.escape(value) + '"]';
  }

  function ownSelector(element) {
    if (element.id) {
      return "#" + CSS.escape(element.id);
    }
    var tag = element.tagName.toLowerCase();
    var href = element.getAttribute("href");
    var name = element.getAttribute("name");
    if (href) {
      return tag + attributeSelector("href", href);
    }
    return name ? tag + attributeSelector("name", name) : tag;
  }

  // A row's key before its id: an id may mark a role that moves between
  // rows (the chosen event), a key is the row's own.
  function rowSelector(element, panel) {
    for (var node = element.parentElement; node && node !== panel; node = node.parentElement) {
      for (var i = 0; i < ROW_KEYS.length; i++) {
        if (node.hasAttribute(ROW_KEYS[i])) {
          return attributeSelector(ROW_KEYS[i], node.getAttribute(ROW_KEYS[i])) + " ";
        }
      }
      if (node.id) {
        return "#" + CSS.escape(node.id) + " ";
      }
    }
    return "";
  }

  // Where focus was, said so that it can be found again after the swap.
  function placeOf(element, panel) {
    if (element === panel) {
      return { panel: panel.id, selectors: [], index: 0 };
    }
    var own = ownSelector(element);
    var selector = rowSelector(element, panel) + own;
    var same = panel.querySelectorAll(selector);
    return {
      panel: panel.id,
      selectors: [selector, own],
      index: Array.prototype.indexOf.call(same, element)
    };
  }

  function focusWithoutScrolling(element) {
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus({ preventScroll: true });
  }

  function returnFocus(place) {
    var active = document.activeElement;
    var panel = document.getElementById(place.panel);
    if (!panel || (active && active !== document.body)) {
      return;  // htmx (same id) or the page has put focus somewhere already
    }
    // In its row if the row is still there, else the same link anywhere
    // in the panel, else the panel.
    var found = null;
    for (var i = 0; i < place.selectors.length && !found; i++) {
      var same = panel.querySelectorAll(place.selectors[i]);
      found = same[i === 0 ? place.index : 0] || same[0] || null;
    }
    focusWithoutScrolling(found || panel);
  }

  var focusBeforeSwap = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var panel = event.detail.target;
    var active = document.activeElement;
    focusBeforeSwap = null;
    if (event.detail.shouldSwap && panel && panel.id && active && active !== document.body && panel.contains(active)) {
      focusBeforeSwap = placeOf(active, panel);
    }
  });

  // A refresh or a link: focus goes back at once. A form waits for the
  // settle below, which may send it to a field or to the notice instead.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (focusBeforeSwap && event.detail.requestConfig.verb === "get") {
      returnFocus(focusBeforeSwap);
      focusBeforeSwap = null;
    }
  });

  // A form's notice arrives in a status region that was on the page
  // already (hx-select-oob, or hx-swap-oob in the answer), so screen
  // readers announce it; remember it, to move focus to it once settled.
  var arrivedNotice = null;

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var region = event.detail.target;
    if (region && region.getAttribute("role") === "status") {
      arrivedNotice = region.querySelector("[tabindex='-1']");
    }
  });

  // After a form: the cursor back in the field that needs fixing if it was
  // refused, on the notice if it was done, else where it was. htmx tells
  // of the settling once per element swapped in (the form, a notice out
  // of band): decide once, when they all have been told.
  var settledForm = null;

  function afterForm() {
    var form = settledForm;
    settledForm = null;
    var notice = arrivedNotice;
    arrivedNotice = null;
    var place = focusBeforeSwap;
    focusBeforeSwap = null;
    if (!form.done && form.invalid) {
      form.invalid.focus();
    } else if (form.done && notice && notice.isConnected) {
      notice.focus();
    } else if (place) {
      returnFocus(place);
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail;
    if (detail.requestConfig.verb !== "post") {
      return;
    }
    if (!settledForm) {
      settledForm = { done: detail.xhr.status >= 200 && detail.xhr.status < 300, invalid: null };
      window.queueMicrotask(afterForm);
    }
    if (!settledForm.invalid && event.target.querySelector) {
      settledForm.invalid = event.target.querySelector("[aria-invalid=true]");
    }
  });

  // The staff timeline: an event chosen by a link or the time-travel form
  // brings it, and its state panel, into view, as the link's #chosen-event
  // does without JavaScript. A refresh (the timeline asking for itself)
  // leaves the page where the reader has scrolled it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var asker = event.detail.requestConfig && event.detail.requestConfig.elt;
    var chosen = document.getElementById("chosen-event");
    if (asker && asker.matches("a, form") && chosen && event.target.contains(chosen)) {
      chosen.scrollIntoView({ block: "nearest" });
    }
  });

  // Copy buttons beside account numbers: hidden in the markup, since they
  // need the Clipboard API, and shown here where it exists.
  function showCopyButtons(root) {
    if (!navigator.clipboard || !root.querySelectorAll) {
      return;
    }
    root.querySelectorAll("button.copy-number[hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  document.addEventListener("htmx:load", function (event) { showCopyButtons(event.target); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy-number");
    if (!button) {
      return;
    }
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    }, function () {
      toast("The account number could not be copied; select it and copy it instead.");
    });
  });
})();
