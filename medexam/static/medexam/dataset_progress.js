// Poll the build progress of every dataset version that a worker has not
// finished yet, and reload the page once one is published or has failed.
(function () {
  "use strict";
  var rows = document.querySelectorAll("tr.dataset-version");
  var open = Array.prototype.filter.call(rows, function (row) {
    return row.dataset.status === "pending" || row.dataset.status === "building";
  });
  if (!open.length) { return; }

  function show(row, data) {
    row.querySelectorAll("[data-field]").forEach(function (cell) {
      cell.textContent = data[cell.dataset.field];
    });
    var bar = row.querySelector("progress");
    if (bar) {
      bar.max = Math.max(data.items_total, 1);
      bar.value = data.items_done;
    }
  }

  function poll(row) {
    fetch(row.dataset.url, { credentials: "same-origin" })
      .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply.status); })
      .then(function (data) {
        show(row, data);
        if (data.finished) { window.location.reload(); } else { setTimeout(poll, 2000, row); }
      })
      .catch(function () { setTimeout(poll, 10000, row); });
  }
  open.forEach(function (row) { setTimeout(poll, 2000, row); });
})();
