// The error summary on every form of the site (public and admin), as the GOV.UK Design System does it.
// Progressive enhancement: without it the summary's links still jump to their fields, and the CSS keeps
// room above each control (scroll-margin-top) for its label, hint and message.
// - the summary takes focus when the page loads, so it is read out first;
// - following one of its links shows the whole field: the page scrolls to the field's label (or its
//   legend, for a checkbox or radio in a fieldset), so the message and hint beneath the label are in view
//   too, and then the control takes focus without scrolling again.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) { return; }

  if (document.activeElement !== summary) { summary.focus(); }

  // What to bring into view for this control: the top of what belongs to it.
  function startOfField(input) {
    var fieldset = input.closest("fieldset");
    var legend = fieldset && fieldset.querySelector("legend");
    if (legend && (input.type === "checkbox" || input.type === "radio")) {
      // Only when the legend is near enough that the control stays on screen with it.
      var distance = input.getBoundingClientRect().top - legend.getBoundingClientRect().top;
      if (distance < window.innerHeight / 2) { return legend; }
    }
    // A field from the _forms.html macros: label, hint, message and control share one .field block
    // (a checkbox's message sits above it, so the block, not the label, is its top).
    var field = input.closest(".field");
    if (field) { return field; }
    return document.querySelector("label[for='" + input.id + "']") || input.closest("label") || input;
  }

  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var input = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!input || input.type === "hidden") { return; }
    event.preventDefault();
    startOfField(input).scrollIntoView({block: "start"});
    input.focus({preventScroll: true});
  });
})();
