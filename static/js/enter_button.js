/* Enter in a field marked data-enter="<button id>" submits its form with that button, as if it were
   pressed: the 查找商品 field's Enter searches (its 查找 button), while Enter in any other field presses
   the form's default button — its first submit button in tree order (保存草稿, 发送询价). Without this
   script, Enter in the search field presses the default button too, and the server searches when the
   query was typed but not yet searched (institutions/views.py, `_posted_action`). */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) return; // an IME choosing a word: not a submission
    var field = event.target.closest && event.target.closest("input[data-enter]");
    if (!field || !field.form) return;
    var button = document.getElementById(field.getAttribute("data-enter"));
    if (!button || button.form !== field.form) return;
    event.preventDefault();
    if (field.form.requestSubmit) field.form.requestSubmit(button);
    else button.click();
  });
})();
