// Finance pages: progressive enhancement only. Every form works without this script; with it,
// the split form adds rows in place and shows its running total against what is left.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function toAmount(text) {
    var digits = String(text || "").replace(/[\s.,₫đ]/g, "");
    return /^\d+$/.test(digits) ? parseInt(digits, 10) : null;
  }

  function vnd(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " ₫";
  }

  function setUpSplit(form) {
    var left = parseInt(form.getAttribute("data-left"), 10);
    var body = form.querySelector(".split-rows tbody");
    var total = form.querySelector("[data-split-total]");
    if (!body || !total) return;

    function update() {
      var sum = 0, bad = false;
      body.querySelectorAll('input[name^="amount-"]').forEach(function (input) {
        if (!input.value.trim()) return;
        var value = toAmount(input.value);
        if (value === null) bad = true; else sum += value;
      });
      total.textContent = bad ? "?" : vnd(sum);
      total.classList.toggle("over", !bad && sum > left);
    }

    function addRow() {
      var rows = body.querySelectorAll("[data-split-row]");
      if (rows.length >= 20) return;
      var copy = rows[rows.length - 1].cloneNode(true);
      var index = rows.length;
      copy.querySelector("td").textContent = String(index + 1);
      copy.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/-\d+$/, "-" + index);
        input.value = "";
        input.removeAttribute("aria-invalid");
        var label = input.getAttribute("aria-label") || "";
        input.setAttribute("aria-label", label.replace(/\d+$/, String(index + 1)));
      });
      copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
      body.appendChild(copy);
      copy.querySelector("input").focus();
    }

    var more = form.querySelector("[data-more-rows]");
    if (more) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button ghost";
      button.textContent = more.textContent;
      button.addEventListener("click", addRow);
      more.parentNode.classList.remove("no-js-only");
      more.parentNode.replaceChild(button, more);
    }
    form.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("form.split-form").forEach(setUpSplit);
})();
