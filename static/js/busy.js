/* Feedback while slow work runs: a link or form marked data-busy="message" shows that message in
   a live region and is disabled until the page changes (or, for downloads, for a few seconds). */
(function () {
  "use strict";
  function note(el, text) {
    var live = document.getElementById("busy-status");
    if (!live) {
      live = document.createElement("p");
      live.id = "busy-status";
      live.className = "busy-note";
      live.setAttribute("role", "status");
      live.setAttribute("aria-live", "polite");
      el.parentNode.insertBefore(live, el.nextSibling);
    }
    live.textContent = text;
    el.setAttribute("aria-busy", "true");
    el.classList.add("is-busy");
    setTimeout(function () {
      live.textContent = "";
      el.removeAttribute("aria-busy");
      el.classList.remove("is-busy");
    }, 6000);
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-busy]");
    if (link) note(link, link.getAttribute("data-busy"));
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy")) return;
    var button = form.querySelector("button[type=submit], button:not([type])");
    if (button) button.disabled = true;
    note(form, form.getAttribute("data-busy"));
  });
})();
