/* The variant picker (规格) on a product page. Without this script it is a form of radio buttons
   and a 选择规格 button: submitting goes to /products/<id>?variant=<chosen>, which redirects to the
   chosen variant's own page. With it, choosing a radio button fetches that page and swaps the
   product part of this one (price, stock, buy bar, description), so the price and stock shown follow
   the choice at once; the address follows too (history), and the server renders everything shown. */
(function () {
  "use strict";
  var picker = document.querySelector("form[data-variant-picker]");
  if (!picker || !window.fetch || !window.DOMParser) return;
  var submit = picker.querySelector("[data-picker-submit]");
  if (submit) submit.hidden = true;

  function swap(html, url) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("[data-product-page]");
    var current = document.querySelector("[data-product-page]");
    if (!fresh || !current) {
      window.location.assign(url);
      return;
    }
    current.replaceWith(fresh);
    document.title = doc.title;
    if (window.shopStepper) window.shopStepper.show(fresh);
    if (window.shopShare) window.shopShare.show(fresh);
    var newPicker = fresh.querySelector("form[data-variant-picker]");
    if (newPicker) {
      var button = newPicker.querySelector("[data-picker-submit]");
      if (button) button.hidden = true;
      var checked = newPicker.querySelector("input[name=variant]:checked");
      if (checked) checked.focus();
    }
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("form[data-variant-picker] input[name=variant]")) return;
    var form = input.form;
    var url = form.action + (form.action.indexOf("?") < 0 ? "?" : "&") + "variant=" + encodeURIComponent(input.value);
    form.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text().then(function (html) {
          if (window.history && window.history.replaceState) window.history.replaceState(null, "", response.url);
          swap(html, response.url);
        });
      })
      .catch(function () {
        window.location.assign(url);
      });
  });
})();
