// Refresh the progress card of a run page every two seconds until the run
// finishes, then reload once so the controls and failures are current.
(function () {
  "use strict";
  var card = document.getElementById("progress");
  if (!card || card.dataset.finished === "true") { return; }
  var bar = card.querySelector("progress");

  function show(data) {
    card.querySelectorAll("[data-field]").forEach(function (cell) {
      var value = data[cell.dataset.field];
      if (value === null || value === undefined) { value = "–"; }
      else if (cell.dataset.field === "seconds_left") { value = Math.round(value); }
      cell.textContent = value;
    });
    bar.max = data.total;
    bar.value = data.done + data.failed;
  }

  function poll() {
    fetch(card.dataset.url, { credentials: "same-origin" })
      .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply.status); })
      .then(function (data) {
        show(data);
        if (data.finished) { window.location.reload(); } else { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  setTimeout(poll, 2000);
})();
