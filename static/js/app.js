/* Behaviour shared by every page. The Content-Security-Policy runs no inline script or event
 * handler attribute, so markup asks for behaviour with data-* attributes handled here:
 *   <select data-autosubmit>  submits its form as soon as a value is chosen
 *                             (the language switch, list filters).
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
}());
