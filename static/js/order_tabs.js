/* 我的订单: on a phone the tab row scrolls sideways and its last tabs (待使用, 待评价, 退款售后) lie past the
   edge of the screen. When the current tab is not wholly in view, the row is scrolled to bring it to the
   middle, so that the tabs beside it show too and say the row goes on (only the row: the page does not
   move; the browser stops the scroll at either end of the row). */
(function () {
  "use strict";
  var current = document.querySelector(".order-tabs a[aria-current=page]");
  if (!current) return;
  var row = current.parentElement;
  var r = row.getBoundingClientRect();
  var c = current.getBoundingClientRect();
  if (c.right > r.right || c.left < r.left) row.scrollLeft += (c.left + c.right) / 2 - (r.left + r.right) / 2;
})();
