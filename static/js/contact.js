// Progressive enhancement for the contact form; everything works without it.
// - keeps a draft in sessionStorage while typing (cleared once the message has arrived),
// - shows the characters left, announcing them politely only after typing pauses,
// - stops a double-click sending twice.
// (Focusing the error summary is error-summary.js's job, on every form of the site.)
(function () {
  "use strict";
  var DRAFT_KEY = "hope-for-dystonia-contact-draft";
  var DRAFT_FIELDS = ["name", "email", "phone", "topic", "message"];

  function storage() {
    try { return window.sessionStorage; } catch (error) { return null; }
  }

  if (document.querySelector("[data-clear-draft]")) {
    var store = storage();
    if (store) { store.removeItem(DRAFT_KEY); }
    return;
  }

  var form = document.querySelector("form[data-draft-form]");
  if (!form) { return; }

  function debounce(callback, wait) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(callback, wait);
    };
  }

  // Draft: restore into empty fields only (what the server sent back always wins), save as typed.
  var drafts = storage();
  if (drafts) {
    var saved = {};
    try { saved = JSON.parse(drafts.getItem(DRAFT_KEY) || "{}"); } catch (error) { saved = {}; }
    DRAFT_FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (field && !field.value && saved[name]) { field.value = saved[name]; }
    });
    var saveDraft = debounce(function () {
      var draft = {};
      DRAFT_FIELDS.forEach(function (name) {
        if (form.elements[name]) { draft[name] = form.elements[name].value; }
      });
      try { drafts.setItem(DRAFT_KEY, JSON.stringify(draft)); } catch (error) { /* storage full or off */ }
    }, 400);
    form.addEventListener("input", saveDraft);
    form.addEventListener("change", saveDraft);
  }

  // Character count: visible at once, announced to screen readers after a pause.
  var message = form.elements.message;
  var visibleCount = document.getElementById("message-count");
  var liveCount = document.getElementById("message-count-live");
  if (message && visibleCount && liveCount) {
    var limit = parseInt(message.getAttribute("data-max-length"), 10);
    var describe = function () {
      var left = limit - message.value.length;
      var count = Math.abs(left);
      return "You have " + count.toLocaleString("en-GB") + " character" + (count === 1 ? "" : "s") +
        (left >= 0 ? " remaining" : " too many");
    };
    var showCount = function () {
      visibleCount.textContent = describe();
      visibleCount.classList.toggle("over-limit", message.value.length > limit);
    };
    var announceCount = debounce(function () { liveCount.textContent = describe(); }, 1500);
    visibleCount.hidden = false;
    showCount();
    message.addEventListener("input", function () { showCount(); announceCount(); });
  }

  // One submission per press, however many clicks; enabled again if the page comes back (submit-once.js).
  if (window.hfdSubmitOnce) { window.hfdSubmitOnce(form); }
})();
