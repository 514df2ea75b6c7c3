// Region search and matched regions. Loaded from the server; no inline script (the CSP forbids it).
//
// 1. The box of the region search (/similar): the chosen picture is previewed blurred (read by
//    the browser, never sent before the search), a box is drawn over it with the mouse, or moved
//    with the arrow keys and resized with Shift and the arrow keys; the x, y, width and height
//    fields follow, and typing into them moves the box (they are the fallback without script).
// 2. Every `.mm-overlaid` picture (compare page, results): its SVG region is laid exactly over
//    the picture, which sits in a figure with a caption below it.
"use strict";
(function () {
  var placeOverlays = function () {
    document.querySelectorAll(".mm-overlaid").forEach(function (holder) {
      var img = holder.querySelector("img");
      var svg = holder.querySelector("svg.mm-region");
      if (!img || !svg) { return; }
      svg.style.left = img.offsetLeft + "px";
      svg.style.top = img.offsetTop + "px";
      svg.style.width = img.offsetWidth + "px";
      svg.style.height = img.offsetHeight + "px";
    });
  };
  document.querySelectorAll(".mm-overlaid img").forEach(function (img) { img.addEventListener("load", placeOverlays); });
  window.addEventListener("resize", placeOverlays);
  placeOverlays();

  var area = document.getElementById("mm-box-area");
  if (!area) { return; }
  var fileInput = document.getElementById("mm-query-file");
  var preview = document.getElementById("mm-query-preview");
  var svg = document.getElementById("mm-box-svg");
  var rect = document.getElementById("mm-box-rect");
  var status = document.getElementById("mm-box-status");
  var fields = { x: "mm-box-x", y: "mm-box-y", w: "mm-box-w", h: "mm-box-h" };
  Object.keys(fields).forEach(function (name) { fields[name] = document.getElementById(fields[name]); });
  var size = { w: 0, h: 0 };
  var box = { x: 0, y: 0, w: 0, h: 0 };

  var clamp = function () {
    box.w = Math.max(1, Math.min(Math.round(box.w), size.w));
    box.h = Math.max(1, Math.min(Math.round(box.h), size.h));
    box.x = Math.max(0, Math.min(Math.round(box.x), size.w - box.w));
    box.y = Math.max(0, Math.min(Math.round(box.y), size.h - box.h));
  };

  var show = function () {
    clamp();
    rect.setAttribute("x", box.x);
    rect.setAttribute("y", box.y);
    rect.setAttribute("width", box.w);
    rect.setAttribute("height", box.h);
    Object.keys(fields).forEach(function (name) { fields[name].value = box[name]; });
    status.textContent = "Box at " + box.x + ", " + box.y + ", " + box.w + " by " + box.h + " pixels of " + size.w + " by " + size.h + ".";
  };

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    if (!file) { area.hidden = true; return; }
    var reader = new FileReader();
    reader.addEventListener("load", function () { preview.src = reader.result; });
    reader.readAsDataURL(file);  // a data: URL (the CSP allows data: pictures, not blob:)
  });

  preview.addEventListener("load", function () {
    size = { w: preview.naturalWidth, h: preview.naturalHeight };
    svg.setAttribute("viewBox", "0 0 " + size.w + " " + size.h);
    Object.keys(fields).forEach(function (name) { fields[name].max = name === "x" || name === "w" ? size.w : size.h; });
    box = { x: size.w / 4, y: size.h / 4, w: size.w / 2, h: size.h / 2 };
    area.hidden = false;
    show();
  });

  Object.keys(fields).forEach(function (name) {
    fields[name].addEventListener("change", function () {
      if (!size.w) { return; }
      var value = parseInt(fields[name].value, 10);
      if (!isNaN(value)) { box[name] = value; }
      show();
    });
  });

  area.addEventListener("keydown", function (event) {
    if (!size.w || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var step = Math.max(1, Math.round(Math.max(size.w, size.h) / 50));
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    var move = moves[event.key];
    if (!move) { return; }
    event.preventDefault();
    if (event.shiftKey) { box.w += move[0]; box.h += move[1]; }
    else { box.x += move[0]; box.y += move[1]; }
    show();
  });

  // Pointer positions in the picture's pixels.
  var at = function (event) {
    var bounds = svg.getBoundingClientRect();
    return {
      x: Math.max(0, Math.min(size.w, (event.clientX - bounds.left) * size.w / bounds.width)),
      y: Math.max(0, Math.min(size.h, (event.clientY - bounds.top) * size.h / bounds.height)),
    };
  };
  var start = null;
  svg.addEventListener("pointerdown", function (event) {
    if (!size.w) { return; }
    start = at(event);
    svg.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  svg.addEventListener("pointermove", function (event) {
    if (!start) { return; }
    var here = at(event);
    box = { x: Math.min(start.x, here.x), y: Math.min(start.y, here.y), w: Math.abs(here.x - start.x), h: Math.abs(here.y - start.y) };
    show();
  });
  var finish = function () { start = null; area.focus(); };
  svg.addEventListener("pointerup", finish);
  svg.addEventListener("pointercancel", finish);
})();
