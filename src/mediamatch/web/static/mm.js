// mediamatch pages: wellness (reveal, Esc to veil everything, break reminder) and the CSRF
// header for htmx. Loaded from the server itself; the CSP allows no inline script.
"use strict";
(function () {
  var body = document.body;
  var settings = body.dataset;
  var BREAK_KEY = "mm-revealed-ms";

  // Per-user wellness settings become CSS variables (CSSOM is allowed by the CSP; style
  // attributes are not). Without this script the stylesheet's safe defaults apply.
  var rootStyle = document.documentElement.style;
  rootStyle.setProperty("--mm-blur", (settings.blurPx || "12") + "px");
  rootStyle.setProperty("--mm-grey", settings.greyscale === "0" ? "0" : "1");
  rootStyle.setProperty("--mm-thumb", (settings.thumbPx || "192") + "px");

  // Every htmx request carries the page's CSRF token.
  var token = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRF-Token"] = token.content; }
  });

  function buttonOf(img) {
    var figure = img.closest(".mm-figure");
    return figure ? figure.querySelector(".mm-reveal") : null;
  }

  function setPressed(img, revealed) {
    var button = buttonOf(img);
    if (button) {
      button.setAttribute("aria-pressed", revealed ? "true" : "false");
      button.firstChild.nodeValue = revealed ? "Blur" : "Reveal";
    }
  }

  // A reveal is its own request (the server records it) for the unblurred thumbnail.
  function reveal(img) {
    if (img.classList.contains("mm-revealed")) { return; }
    if (!img.dataset.veiledSrc) { img.dataset.veiledSrc = img.getAttribute("src"); }
    img.src = img.dataset.revealSrc;
    img.classList.add("mm-revealed");
    setPressed(img, true);
    startClock();
  }

  function veil(img) {
    if (!img.classList.contains("mm-revealed")) { return; }
    img.classList.remove("mm-revealed");
    if (img.dataset.veiledSrc) { img.src = img.dataset.veiledSrc; }
    setPressed(img, false);
    if (!document.querySelector("img.mm-content.mm-revealed")) { stopClock(); }
  }

  function veilAll() {
    document.querySelectorAll("img.mm-content.mm-revealed").forEach(veil);
    document.querySelectorAll("video.mm-content").forEach(function (video) { video.pause(); video.classList.remove("mm-revealed"); });
  }

  function toggle(img) {
    if (img.classList.contains("mm-revealed")) { veil(img); } else { reveal(img); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".mm-reveal");
    if (!button) { return; }
    var figure = button.closest(".mm-figure");
    var img = figure ? figure.querySelector("img.mm-content") : null;
    if (img) { toggle(img); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { veilAll(); }
  }, true);

  // Videos: muted and paused unless the account chose otherwise.
  function applyVideoSettings(scope) {
    scope.querySelectorAll("video").forEach(function (video) {
      video.muted = settings.muted !== "0";
      if (settings.autoplay !== "1") { video.autoplay = false; video.pause(); }
    });
  }
  applyVideoSettings(document);
  document.addEventListener("htmx:afterSwap", function (event) { applyVideoSettings(event.target); });

  // Break reminder: revealed viewing time adds up across pages of this tab.
  var breakMinutes = parseInt(settings.breakMinutes || "0", 10);
  var started = null;
  var timer = null;
  function spent() { return parseInt(sessionStorage.getItem(BREAK_KEY) || "0", 10); }
  function startClock() {
    if (!breakMinutes || started !== null) { return; }
    started = Date.now();
    timer = window.setInterval(check, 1000);
  }
  function stopClock() {
    if (started === null) { return; }
    sessionStorage.setItem(BREAK_KEY, String(spent() + Date.now() - started));
    started = null;
    window.clearInterval(timer);
  }
  function check() {
    var total = spent() + (started === null ? 0 : Date.now() - started);
    if (total >= breakMinutes * 60000) {
      veilAll();
      stopClock();
      sessionStorage.setItem(BREAK_KEY, "0");
      var dialog = document.getElementById("mm-break");
      if (dialog) { dialog.hidden = false; dialog.querySelector("button").focus(); }
    }
  }
  window.addEventListener("pagehide", stopClock);
  document.addEventListener("click", function (event) {
    if (event.target.closest(".mm-break-dismiss")) { document.getElementById("mm-break").hidden = true; }
  });

  // What other page scripts use (the results grid's keyboard, the review queue).
  window.mediamatch = { reveal: reveal, veil: veil, veilAll: veilAll, toggle: toggle };
})();
