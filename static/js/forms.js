/* The error summary (templates/_forms.html) takes the focus when a form comes back with
   errors, so a screen reader reads it and the keyboard starts there; its links focus the
   field itself, not only scroll to it. */
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-error-link]");
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("data-error-link"));
    if (!field) { return; }
    event.preventDefault();
    var details = field.closest("details");
    if (details) { details.open = true; }
    field.hidden = false;
    field.scrollIntoView({ block: "center" });
    field.focus();
  });
}());
