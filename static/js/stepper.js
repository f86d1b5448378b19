/* Quantity steppers: buttons marked data-step="-1" / "1" with aria-controls="<input id>" change that
   number field within its min and max. They are rendered hidden, so without this script the plain
   number field is all there is. Clicks are handled on the document, so a part of the page replaced
   later (the variant picker, variants.js) only needs `shopStepper.show(root)` to reveal its buttons. */
(function () {
  "use strict";
  function show(root) {
    var buttons = (root || document).querySelectorAll("button[data-step][aria-controls]");
    Array.prototype.forEach.call(buttons, function (button) {
      if (document.getElementById(button.getAttribute("aria-controls"))) button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-step][aria-controls]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) return;
    var step = parseInt(button.getAttribute("data-step"), 10);
    var min = parseInt(input.min || "1", 10);
    var max = parseInt(input.max || "999", 10);
    var value = parseInt(input.value, 10);
    // an emptied field (or one the browser holds as not a number) starts again from the least: + and − both give
    // min, as if nothing had been typed (+ on an emptied box gave 2, a bag more than the buyer had asked for)
    input.value = String(isNaN(value) ? min : Math.min(max, Math.max(min, value + step)));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  window.shopStepper = { show: show };
  show(document);
})();
