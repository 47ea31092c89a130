/* Counter pages: the registration form asks only what the chosen procedure needs, a preview
   goes stale when the inputs change, and the dossier page follows its payment requests live
   (polling a JSON endpoint every 0.8 s while a request may still be paid, so that "paid"
   shows within a second of the bank's notification; every 15 s otherwise or in a hidden tab,
   and at once when the tab is shown again). When a payment or a receipt changes (the
   "ledger" of status.json), the page's payments and receipts are fetched again and swapped in place; the cash form is left alone,
   so nothing the clerk is typing is lost. No libraries. */
(function () {
  "use strict";

  var form = document.getElementById("dossier-form");
  if (form) {
    var procedure = form.querySelector("#procedure_code");
    var syncNeeds = function () {
      var option = procedure.options[procedure.selectedIndex];
      var code = procedure.value;
      var needs = {
        payer: !!option && option.getAttribute("data-payer") === "1",
        rate: !!option && option.getAttribute("data-rate") === "1",
        copies: !!option && option.getAttribute("data-copies") === "1",
        ground: !!option && option.getAttribute("data-ground") === "1",
        child: !!option && option.getAttribute("data-child") === "1",
        vneid: !!option && option.getAttribute("data-vneid") === "1"
      };
      var any = false;
      form.querySelectorAll("[data-need]").forEach(function (el) {
        var on = !!needs[el.getAttribute("data-need")];
        el.hidden = !on;
        any = any || on;
      });
      form.querySelectorAll("[data-exempt-for]").forEach(function (el) {
        var on = el.getAttribute("data-exempt-for") === code;
        el.hidden = !on;
        if (!on) { el.querySelectorAll("input").forEach(function (i) { i.checked = false; }); }
        any = any || on;
      });
      var none = form.querySelector("[data-none-needed]");
      if (none) { none.hidden = any || !code; }
      // Nothing to say about the fee's facts before a procedure is chosen: no empty box.
      var facts = form.querySelector("[data-fee-facts]");
      if (facts) { facts.hidden = !code; }
    };
    procedure.addEventListener("change", syncNeeds);
    syncNeeds();

    var preview = form.querySelector("[data-preview]");
    if (preview) {
      var markStale = function (event) {
        if (preview.contains(event.target)) { return; }
        preview.classList.add("stale");
        var note = preview.querySelector("[data-stale-note]");
        if (note) { note.hidden = false; }
        preview.querySelectorAll("[data-save]").forEach(function (b) { b.disabled = true; });
      };
      form.addEventListener("input", markStale);
      form.addEventListener("change", markStale);
    }
  }

  var root = document.querySelector("[data-live-url]");
  if (!root) { return; }
  var url = root.getAttribute("data-live-url");
  var announce = root.querySelector("[data-live-announce]");
  var LIVE = ["open", "partially_paid"];

  var anyLive = function () {
    return Array.prototype.some.call(root.querySelectorAll("[data-request]"), function (el) {
      return LIVE.indexOf(el.getAttribute("data-status")) >= 0;
    });
  };

  var refreshSections = function (ledger) {
    fetch(root.getAttribute("data-page-url"), { headers: { Accept: "text/html" }, credentials: "same-origin",
                                                 cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        root.querySelectorAll("[data-refresh]").forEach(function (el) {
          var name = el.getAttribute("data-refresh");
          var replacement = fresh.querySelector('[data-refresh="' + name + '"]');
          if (replacement) { el.replaceWith(document.importNode(replacement, true)); }
        });
        root.setAttribute("data-ledger", ledger);
      })
      .catch(function () { /* try again at the next tick: the ledger still differs */ });
  };

  var apply = function (data) {
    ["amount_due", "amount_paid", "remaining"].forEach(function (key) {
      var el = root.querySelector('[data-total="' + key + '"]');
      if (el) { el.textContent = data.text[key]; }
    });
    var hint = root.querySelector("[data-remaining-hint]");
    if (hint) { hint.textContent = data.text.remaining; }
    var cashAmount = root.querySelector("#cash-amount");
    if (cashAmount && data.text.remaining_plain) { cashAmount.placeholder = data.text.remaining_plain; }
    if (data.ledger !== undefined && data.ledger !== root.getAttribute("data-ledger")) {
      refreshSections(data.ledger);
    }
    var show = { available: data.available > 0, covered: data.available <= 0 && data.remaining > 0,
                 "nothing-due": data.remaining <= 0, due: data.remaining > 0 };
    root.querySelectorAll("[data-when]").forEach(function (el) {
      el.hidden = !show[el.getAttribute("data-when")];
    });
    var amount = root.querySelector("#amount");
    if (amount) { amount.placeholder = data.text.available; }
    var dossierStatus = root.querySelector("[data-dossier-status]");
    if (dossierStatus) {
      dossierStatus.textContent = data.payment_status_label;
      dossierStatus.className = "badge badge-" + data.payment_status;
    }
    data.requests.forEach(function (r) {
      var el = root.querySelector('[data-request="' + r.reference + '"]');
      if (!el) { return; }
      var paid = el.querySelector("[data-request-paid]");
      if (paid) { paid.textContent = r.amount_paid_text; }
      if (el.getAttribute("data-status") === r.status) { return; }
      el.setAttribute("data-status", r.status);
      el.className = el.className.replace(/\bstatus-\S+/, "status-" + r.status) + " changed";
      var badge = el.querySelector("[data-status-badge]");
      if (badge) {
        badge.textContent = r.status_label;
        badge.className = "badge badge-big badge-" + r.status;
      }
      var actions = el.querySelector("[data-when-payable]");
      if (actions) { actions.hidden = !r.payable; }
      if (announce) { announce.textContent = r.reference + ": " + r.status_label; }
    });
  };

  var timer = null;
  var schedule = function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, anyLive() && !document.hidden ? 800 : 15000);
  };

  var poll = function () {
    if (document.hidden) { schedule(); return; }
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(apply)
      .catch(function () { /* signed out or offline: try again at the next tick */ })
      .then(schedule);
  };

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { window.clearTimeout(timer); poll(); }
  });
  schedule();
})();
