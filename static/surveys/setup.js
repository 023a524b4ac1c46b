// Campaign setup: show only the store field that goes with the chosen selection (region,
// city or store codes); without JS every field shows and the service ignores the others.
(function () {
  "use strict";
  var form = document.querySelector("[data-store-choice]");
  if (!form) { return; }
  var fields = { region: "regions", city: "cities", store: "store_codes" };
  function update() {
    var checked = form.querySelector("input[name=store_choice]:checked");
    var kind = checked ? checked.value : "";
    Object.keys(fields).forEach(function (key) {
      var box = form.querySelector("[data-field=" + fields[key] + "]");
      if (box) { box.hidden = key !== kind; }
    });
  }
  form.querySelectorAll("input[name=store_choice]").forEach(function (input) {
    input.addEventListener("change", update);
  });
  update();
}());
