// Review editor: drag on the page image to draw a signature box, click a box to remove it.
// The boxes (normalised to [0,1]) are kept in the hidden input #boxes-input as JSON and sent with
// the review form; the server validates them again.
(function () {
  "use strict";
  var view = document.getElementById("page-view");
  var input = document.getElementById("boxes-input");
  if (!view || !input) return;
  var svg = view.querySelector("svg");
  var NS = "http://www.w3.org/2000/svg";
  var MIN = 0.005;  // smaller than this is a click, not a box

  function clamp(v) { return Math.min(1, Math.max(0, v)); }
  function point(ev) {
    var r = svg.getBoundingClientRect();
    return {x: clamp((ev.clientX - r.left) / r.width), y: clamp((ev.clientY - r.top) / r.height)};
  }
  function boxes() {
    return Array.prototype.map.call(svg.querySelectorAll("rect.sig"), function (r) {
      return r.getAttribute("data-box").split(",").map(Number);
    });
  }
  function sync() {
    input.value = JSON.stringify(boxes());
    var n = document.getElementById("box-count");
    if (n) n.textContent = String(svg.querySelectorAll("rect.sig").length);
  }
  function setRect(r, b) {
    r.setAttribute("x", b[0]); r.setAttribute("y", b[1]);
    r.setAttribute("width", b[2] - b[0]); r.setAttribute("height", b[3] - b[1]);
  }

  var start = null, draft = null;
  svg.addEventListener("pointerdown", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("sig")) return;  // handled by click
    ev.preventDefault();
    start = point(ev);
    draft = document.createElementNS(NS, "rect");
    draft.setAttribute("class", "draft");
    setRect(draft, [start.x, start.y, start.x, start.y]);
    svg.appendChild(draft);
    svg.setPointerCapture(ev.pointerId);
  });
  svg.addEventListener("pointermove", function (ev) {
    if (!start) return;
    var p = point(ev);
    setRect(draft, [Math.min(start.x, p.x), Math.min(start.y, p.y), Math.max(start.x, p.x), Math.max(start.y, p.y)]);
  });
  svg.addEventListener("pointerup", function (ev) {
    if (!start) return;
    var p = point(ev);
    var b = [Math.min(start.x, p.x), Math.min(start.y, p.y), Math.max(start.x, p.x), Math.max(start.y, p.y)];
    svg.removeChild(draft);
    start = draft = null;
    if (b[2] - b[0] < MIN || b[3] - b[1] < MIN) return;
    var r = document.createElementNS(NS, "rect");
    r.setAttribute("class", "sig added");
    r.setAttribute("data-box", b.map(function (v) { return v.toFixed(4); }).join(","));
    setRect(r, b);
    svg.appendChild(r);
    sync();
  });
  svg.addEventListener("click", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("sig")) {
      svg.removeChild(ev.target);
      sync();
    }
  });
  sync();
})();
