// Airlock console: live updates without a reload. Every two seconds the page asks for its own
// <main> (the same URL with fragment=1) and swaps it in when its version changed, unless the
// reader is typing in it. The selectors submit on change. Without JavaScript, everything reads.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  if (!main || !window.fetch) return;
  function tick() {
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    fetch(url, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (live) live.className = r.ok ? "live on" : "live";
        var version = r.headers.get("X-Airlock-Console-Version");
        if (!r.ok || !version || version === main.dataset.version) return null;
        return r.text().then(function (html) {
          if (main.contains(document.activeElement) && document.activeElement !== document.body) return;
          main.innerHTML = html;
          main.dataset.version = version;
        });
      })
      .catch(function () { if (live) live.className = "live"; })
      .then(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 2000);
})();
