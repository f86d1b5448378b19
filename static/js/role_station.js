/* The admin's role forms (change a role, new account): the station select is for operators only, so it
   is disabled, and set back to its first choice (none), whenever another role is chosen. A disabled
   select is not sent, which the server reads as "no station". Without this script the server's rule
   still says why a station given to another role is refused. */
(function () {
  "use strict";
  function sync(form) {
    var role = form.querySelector("select[name=role]");
    var station = form.querySelector("select[name=" + form.getAttribute("data-role-station") + "]");
    if (!role || !station) return;
    var operator = role.value === "operator";
    if (!operator) station.selectedIndex = 0;
    station.disabled = !operator;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-role-station]"), function (form) {
    sync(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "role") sync(form);
    });
  });
})();
