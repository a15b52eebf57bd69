// Progressive enhancement: show <time datetime="...Z"> in the visitor's own time zone.
// Without JavaScript the server's text (UTC, zone named) stays as it is.
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) {
    return;
  }
  var locale = document.documentElement.lang || undefined;
  var format;
  try {
    format = new Intl.DateTimeFormat(locale, {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
      timeZoneName: "short"
    });
  } catch (error) {
    return;
  }

  function localise(element) {
    var value = element.getAttribute("datetime");
    // Only full timestamps: plain dates (days, months) are the page's own calendar.
    if (!value || value.indexOf("T") === -1) {
      return;
    }
    var when = new Date(value);
    if (isNaN(when.getTime())) {
      return;
    }
    element.title = element.textContent;
    element.textContent = format.format(when);
  }

  function run() {
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i += 1) {
      localise(times[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
