/* A stay's page shows one room type's calendar at a time (templates/tourism/_calendar.html, its 房型 switch
   `.cal-types`), and its day links carry that type. Choosing another room in the booking form (`.book-box`)
   therefore shows that room's calendar, as its switch does, keeping what the form holds (dates, guests,
   rooms): a day tapped afterwards keeps the room chosen instead of going back to the calendar's. Without this
   script the switch above the calendar does the same by hand.

   The calendar's links (a day, 上月 / 下月, the switch) carry the party and rooms the page was drawn with;
   a party or rooms typed into the booking form since then (人数 3, not yet sent) go with a link tapped, so a
   tapped day keeps them instead of going back to the page's. Only a value the box accepts (its min and max)
   goes; one typed wrong leaves the link's own. */
(function () {
  "use strict";
  var form = document.querySelector(".book-box form");
  if (!form) return;

  function typed(name) {
    var input = form.elements[name];
    if (!input || !input.value || !input.validity || !input.validity.valid) return null;
    return /^[0-9]+$/.test(input.value) ? input.value : null;
  }

  var calendar = document.querySelector(".tour-calendar");
  if (calendar) {
    calendar.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || !calendar.contains(link)) return;
      var url = new URL(link.href, window.location.href);
      var changed = false;
      ["guests", "units"].forEach(function (name) {
        var value = typed(name);
        if (value !== null && url.searchParams.has(name) && url.searchParams.get(name) !== value) {
          url.searchParams.set(name, value);
          changed = true;
        }
      });
      if (changed) link.href = url.toString();
    });
  }

  var select = form.querySelector('select[name="unit_type_id"]');
  if (!select) return;
  select.addEventListener("change", function () {
    var shown = document.querySelector('.cal-types a[aria-current="page"]');
    if (shown && new URL(shown.href, window.location.href).searchParams.get("unit_type_id") === select.value) return;
    var links = document.querySelectorAll(".cal-types a[href]");
    for (var i = 0; i < links.length; i += 1) {
      var url = new URL(links[i].href, window.location.href);
      if (url.searchParams.get("unit_type_id") !== select.value) continue;
      ["checkin", "checkout"].forEach(function (name) {
        var input = form.elements[name];
        if (input && input.value) url.searchParams.set(name, input.value);
      });
      ["guests", "units"].forEach(function (name) {
        var value = typed(name); // 人数 0 would make the page a 400: the link's own then
        if (value !== null) url.searchParams.set(name, value);
      });
      window.location.assign(url.toString());
      return;
    }
  });
})();
