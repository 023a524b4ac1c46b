/* Behaviour shared by every page. The Content-Security-Policy runs no inline script or event
 * handler attribute, so markup asks for behaviour with data-* attributes handled here:
 *   <select data-autosubmit>  submits its form as soon as a value is chosen
 *                             (the language switch, list filters);
 *   any <form method="post">  disables its buttons once sent, so a double click cannot send it
 *                             twice (a form that answers with a download, and so never leaves
 *                             the page, gets them back after a few seconds);
 *   <section data-job-status="URL">  a background job's progress: polls URL (JSON) and
 *                             reloads the page when the job has finished, to show its result;
 *   <details data-nav-menu>   the top bar's menus (templates/base.html): on wide screens one
 *                             open at a time, closed by Escape (focus back on its summary) or a
 *                             click outside; <button data-nav-toggle> opens them all as one
 *                             list on phones (below 768 px). The link to the current page gets
 *                             aria-current ("page", or "true" on a page below it).
 */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")
        && target.form) {
      target.form.submit();
    }
  });

  var REENABLE_AFTER_MS = 8000;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") {
      return;
    }
    if (form.dataset.sending === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    // Disabled after the browser has collected the form: a disabled button's name and value
    // would otherwise be left out of what is sent.
    window.setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button, input[type=submit]"),
        function (button) {
          if (!button.disabled) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
        });
    }, 0);
    window.setTimeout(function () { release(form); }, REENABLE_AFTER_MS);
  });
  function release(form) {
    delete form.dataset.sending;
    Array.prototype.forEach.call(form.querySelectorAll("button[aria-busy], input[aria-busy]"),
      function (button) { button.disabled = false; button.removeAttribute("aria-busy"); });
  }
  // Coming back to a page from the history must not find its buttons still disabled.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sending]"), release);
  });

  function pollJob(section) {
    var url = section.getAttribute("data-job-status");
    var bar = section.querySelector("progress");
    var percent = section.querySelector("[data-job-percent]");
    var count = section.querySelector("[data-job-count]");
    var label = section.querySelector("[data-job-state-label]");
    var delay = 500;
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (status) {
            if (bar) { bar.value = status.percent; bar.textContent = status.percent + "%"; }
            if (percent) { percent.textContent = status.percent + "%"; }
            if (count && status.total) { count.textContent = status.done + " / " + status.total; }
            if (label) { label.textContent = status.state_label; }
            if (status.finished) { window.location.reload(); return; }
          }
          delay = Math.min(delay * 1.5, 3000);
          window.setTimeout(tick, delay);
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, delay);
  }
  // --- Top bar menus ------------------------------------------------------------------------
  var wide = window.matchMedia("(min-width: 768px)");
  function menus() { return Array.prototype.slice.call(document.querySelectorAll("[data-nav-menu]")); }
  function closeMenus(except) {
    menus().forEach(function (menu) { if (menu !== except && menu.open) { menu.open = false; } });
  }
  function placeMenu(menu) {
    // A menu that would leave the window on the right opens leftwards instead (no sideways
    // scrolling, whatever the width of the bar).
    var list = menu.querySelector(".nav-menu-list");
    if (!list || !wide.matches) { return; }
    list.classList.remove("align-right-auto");
    if (list.getBoundingClientRect().right > document.documentElement.clientWidth) {
      list.classList.add("align-right-auto");
    }
  }
  function setPhoneMenu(toggle, open) {
    var bar = toggle.closest("[data-topbar]");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (bar) { bar.classList.toggle("menu-open", open); }
    // On a phone the open menu is one list: every group shows its links.
    menus().forEach(function (menu) { menu.open = open; });
  }
  // "toggle" does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.hasAttribute("data-nav-menu")) { return; }
    if (menu.open && wide.matches) { closeMenus(menu); placeMenu(menu); }
  }, true);
  document.addEventListener("click", function (event) {
    var toggle = event.target instanceof Element && event.target.closest("[data-nav-toggle]");
    if (toggle) {
      setPhoneMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
      return;
    }
    if (wide.matches) {
      menus().forEach(function (menu) {
        if (menu.open && !menu.contains(event.target)) { menu.open = false; }
      });
    } else {
      var bar = document.querySelector("[data-topbar].menu-open");
      var button = bar && bar.querySelector("[data-nav-toggle]");
      if (button && !bar.contains(event.target)) { setPhoneMenu(button, false); }
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") { return; }
    if (wide.matches) {
      var open = menus().filter(function (menu) { return menu.open; })[0];
      if (open) {
        var inside = open.contains(document.activeElement);
        open.open = false;
        if (inside) { open.querySelector("summary").focus(); }
        event.preventDefault();
      }
      return;
    }
    var bar = document.querySelector("[data-topbar].menu-open");
    var button = bar && bar.querySelector("[data-nav-toggle]");
    if (button) { setPhoneMenu(button, false); button.focus(); event.preventDefault(); }
  });
  // Between the phone and the wide layout, start again from closed menus.
  function resetMenus() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-nav-toggle]"), function (t) {
      setPhoneMenu(t, false);
    });
  }
  if (wide.addEventListener) { wide.addEventListener("change", resetMenus); }
  else if (wide.addListener) { wide.addListener(resetMenus); }

  function markCurrentPage() {
    var here = window.location.pathname;
    var best = null;
    Array.prototype.forEach.call(document.querySelectorAll(".topbar nav a[href]"), function (a) {
      var path = a.pathname;
      // The longest link that is this page or a page above it ("/complaints/" on a complaint).
      if (path.length > 1 && here.indexOf(path) === 0 && (!best || path.length > best.pathname.length)) {
        best = a;
      }
    });
    if (best) {
      best.setAttribute("aria-current", best.pathname === here ? "page" : "true");
      var group = best.closest("[data-nav-group]");
      if (group) { group.classList.add("current"); }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    markCurrentPage();
    Array.prototype.forEach.call(document.querySelectorAll("[data-job-status]"), function (s) {
      var state = s.getAttribute("data-job-state");
      if (state === "queued" || state === "running") { pollJob(s); }
    });
  });
}());
