// One submission per press, however many clicks: once a form is sent its submit button is disabled
// (showing its data-sending-text, if any), and enabled again if the page comes back (Back button).
// Forms with data-submit-once get it here; contact.js calls window.hfdSubmitOnce(form) for its form.
// The disabled button's own name and value are not sent, so use it where the submit button has none.
(function () {
  "use strict";

  function submitOnce(form) {
    var button = form.querySelector("button[type=submit]");
    var idleText = button ? button.textContent : "";
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sending") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sending", "true");
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
        button.textContent = button.getAttribute("data-sending-text") || idleText;
      }
    });
    window.addEventListener("pageshow", function () {
      form.removeAttribute("data-sending");
      if (button) {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
        button.textContent = idleText;
      }
    });
  }

  window.hfdSubmitOnce = submitOnce;
  Array.prototype.forEach.call(document.querySelectorAll("form[data-submit-once]"), submitOnce);
})();
