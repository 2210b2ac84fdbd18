// The dashboard's only script: copy buttons, and activations' status and code as they arrive.
// Every page works without it.
(function () {
  "use strict";

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copy).textContent.trim();
      var note = document.getElementById("copied");
      var done = function (message) { if (note) { note.textContent = message; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done("Copied."); }, function () { done("Select it and copy."); });
      } else {
        var range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copy));
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        done(document.execCommand("copy") ? "Copied." : "Select it and copy.");
      }
    });
  });

  var script = document.getElementById("dashboard-js");
  var url = script && script.dataset.live;
  if (!url) { return; }
  var INTERVAL = 2000;

  function openRows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-activation][data-open]"));
  }

  function show(row, item) {
    var status = row.querySelector("[data-field=status]");
    status.textContent = item.status;
    status.className = "status status-" + item.status.toLowerCase();
    row.querySelector("[data-field=phoneNumber]").textContent = item.phoneNumber;
    row.querySelector("[data-field=code]").textContent = item.code;
    row.querySelector("[data-field=sms]").textContent = item.sms.join("\n");
    if (!item.open) {
      row.removeAttribute("data-open");
      var actions = row.querySelector(".actions");
      if (actions) { actions.remove(); }
    }
  }

  function poll() {
    var rows = openRows();
    var note = document.getElementById("live-note");
    if (!rows.length) {
      if (note) { note.textContent = ""; }
      return;
    }
    if (note) { note.textContent = "Open activations update live."; }
    var ids = rows.map(function (row) { return row.dataset.activation; });
    fetch(url + "?ids=" + encodeURIComponent(ids.join(",")), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (items) {
        items.forEach(function (item) {
          var row = document.querySelector('tr[data-activation="' + item.id + '"]');
          if (row) { show(row, item); }
        });
      })
      .catch(function () { /* the next round tries again */ })
      .then(function () { window.setTimeout(poll, INTERVAL); });
  }

  window.setTimeout(poll, INTERVAL);
})();
