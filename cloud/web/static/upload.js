// Upload progress: polls the job's JSON status endpoint until it is done or failed.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var url = box.dataset.statusUrl;
  var bar = box.querySelector(".progress > div");
  var label = document.getElementById("job-state");
  var list = document.getElementById("job-results");

  function render(s) {
    bar.style.width = Math.round(100 * (s.progress || 0)) + "%";
    label.textContent = s.message;
    box.dataset.state = s.state;
    if (s.state === "failed") label.className = "flash error";
    if (s.state === "done") label.className = "flash ok";
    list.textContent = "";
    (s.documents || []).forEach(function (d) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = d.url;
      a.textContent = d.label;  // textContent: never HTML from the server
      li.appendChild(a);
      list.appendChild(li);
    });
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        render(s);
        if (s.state !== "done" && s.state !== "failed") setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
