/* Print buttons: any element marked data-print opens the browser's print dialog. A static file, so
   it runs under the page's Content-Security-Policy (inline onclick handlers are blocked there). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (!button) return;
    event.preventDefault();
    window.print();
  });
})();
