// Report pages: print buttons, and the period form (choosing a month clears the custom days
// and shows that month at once). Everything works without this script too.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-period-form]").forEach(function (form) {
    var month = form.querySelector("[data-month]");
    var days = form.querySelectorAll("input[type=date]");
    if (!month) { return; }
    month.addEventListener("change", function () {
      if (!month.value) { return; }
      days.forEach(function (input) { input.value = ""; });
      form.submit();
    });
    days.forEach(function (input) {
      input.addEventListener("change", function () { if (input.value) { month.value = ""; } });
    });
    form.addEventListener("submit", function () {
      // Send only what was chosen: a month, or both days.
      if (month.value) { days.forEach(function (input) { input.disabled = true; }); }
      else { month.disabled = true; }
    });
  });
})();
