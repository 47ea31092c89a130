/* The citizen's payment page: copy buttons (Clipboard API, with a fallback for pages served
   without HTTPS and older browsers), and the state followed live: status.json every 0.8 s
   while the request may still be paid, so "paid" shows within a second (every 10 s in a
   hidden tab, and at once when it is shown again); when the state changes, or a receipt of
   the dossier is issued or cancelled (whichever payment paid it), the page's content is fetched again and swapped in
   place (no reload, no lost scroll position), showing the receipts with their downloads. */
(function () {
  "use strict";
  var timer = null;
  var current = null;  // the page's #pay, replaced by a fresh one when the state changes

  var legacyCopy = function (text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    area.setSelectionRange(0, text.length);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  };

  var copy = function (text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; },
                                                     function () { return legacyCopy(text); });
    }
    return Promise.resolve(legacyCopy(text));
  };

  var selectText = function (el) {
    if (!el) { return; }
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };

  var feedback = function (root, button, ok) {
    var message = ok ? root.getAttribute("data-copied") : root.getAttribute("data-copy-failed");
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    if (ok) {
      button.textContent = message;
      button.classList.add("copied");
      window.setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 2000);
    } else {
      selectText(button.parentNode.querySelector("span"));
    }
    var live = root.querySelector("[data-copy-feedback]");
    if (live) { live.textContent = message; }
  };

  var refresh = function (root) {
    fetch(window.location.href, { cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("pay");
        if (!fresh) { return schedule(root); }
        root.replaceWith(fresh);
        init(fresh);
      })
      .catch(function () { schedule(root); });
  };

  var poll = function (root) {
    fetch(root.getAttribute("data-status-url"), { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        var receiptsChanged = data.receipts_signature !== undefined &&
          data.receipts_signature !== (root.getAttribute("data-receipts") || "");
        if (data.status !== root.getAttribute("data-status") || receiptsChanged) {
          refresh(root);
        } else {
          schedule(root);
        }
      })
      .catch(function () { schedule(root); });
  };

  var schedule = function (root) {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { poll(root); }, document.hidden ? 10000 : 800);
  };

  var init = function (root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        copy(button.getAttribute("data-copy")).then(function (ok) { feedback(root, button, ok); });
      });
    });
    root.querySelectorAll("[data-print-page]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    current = root;
    if (root.getAttribute("data-live") === "1") { schedule(root); }
  };

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && current && current.getAttribute("data-live") === "1") {
      window.clearTimeout(timer);
      poll(current);
    }
  });

  var root = document.getElementById("pay");
  if (root) { init(root); }
})();
