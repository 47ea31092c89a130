/* The print page: open the print dialog as soon as the card image has loaded. */
(function () {
  "use strict";
  var printNow = function () { window.setTimeout(function () { window.print(); }, 150); };
  var card = document.querySelector("[data-autoprint]");
  if (card) {
    if (card.complete && card.naturalWidth) { printNow(); } else { card.addEventListener("load", printNow); }
  }
  var button = document.querySelector("[data-print-now]");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
