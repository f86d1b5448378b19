/* 我的订单: on a phone the tab row scrolls sideways and its last tabs (待评价, 退款售后) lie past the
   edge of the screen. The row is scrolled so that the current tab shows (only the row: the page does
   not move). */
(function () {
  "use strict";
  var current = document.querySelector(".order-tabs a[aria-current=page]");
  if (!current) return;
  var row = current.parentElement;
  var r = row.getBoundingClientRect();
  var c = current.getBoundingClientRect();
  if (c.right > r.right) row.scrollLeft += c.right - r.right;
  else if (c.left < r.left) row.scrollLeft -= r.left - c.left;
})();
