/* Saves the report draft on the server as the shopper goes, and records the location. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var timer = null;
  function show(text) { if (status) { status.textContent = text; } }
  var leaving = false;
  function save() {
    if (leaving) { return; }
    var data = new FormData(form);
    // Files go with the explicit "save and continue"; autosave sends the answers only.
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      data.delete(input.name);
    });
    fetch(form.dataset.autosaveUrl, {method: "POST", body: data, credentials: "same-origin",
      headers: {"X-Autosave": "1"}})
      .then(function (response) {
        show(response.ok ? form.dataset.msgSaved : form.dataset.msgInvalid);
      })
      .catch(function () { show(form.dataset.msgOffline); });
  }
  // Continuing or submitting saves everything itself: no autosave may race with it.
  form.addEventListener("submit", function () { leaving = true; clearTimeout(timer); });
  form.addEventListener("change", function (event) {
    if (event.target.type === "file") { return; }
    clearTimeout(timer);
    timer = setTimeout(save, 400);
  });
  var lat = document.getElementById("id_latitude");
  var lon = document.getElementById("id_longitude");
  if (lat && lon && !lat.value && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(function (position) {
      lat.value = position.coords.latitude.toFixed(6);
      lon.value = position.coords.longitude.toFixed(6);
      var note = document.getElementById("location-status");
      if (note) { note.textContent = form.dataset.msgLocation; }
      save();
    }, function () { /* no location: the check-in time is enough */ }, {timeout: 10000});
  }
}());
