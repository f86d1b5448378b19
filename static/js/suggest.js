/* Search suggestions as you type, for the header search box (progressive enhancement: without
   JavaScript the form still submits to /search). Fills a <datalist> from /api/v1/search/suggest. */
(function () {
  "use strict";
  var input = document.getElementById("q");
  if (!input || !window.fetch) return;
  var list = document.createElement("datalist");
  list.id = "q-suggestions";
  input.parentNode.appendChild(list);
  input.setAttribute("list", list.id);
  var timer = null, last = "", controller = null;

  function render(items) {
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.text;  /* textContent/value only: never HTML */
      list.appendChild(option);
    });
  }

  function load() {
    var q = input.value.trim();
    if (q === last) return;
    last = q;
    if (!q) { render([]); return; }
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    fetch("/api/v1/search/suggest?q=" + encodeURIComponent(q.slice(0, 100)),
          {headers: {"Accept": "application/json"}, signal: controller ? controller.signal : undefined})
      .then(function (r) { return r.ok ? r.json() : {items: []}; })
      .then(function (data) { if (input.value.trim() === q) render(data.items || []); })
      .catch(function () {});
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  });
})();
