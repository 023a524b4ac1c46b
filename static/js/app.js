/* Behaviour shared by every page. The Content-Security-Policy runs no inline script or event
 * handler attribute, so markup asks for behaviour with data-* attributes handled here:
 *   <select data-autosubmit>  submits its form as soon as a value is chosen
 *                             (the language switch, list filters);
 *   any <form method="post">  disables its buttons once sent, so a double click cannot send it
 *                             twice (a form that answers with a download, and so never leaves
 *                             the page, gets them back after a few seconds);
 *   <section data-job-status="URL">  a background job's progress: polls URL (JSON) and
 *                             reloads the page when the job has finished, to show its result.
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
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-job-status]"), function (s) {
      var state = s.getAttribute("data-job-state");
      if (state === "queued" || state === "running") { pollJob(s); }
    });
  });
}());
