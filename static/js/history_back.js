/* "Back" buttons with no address to link to: any element marked data-history-back is shown when the tab
   has a page to go back to, and goes back there (the 413 page when its Referer was not sent). A static
   file, so it runs under the page's Content-Security-Policy (inline handlers are blocked there). */
(function () {
  "use strict";
  if (window.history.length < 2) return;
  document.querySelectorAll("[data-history-back]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      window.history.back();
    });
  });
})();
