// The triage results grid, by keyboard: arrows move between files, Space reveals or blurs the
// focused one (an audited request, through mm.js), digits 0-4 set its Project VIC category,
// X selects it for contributing, Enter opens it. Loaded from the server; no inline script.
"use strict";
(function () {
  var grid = document.getElementById("mm-grid");
  if (grid) {
    if (grid.dataset.thumb) { grid.style.setProperty("--mm-thumb", grid.dataset.thumb + "px"); }
    var cells = function () { return Array.prototype.slice.call(grid.querySelectorAll(".mm-cell")); };

    var focusCell = function (cell) {
      if (!cell) { return; }
      cells().forEach(function (other) { other.tabIndex = -1; });
      cell.tabIndex = 0;
      cell.focus();
    };

    // The cell straight above or below: the nearest one in the previous or next visual row.
    var vertical = function (all, index, step) {
      var here = all[index].getBoundingClientRect();
      var best = null;
      var bestScore = Infinity;
      all.forEach(function (cell) {
        var box = cell.getBoundingClientRect();
        var rowGap = (box.top - here.top) * step;
        if (rowGap <= 1) { return; }
        var score = rowGap * 10000 + Math.abs(box.left - here.left);
        if (score < bestScore) { bestScore = score; best = cell; }
      });
      return best;
    };

    var setCategory = function (cell, digit) {
      var target = cell.querySelector("[data-category]");
      var url = "/triage/" + grid.dataset.run + "/rows/" + cell.dataset.seq + "/category";
      window.htmx.ajax("POST", url, { target: target, swap: "innerHTML", values: { category: digit } });
    };

    grid.addEventListener("keydown", function (event) {
      var cell = event.target.closest(".mm-cell");
      if (!cell || event.target !== cell || event.altKey || event.ctrlKey || event.metaKey) { return; }
      var all = cells();
      var index = all.indexOf(cell);
      var key = event.key;
      var handled = true;
      if (key === "ArrowRight") { focusCell(all[index + 1]); }
      else if (key === "ArrowLeft") { focusCell(all[index - 1]); }
      else if (key === "ArrowDown") { focusCell(vertical(all, index, 1)); }
      else if (key === "ArrowUp") { focusCell(vertical(all, index, -1)); }
      else if (key === "Home") { focusCell(all[0]); }
      else if (key === "End") { focusCell(all[all.length - 1]); }
      else if (key === " ") {
        var img = cell.querySelector("img.mm-content");
        if (img) { window.mediamatch.toggle(img); }
      }
      else if (key === "Enter") { window.location.assign(cell.dataset.href); }
      else if (/^[0-4]$/.test(key)) { setCategory(cell, key); }
      else if (key === "x" || key === "X") {
        var box = cell.querySelector("input[type=checkbox]");
        if (box) { box.checked = !box.checked; cell.classList.toggle("mm-selected", box.checked); }
      }
      else { handled = false; }
      if (handled) { event.preventDefault(); }
    });

    // A click anywhere in a cell makes it the keyboard's cell.
    grid.addEventListener("click", function (event) {
      var cell = event.target.closest(".mm-cell");
      if (cell) { cells().forEach(function (other) { other.tabIndex = -1; }); cell.tabIndex = 0; }
    });
    grid.addEventListener("change", function (event) {
      if (event.target.matches("input[type=checkbox]")) {
        event.target.closest(".mm-cell").classList.toggle("mm-selected", event.target.checked);
      }
    });
  }

  // A video is revealed by its own button (playing it is the audited request); Esc veils it (mm.js).
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".mm-video-reveal");
    if (!button) { return; }
    var video = button.closest(".mm-figure").querySelector("video.mm-content");
    var revealed = video.classList.toggle("mm-revealed");
    button.setAttribute("aria-pressed", revealed ? "true" : "false");
    button.firstChild.nodeValue = revealed ? "Blur video" : "Reveal video";
  });

  var selectPage = document.getElementById("mm-select-page");
  if (selectPage) {
    selectPage.addEventListener("click", function () {
      document.querySelectorAll('#mm-grid input[type=checkbox][form="mm-selection"]').forEach(function (box) {
        box.checked = true;
        box.closest(".mm-cell").classList.add("mm-selected");
      });
    });
  }
})();
