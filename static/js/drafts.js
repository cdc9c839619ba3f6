// Drafts that save themselves, for the admin's forms (form[data-draft-key]); every form works without it.
// - While she types, the form's fields are kept in localStorage ("hfd-draft:<key>"), so a crash, a closed
//   tab or a failed request loses nothing. Passwords, files and hidden fields (the CSRF token) are never kept.
// - On a fresh page that shows something else (the saved post), a kept draft is put back, with a notice in
//   the form's role=status region and a button that puts the page's own values back and forgets the draft.
// - When the server sent the form back filled (data-draft-from-server: errors, a preview), its values win
//   and become the draft.
// - The page after a save names the saved draft (<meta name="hfd-draft-saved">) and it is forgotten then;
//   a save that failed never reaches that page, so its draft stays. Drafts older than 30 days are dropped.
// - Forms with data-draft-warn ask before she leaves with changes not yet saved (never when she sends it).
(function () {
  "use strict";
  var PREFIX = "hfd-draft:";
  var MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
  var SAVE_DELAY_MS = 500;
  var NEVER_KEPT = ["password", "file", "hidden", "submit", "button", "reset", "image"];

  var store = null;
  try { store = window.localStorage; } catch (error) { store = null; }

  function forget(key) {
    try { store.removeItem(PREFIX + key); } catch (error) { /* storage off */ }
  }

  function read(key) {
    var draft = null;
    try { draft = JSON.parse(store.getItem(PREFIX + key)); } catch (error) { draft = null; }
    if (!draft || typeof draft.savedAt !== "number" || typeof draft.fields !== "object" || !draft.fields) {
      return null;
    }
    if (Date.now() - draft.savedAt > MAX_AGE_MS) {
      forget(key);
      return null;
    }
    return draft;
  }

  function write(key, fields) {
    try {
      store.setItem(PREFIX + key, JSON.stringify({ savedAt: Date.now(), fields: fields }));
    } catch (error) { /* storage full or off: the form still works */ }
  }

  function dropOldDrafts() {
    var keys = [];
    try {
      for (var i = 0; i < store.length; i += 1) {
        if (store.key(i).indexOf(PREFIX) === 0) { keys.push(store.key(i).slice(PREFIX.length)); }
      }
    } catch (error) { return; }
    keys.forEach(read);  // reading a draft past its age forgets it
  }

  function keptFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      var type = (field.type || "").toLowerCase();
      return field.name && field.name !== "csrf_token" && NEVER_KEPT.indexOf(type) === -1 &&
        ["INPUT", "TEXTAREA", "SELECT"].indexOf(field.tagName) !== -1;
    });
  }

  function valuesOf(form) {
    var values = {};
    keptFields(form).forEach(function (field) {
      if (field.type === "checkbox") {
        values[field.name] = field.checked;
      } else if (field.type === "radio") {
        if (field.checked) { values[field.name] = field.value; }
      } else {
        values[field.name] = field.value;
      }
    });
    return values;
  }

  function fill(form, values) {
    keptFields(form).forEach(function (field) {
      if (!Object.prototype.hasOwnProperty.call(values, field.name)) { return; }
      var value = values[field.name];
      if (field.type === "checkbox") {
        field.checked = value === true;
      } else if (field.type === "radio") {
        field.checked = field.value === value;
      } else if (typeof value === "string") {
        field.value = value;
      }
    });
  }

  function differ(draft, shown) {
    return Object.keys(draft).some(function (name) {
      return Object.prototype.hasOwnProperty.call(shown, name) && draft[name] !== shown[name];
    });
  }

  function describeTime(milliseconds) {
    var then = new Date(milliseconds);
    var today = new Date();
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    var time = then.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    if (then.toDateString() === today.toDateString()) { return "today at " + time; }
    if (then.toDateString() === yesterday.toDateString()) { return "yesterday at " + time; }
    return then.toLocaleDateString("en-GB", { weekday: "long", day: "numeric", month: "long" }) + " at " + time;
  }

  function noticeFor(form, key) {
    var region = document.getElementById("draft-notice-" + key);
    if (!region) {
      region = document.createElement("div");
      region.className = "draft-notice";
      region.id = "draft-notice-" + key;
      region.setAttribute("role", "status");
      form.parentNode.insertBefore(region, form);
    }
    return region;
  }

  function showRestored(form, key, savedAt, onDiscard) {
    var region = noticeFor(form, key);
    var text = document.createElement("p");
    text.id = region.id + "-text";
    text.textContent = "Your unsaved changes from " + describeTime(savedAt) + " were restored from this browser.";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button-secondary";
    discard.textContent = "Discard these changes";
    discard.setAttribute("aria-describedby", text.id);
    discard.addEventListener("click", function () {
      onDiscard();
      discard.parentNode.removeChild(discard);
      text.textContent = "Your unsaved changes were discarded: the form shows what was saved.";
      text.tabIndex = -1;
      text.focus();  // the button has gone; keep her place
    });
    region.textContent = "";
    region.appendChild(text);
    region.appendChild(discard);
  }

  function debounce(callback, wait) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(callback, wait);
    };
  }

  function keepDrafts(form) {
    var key = form.getAttribute("data-draft-key");
    var shown = valuesOf(form);  // what the page was sent with, before any draft is put back
    // Sent back after a submission: nothing shown is saved yet, and it is what the draft now holds.
    var unsavedFromStart = form.hasAttribute("data-draft-from-server");
    var sending = false;
    var owned = false;  // this page wrote or restored the draft, so it may delete it (not another tab's)
    var typedSinceKept = false;

    function changed() {
      return unsavedFromStart || differ(valuesOf(form), shown);
    }

    function keepNow() {
      typedSinceKept = false;
      if (changed()) {
        write(key, valuesOf(form));
        owned = true;
      } else if (owned) {
        forget(key);  // changed back to what the page showed
        owned = false;
      }
    }

    if (store) {
      var draft = read(key);
      if (unsavedFromStart) {
        write(key, shown);
        owned = true;
      } else if (draft && differ(draft.fields, shown)) {
        fill(form, draft.fields);
        owned = true;
        showRestored(form, key, draft.savedAt, function () {
          fill(form, shown);
          forget(key);
          owned = false;
        });
      } else if (draft) {
        forget(key);  // the page already shows it
      }
      var keepLater = debounce(keepNow, SAVE_DELAY_MS);
      var keepSoon = function () {
        typedSinceKept = true;
        keepLater();
      };
      form.addEventListener("input", keepSoon);
      form.addEventListener("change", keepSoon);
      document.addEventListener("visibilitychange", function () {  // the tab may be closed next: keep it now
        if (document.visibilityState === "hidden" && typedSinceKept && !sending) { keepNow(); }
      });
    }

    form.addEventListener("submit", function () {
      sending = true;
      if (store) { keepNow(); }  // what was sent is kept until the next page says it was saved
    });
    window.addEventListener("pageshow", function () { sending = false; });

    if (form.hasAttribute("data-draft-warn")) {
      window.addEventListener("beforeunload", function (event) {
        if (sending || !changed()) { return; }
        event.preventDefault();
        event.returnValue = "";  // browsers show their own words: "Changes you made may not be saved"
      });
    }
  }

  if (store) {
    Array.prototype.forEach.call(document.querySelectorAll('meta[name="hfd-draft-saved"]'), function (meta) {
      forget(meta.getAttribute("content"));
    });
    dropOldDrafts();
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-draft-key]"), keepDrafts);
})();
