/* Feedback while slow work runs: a link or form marked data-busy="message" shows that message in
   a live region and is disabled until the page changes (or, for downloads, for a few seconds).
   A form marked data-submit-once is sent once (see below). */
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

  /* A form marked data-submit-once is sent once: a second tap before the next page arrives (a double
     tap on 加入购物车 or 立即购买, which would add the quantity twice) is ignored, and its submit buttons
     are disabled just after the first submission took the pressed button's name and value. They come
     back when the page is shown again from the back/forward cache. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-submit-once")) return;
    if (form.getAttribute("data-submitted")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitted", "1");
    setTimeout(function () {
      var buttons = form.querySelectorAll("button[type=submit]");
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    }, 0);
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    var forms = document.querySelectorAll("form[data-submitted]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].removeAttribute("data-submitted");
      var buttons = forms[i].querySelectorAll("button[type=submit]");
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
    }
  });
})();
