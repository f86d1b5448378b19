/* A stay's page shows one room type's calendar at a time (templates/tourism/_calendar.html, its 房型 switch
   `.cal-types`), and its day links carry that type. Choosing another room in the booking form (`.book-box`)
   therefore shows that room's calendar, as its switch does, keeping what the form holds (dates, guests,
   rooms): a day tapped afterwards keeps the room chosen instead of going back to the calendar's. Without this
   script the switch above the calendar does the same by hand. */
(function () {
  "use strict";
  var select = document.querySelector('.book-box select[name="unit_type_id"]');
  if (!select) return;
  select.addEventListener("change", function () {
    var shown = document.querySelector('.cal-types a[aria-current="page"]');
    if (shown && new URL(shown.href, window.location.href).searchParams.get("unit_type_id") === select.value) return;
    var links = document.querySelectorAll(".cal-types a[href]");
    for (var i = 0; i < links.length; i += 1) {
      var url = new URL(links[i].href, window.location.href);
      if (url.searchParams.get("unit_type_id") !== select.value) continue;
      ["checkin", "checkout", "guests", "units"].forEach(function (name) {
        var input = select.form.elements[name];
        if (input && input.value) url.searchParams.set(name, input.value);
      });
      window.location.assign(url.toString());
      return;
    }
  });
})();
