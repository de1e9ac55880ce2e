// nominal web app: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js-enabled");

  // An error summary takes the focus, so a screen reader announces it and the keyboard starts there.
  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) { summary.focus(); }

  // The queue: "select all on this page".
  var all = document.getElementById("select-all");
  if (all) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll("input.app-select"));
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        all.checked = boxes.every(function (b) { return b.checked; });
      });
    });
  }

  // A form is sent once: a second press while it is on its way does nothing.
  Array.prototype.forEach.call(document.querySelectorAll("form[method=post]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
})();
