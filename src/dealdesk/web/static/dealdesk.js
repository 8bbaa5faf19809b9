/* dealdesk pages: the modal dialog, quote line rows, list selection and toasts. htmx does the talking. */
(function () {
  "use strict";

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  var opener = null;

  function dialog() { return document.getElementById("dialog"); }

  function focusables(root) {
    return Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetParent !== null || el === document.activeElement;
    });
  }

  /* Focus what needs attention first: a field with an error, the refusal, else the first field. */
  function focusInside(box) {
    var body = box.querySelector(".dialog-body") || box;
    var target = box.querySelector('[aria-invalid="true"]') || box.querySelector(".alert[role=alert]") ||
      focusables(body)[0] || focusables(box)[0];
    if (target) { target.focus(); }
  }

  function openDialog() {
    var box = dialog();
    if (!box.open) { box.showModal(); }
    focusInside(box);
  }

  function closeDialog() {
    var box = dialog();
    if (box.open) { box.close(); }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var box = dialog();
    if (box && !box.open && event.detail.target === box) { opener = document.activeElement; }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = dialog();
    if (event.detail.target === box) { openDialog(); }
    else if (box && box.open && box.contains(event.detail.target) && event.detail.target.isConnected) {
      var invalid = box.querySelector('[aria-invalid="true"]');
      if (invalid) { invalid.focus(); }
    }
    updateSelection();
  });

  document.addEventListener("dialog-done", closeDialog);

  document.addEventListener("DOMContentLoaded", function () {
    var box = dialog();
    if (!box) { return; }
    box.addEventListener("close", function () {
      box.innerHTML = "";
      var back = opener && opener.isConnected ? opener : document.getElementById("opportunity-title") ||
        document.getElementById("main");
      opener = null;
      if (back) { back.focus({ preventScroll: true }); }
    });
    /* Keep Tab and Shift+Tab inside the open dialog. */
    box.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") { return; }
      var items = focusables(box);
      if (!items.length) { return; }
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && (document.activeElement === first || !box.contains(document.activeElement))) {
        event.preventDefault(); last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault(); first.focus();
      }
    });
    updateSelection();
    document.querySelectorAll(".toast-success").forEach(fadeLater);
  });

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-close-dialog], [data-dismiss], [data-add-line], [data-remove-line]");
    if (!el) { return; }
    if (el.hasAttribute("data-close-dialog")) { closeDialog(); }
    else if (el.hasAttribute("data-dismiss")) { el.closest(".toast").remove(); }
    else if (el.hasAttribute("data-add-line")) { addLine(el.closest("fieldset")); }
    else { removeLine(el.closest("[data-line]")); }
  });

  /* ------------------------------------------------------------------ quote lines */
  function addLine(fieldset) {
    var template = fieldset.querySelector("template[data-line-template]");
    var rows = fieldset.querySelector("[data-lines]");
    rows.appendChild(template.content.cloneNode(true));
    rows.lastElementChild.querySelector("input").focus();
  }

  function removeLine(row) {
    var rows = row.parentElement;
    if (rows.children.length > 1) {
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      next.querySelector("input").focus();
    } else {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      row.querySelector("input").focus();
    }
  }

  /* ------------------------------------------------------------------ list selection */
  function updateSelection() {
    var button = document.getElementById("bulk-close-button");
    if (!button) { return; }
    var boxes = document.querySelectorAll('#results input[name="ids"]:not([disabled])');
    var checked = document.querySelectorAll('#results input[name="ids"]:checked').length;
    button.disabled = checked === 0;
    button.querySelector("[data-selected-count]").textContent = String(checked);
    var all = document.querySelector("#results [data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      document.querySelectorAll('#results input[name="ids"]:not([disabled])').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches("[data-select-all], #results input[name=ids]")) { updateSelection(); }
  });

  /* ------------------------------------------------------------------ toasts */
  function fadeLater(toast) {
    window.setTimeout(function () { if (toast.isConnected) { toast.remove(); } }, 6000);
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "toasts") {
      event.detail.target.querySelectorAll(".toast-success").forEach(fadeLater);
    }
  });

  function failed() {
    var toasts = document.getElementById("toasts");
    var toast = document.createElement("div");
    toast.className = "toast toast-error";
    toast.setAttribute("role", "alert");
    var text = document.createElement("p");
    text.textContent = document.body.getAttribute("data-failure-message");
    toast.appendChild(text);
    toasts.appendChild(toast);
  }

  /* The language switcher comes back to the address shown, filters included. */
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var next = document.querySelector('.language-switch input[name="next"]');
    if (next) { next.value = window.location.pathname + window.location.search; }
  });

  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);

  /* A field's error goes once the person changes the field: it said what was wrong with the old value. */
  function fieldChanged(event) {
    var field = event.target;
    if (!field.getAttribute || field.getAttribute("aria-invalid") !== "true") { return; }
    field.removeAttribute("aria-invalid");
    var error = field.id ? document.getElementById(field.id + "-error") : null;
    if (error) { error.hidden = true; }
    var box = field.closest(".field");
    if (box) { box.classList.remove("has-error"); }
  }
  document.addEventListener("input", fieldChanged);
  document.addEventListener("change", fieldChanged);

  /* The main menu on narrow screens: the button opens and closes it; Escape and a click elsewhere close it. */
  function setMenu(open) {
    var button = document.querySelector("[data-menu-button]");
    var bar = document.querySelector(".topbar");
    if (!button || !bar) { return; }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { bar.setAttribute("data-menu-open", ""); } else { bar.removeAttribute("data-menu-open"); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-menu-button]");
    if (button) {
      setMenu(button.getAttribute("aria-expanded") !== "true");
    } else if (!event.target.closest("#main-menu")) {
      setMenu(false);
    }
  });

  document.addEventListener("keydown", function (event) {
    var button = document.querySelector('[data-menu-button][aria-expanded="true"]');
    if (event.key === "Escape" && button) { setMenu(false); button.focus(); }
  });
})();
