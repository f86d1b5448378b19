/* The share box's 复制链接 (product and listing pages, templates/favourites/_box.html): the button is rendered
   hidden and shown here where the browser can copy; a tap copies the short link and says so in the box's status
   line. Clicks are handled on the document, so a product part swapped in by the variant picker (variants.js)
   only needs `shopShare.show(root)` to reveal its button. Without this script the link is there to press and
   hold, as the box's hint says. */
(function () {
  "use strict";
  var canCopy = !!(navigator.clipboard && window.isSecureContext) || !!document.queryCommandSupported;
  function show(root) {
    if (!canCopy) return;
    var buttons = (root || document).querySelectorAll("button[data-copy-share]");
    Array.prototype.forEach.call(buttons, function (button) {
      if (document.getElementById(button.getAttribute("data-copy-share"))) button.hidden = false;
    });
  }
  function copied(button) {
    var status = button.parentNode.querySelector("[data-copied]");
    if (status) status.textContent = status.getAttribute("data-copied");
  }
  function copyBySelecting(input, button) {
    input.focus();
    input.select();
    try {
      if (document.execCommand("copy")) copied(button);
    } catch (e) {
      /* the link stays selected, to copy by hand */
    }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy-share]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy-share"));
    if (!input) return;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () {
          copied(button);
        },
        function () {
          copyBySelecting(input, button);
        }
      );
    } else {
      copyBySelecting(input, button);
    }
  });
  window.shopShare = { show: show };
  show(document);
})();
