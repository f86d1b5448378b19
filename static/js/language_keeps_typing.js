/* Switching language (中文 / English in the header) reloads the page in the other language: what the
   visitor had typed into the page's forms would be lost with it, and so would a form the server had
   sent back with their values and its errors. Just before the switch the values of the page's fields
   are put in this tab's sessionStorage under the address the switch comes back to (the link's `next`:
   this page, or for a page a POST rendered at an address a GET cannot open, the page its form was sent
   from); when that address loads they are filled back in, each into the field at the same place in the
   same form, and forgotten. Never
   kept: passwords, files, hidden fields (the CSRF token and once-tokens among them). Nothing is sent
   to the server. */
(function () {
  "use strict";
  var KEY = "language-keeps-typing:";

  function here() {
    return KEY + location.pathname + location.search;
  }

  function landing(link) {  /* the key of the page the switch leads back to: its `next` without `lang` */
    try {
      var next = new URL(new URL(link.href, location.href).searchParams.get("next") || "/", location.href);
      next.searchParams.delete("lang");
      return KEY + next.pathname + next.search;
    } catch (error) {
      return here();
    }
  }

  function kept(field) {
    if (!field.name || field.disabled) return false;
    var type = (field.type || "").toLowerCase();
    return type !== "password" && type !== "file" && type !== "hidden" && type !== "submit" && type !== "button";
  }

  function remember(key) {
    var forms = document.forms, typed = [];
    for (var f = 0; f < forms.length; f++) {
      var fields = forms[f].elements;
      for (var i = 0; i < fields.length; i++) {
        var field = fields[i];
        if (!kept(field)) continue;
        var type = (field.type || "").toLowerCase();
        typed.push({
          form: f,
          field: i,
          name: field.name,
          value: field.value,
          checked: type === "checkbox" || type === "radio" ? field.checked : null
        });
      }
    }
    try {
      if (typed.length) sessionStorage.setItem(key, JSON.stringify(typed));
    } catch (error) { /* storage full or off: the switch goes ahead without it */ }
  }

  function restore() {
    var saved;
    try {
      saved = sessionStorage.getItem(here());
      sessionStorage.removeItem(here());
    } catch (error) {
      return;
    }
    if (!saved) return;
    var typed = JSON.parse(saved);
    for (var i = 0; i < typed.length; i++) {
      var form = document.forms[typed[i].form];
      var field = form && form.elements[typed[i].field];
      if (!field || field.name !== typed[i].name || !kept(field)) continue;  // not the same page after all
      if (typed[i].checked === null) field.value = typed[i].value;
      else if (field.value === typed[i].value) field.checked = typed[i].checked;
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.lang");
    if (link) remember(landing(link));
  });
  // after every deferred script of the page has run, so their change listeners see the values
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restore);
  else restore();
})();
