/* handouts serve: live updates (server-sent events) and small helpers. No inline script is
   allowed by the page's Content-Security-Policy, so everything lives here. */
(function () {
  "use strict";

  function say(text) {
    var live = document.getElementById("live");
    if (!live) { return; }
    live.textContent = text;
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { live.textContent = ""; }, 6000);
  }

  function refresh(element) {
    if (!window.htmx || !element.dataset.refresh) { return; }
    window.htmx.ajax("GET", element.dataset.refresh, { target: element, swap: "outerHTML" });
  }

  function forDocument(doc, callback) {
    document.querySelectorAll("[data-doc]").forEach(function (element) {
      if (element.dataset.doc === doc) { callback(element); }
    });
  }

  function connect() {
    var url = document.body.dataset.events;
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url);
    // A preview that finished while this page was loading has no event left to tell it:
    // once the stream is open, ask again about every document still being made.
    source.addEventListener("open", function () {
      document.querySelectorAll("[data-doc][data-building]").forEach(refresh);
    });
    source.addEventListener("building", function (event) {
      var data = JSON.parse(event.data);
      forDocument(data.doc, function (element) {
        element.setAttribute("aria-busy", "true");
        say("Updating the preview…");
      });
    });
    source.addEventListener("waiting", function (event) {
      var data = JSON.parse(event.data);
      forDocument(data.doc, function () { say(data.message); });
    });
    source.addEventListener("document", function (event) {
      var data = JSON.parse(event.data);
      forDocument(data.doc, function (element) {
        if (data.status === "failed") { say("The leaflet could not be built: see the message above the pages."); }
        else if (data.status === "built") { say("Preview updated."); }
        refresh(element);
      });
    });
    source.addEventListener("build", function () {
      document.querySelectorAll("[data-build-panel]").forEach(refresh);
    });
    source.addEventListener("files", function (event) {
      var data = JSON.parse(event.data);
      document.querySelectorAll("[data-refresh-on-files]").forEach(function (element) {
        if (element.id === "results") {
          var form = document.querySelector("form.filters");
          if (form && window.htmx) {
            window.htmx.ajax("GET", "/" + window.location.search, { target: element, swap: "outerHTML" });
          }
        }
      });
      var notice = document.getElementById("external-change");
      if (notice && data.changed.indexOf(notice.dataset.file) !== -1) {
        notice.hidden = false;
      }
    });
  }

  // A colour picker and the text box beside it show the same colour.
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input[type=color][data-sync]")) {
      var text = document.getElementById(target.dataset.sync);
      text.value = target.value.toUpperCase();
      text.dispatchEvent(new Event("input", { bubbles: true }));
    } else if (target.matches && target.matches("[data-picker]")) {
      var picker = document.getElementById(target.dataset.picker);
      if (picker && /^#[0-9a-fA-F]{6}$/.test(target.value)) { picker.value = target.value.toLowerCase(); }
    }
  });

  // "Use #0A5561": put the proposed shade in its field.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-set-colour]");
    if (!button) { return; }
    var input = document.getElementById(button.dataset.setColour);
    input.value = button.dataset.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
    say("Main colour set to " + button.dataset.value + ". Save to keep it.");
  });

  // After a swap, move focus to the error summary (or the field the server asked for).
  document.addEventListener("htmx:afterSettle", function (event) {
    var focus = event.detail.elt && event.detail.elt.querySelector && event.detail.elt.querySelector("[autofocus]");
    if (focus) { focus.focus(); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
