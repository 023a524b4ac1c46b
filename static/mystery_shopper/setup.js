/* HQ's scorecard editor: add sections and items, move them up and down, grey out removed ones.
 * The page is a Django formset: new rows are copies of a <template> with their placeholder
 * (__section__ for a section, __prefix__ for an item) replaced by the next index, and the
 * formset's TOTAL_FORMS counted up; moving a row renumbers the ORDER fields of its siblings.
 * Without this script the existing rows can still be edited, reordered (the order numbers)
 * and removed. */
(function () {
  "use strict";
  var editor = document.querySelector("[data-scorecard-editor]");
  if (!editor) { return; }

  function rows(container) {
    return Array.prototype.filter.call(container.children, function (el) {
      return el.hasAttribute("data-row");
    });
  }
  function orderInput(row) {
    // The row's own ORDER field (a section also holds its items' fields).
    var move = Array.prototype.filter.call(row.children, function (el) {
      return el.classList.contains("ms-setup-move");
    })[0];
    return move ? move.querySelector("input[name$='-ORDER']") : null;
  }
  function renumber(container) {
    rows(container).forEach(function (row, index) {
      var input = orderInput(row);
      if (input) { input.value = String(index + 1); }
    });
  }
  function append(container, template, placeholder, total) {
    var index = parseInt(total.value, 10) || 0;
    var html = template.innerHTML.split(placeholder).join(String(index));
    container.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var row = rows(container).pop();
    var input = orderInput(row);
    if (input) { input.value = String(rows(container).length); }
    var first = row.querySelector("input[type=text]");
    if (first) { first.focus(); }
    return row;
  }

  editor.addEventListener("click", function (event) {
    var button = event.target.closest("button[type=button]");
    if (!button || !editor.contains(button)) { return; }
    if (button.hasAttribute("data-add-item")) {
      var section = button.closest("[data-section]");
      append(section.querySelector("[data-items]"),
             section.querySelector("template[data-item-template]"), "__prefix__",
             section.querySelector("input[name$='-items-TOTAL_FORMS']"));
    } else if (button.hasAttribute("data-add-section")) {
      append(editor.querySelector("[data-sections]"),
             editor.querySelector("template[data-section-template]"), "__section__",
             editor.querySelector("input[name='sections-TOTAL_FORMS']"));
    } else if (button.hasAttribute("data-move")) {
      var row = button.closest("[data-row]");
      var container = row.parentElement;
      var siblings = rows(container);
      var at = siblings.indexOf(row);
      if (button.getAttribute("data-move") === "up" && at > 0) {
        container.insertBefore(row, siblings[at - 1]);
      } else if (button.getAttribute("data-move") === "down" && at < siblings.length - 1) {
        container.insertBefore(siblings[at + 1], row);
      }
      renumber(container);
      button.focus();
    }
  });
  editor.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && /-DELETE$/.test(box.name)) {
      box.closest("[data-row]").classList.toggle("ms-deleted", box.checked);
    }
  });
  Array.prototype.forEach.call(editor.querySelectorAll("input[name$='-DELETE']:checked"),
    function (box) { box.closest("[data-row]").classList.add("ms-deleted"); });
}());
