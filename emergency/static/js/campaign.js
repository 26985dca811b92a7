// A campaign's page (templates/messaging/campaign.html): delivery counts refresh while it sends.
(function () {
  var box = document.getElementById("counts");
  if (!box) return;
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      document.querySelectorAll("[data-count]").forEach(function (el) { el.textContent = data.counts[el.dataset.count]; });
      var ack = document.getElementById("ack-rate");
      if (ack && data.counts.total) ack.textContent = Math.round(100 * data.counts.acknowledged / data.counts.total) + "%";
      if (data.status === "sending" || data.status === "scheduled" || data.counts.sent > 0) setTimeout(refresh, 2000);
    });
  }
  setTimeout(refresh, 2000);
})();
