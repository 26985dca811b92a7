// The SMS composer (templates/messaging/compose.html): a live part counter and the server's
// recipient preview. Labels and the preview URL come from the form's data-* attributes.
(function () {
  // Same rule as the server: GSM-7 160/153, otherwise UCS-2 70/67 characters a part.
  var gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var ext = "^{}\\[~]|€\f";
  var form = document.getElementById("compose"), body = document.getElementById("f-body");
  if (!form || !body) return;
  var partsEl = document.getElementById("parts"), preview = document.getElementById("preview");
  var labels = {chars: form.dataset.labelChars, parts: form.dataset.labelParts, summary: form.dataset.labelSummary};
  function count(text) {
    var units = 0, isGsm = true;
    for (var ch of text) { if (gsm.indexOf(ch) >= 0) units += 1; else if (ext.indexOf(ch) >= 0) units += 2; else { isGsm = false; break; } }
    if (!isGsm) { units = 0; for (var i = 0; i < text.length; i++) units += 1; }
    var single = isGsm ? 160 : 70, multi = isGsm ? 153 : 67;
    return {units: units, parts: units === 0 ? 0 : (units <= single ? 1 : Math.ceil(units / multi)), enc: isGsm ? "GSM-7" : "UCS-2"};
  }
  function fill(t, v) { return t.replace(/\{(\w+)\}/g, function (_, k) { return v[k]; }); }
  function local() { var c = count(body.value); partsEl.textContent = fill(labels.chars, {n: c.units}) + " · " + c.enc + " · " + fill(labels.parts, {n: c.parts}); }
  var timer = null;
  function remote() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(form.dataset.previewUrl, {method: "POST", body: new FormData(form), credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (p) { preview.textContent = fill(labels.summary, {recipients: p.recipients, opted: p.opted_out, invalid: p.invalid, parts: p.parts, total: p.total_parts}); });
    }, 300);
  }
  body.addEventListener("input", function () { local(); remote(); });
  form.addEventListener("change", remote);
  local(); remote();
})();
