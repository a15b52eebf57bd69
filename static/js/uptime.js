// Keyboard access to the uptime bars: each bar is one Tab stop (today's run of days); the
// arrow keys, Home and End move between its runs of alike days, whose details (dates,
// uptime, incidents) show on focus. Runs hidden on a narrow screen are skipped. Without
// JavaScript, today's details are reachable by Tab and screen readers read the bar as a list.
(function () {
  "use strict";

  function shown(day) {
    return day.getClientRects().length > 0;
  }

  function move(bar, from, key) {
    var days = Array.prototype.filter.call(bar.querySelectorAll(".day"), shown);
    var index = days.indexOf(from);
    var target = {
      ArrowLeft: index - 1,
      ArrowUp: index - 1,
      ArrowRight: index + 1,
      ArrowDown: index + 1,
      Home: 0,
      End: days.length - 1
    }[key];
    if (target === undefined || target < 0 || target >= days.length) {
      return false;
    }
    from.setAttribute("tabindex", "-1");
    days[target].setAttribute("tabindex", "0");
    days[target].focus();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    var day = event.target.closest && event.target.closest(".uptime__bar .day");
    if (!day || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (move(day.parentNode, day, event.key)) {
      event.preventDefault();
    }
  });

  // Leaving a bar hands its Tab stop back to today's run, which every screen width shows:
  // a run left focused could hide when the page narrows (a zoom), taking the stop with it.
  document.addEventListener("focusout", function (event) {
    var bar = event.target.closest && event.target.closest(".uptime__bar");
    if (!bar || bar.contains(event.relatedTarget)) {
      return;
    }
    var days = bar.querySelectorAll(".day");
    Array.prototype.forEach.call(days, function (day) {
      day.setAttribute("tabindex", "-1");
    });
    days[days.length - 1].setAttribute("tabindex", "0");
  });
})();
