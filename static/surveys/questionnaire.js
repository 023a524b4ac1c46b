// One screen per indicator group: show them one at a time; without JS the form is one page.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) { return; }
  var screens = Array.prototype.slice.call(form.querySelectorAll("[data-screen]"));
  var pager = form.querySelector(".pager");
  if (screens.length < 2 || !pager) { return; }
  var prev = pager.querySelector("[data-prev]");
  var next = pager.querySelector("[data-next]");
  var progress = pager.querySelector("[data-progress]");
  var current = 0;
  var invalid = form.querySelector(".question.invalid");
  if (invalid) { current = Math.max(0, screens.indexOf(invalid.closest("[data-screen]"))); }

  function complete(screen) {
    var names = {};
    screen.querySelectorAll("input[type=radio][required]").forEach(function (input) {
      names[input.name] = names[input.name] || false;
      if (input.checked) { names[input.name] = true; }
    });
    return Object.keys(names).every(function (name) { return names[name]; });
  }

  function show(index) {
    current = index;
    screens.forEach(function (screen, i) { screen.hidden = i !== index; });
    prev.hidden = index === 0;
    next.hidden = index === screens.length - 1;
    progress.textContent = (index + 1) + " / " + screens.length;
    window.scrollTo(0, 0);
  }

  form.classList.add("js-paged");
  pager.hidden = false;
  prev.addEventListener("click", function () { if (current > 0) { show(current - 1); } });
  next.addEventListener("click", function () {
    var screen = screens[current];
    if (!complete(screen)) {
      screen.classList.add("incomplete");
      var first = screen.querySelector(".scale");
      if (first) { first.scrollIntoView({ block: "center" }); }
      return;
    }
    show(current + 1);
  });
  show(current);
}());
