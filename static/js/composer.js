// Progressive enhancement for the composer: counters and previews follow the text as you
// type. Without JavaScript the "Preview" button makes the same round trip to the server,
// which does all the counting (each network's own unit) and all the Markdown cleaning.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-preview-url");
  var DELAY_MS = 300;
  var timer = null;
  var pending = null;

  function normalise(text) {
    return (text || "").replace(/\r\n/g, "\n").trim();
  }

  function one(selector) {
    return form.querySelector(selector);
  }

  function showCounter(outlet) {
    var counter = one('[data-counter="' + outlet.outlet + '"]');
    if (counter) {
      counter.textContent = outlet.counter;
      counter.classList.toggle("counter--over", !outlet.ok);
    }
    var problem = one('[data-problem="' + outlet.outlet + '"]');
    if (problem) {
      problem.textContent = outlet.problem || "";
    }
  }

  function showPreview(outlet) {
    var target = one('[data-preview="' + outlet.outlet + '"]');
    if (!target) {
      return;
    }
    if (outlet.html !== null) {
      // Markdown rendered and cleaned (nh3) by the server: the same HTML the page will show.
      target.innerHTML = outlet.html;
      return;
    }
    target.textContent = "";
    outlet.segments.forEach(function (segment) {
      if (segment[0] === "link") {
        var link = document.createElement("span");
        link.className = "post-link";
        link.textContent = segment[1];
        target.appendChild(link);
      } else {
        target.appendChild(document.createTextNode(segment[1]));
      }
    });
  }

  // A box nobody typed in follows the body; it stays "as shown", so saving keeps it derived.
  function followBody(outlet) {
    var box = one('textarea[data-outlet="' + outlet.outlet + '"]');
    var shown = form.elements["shown_" + outlet.outlet];
    if (!outlet.derived || !box || !shown || box === document.activeElement) {
      return;
    }
    if (normalise(box.value) === normalise(shown.value)) {
      box.value = outlet.text;
      shown.value = outlet.text;
    }
  }

  function apply(data) {
    data.outlets.forEach(function (outlet) {
      showCounter(outlet);
      showPreview(outlet);
      followBody(outlet);
    });
  }

  function refresh() {
    if (pending && pending.abort) {
      pending.abort();
    }
    pending = window.AbortController ? new AbortController() : null;
    fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: pending ? pending.signal : undefined
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("preview failed: " + response.status);
        }
        return response.json();
      })
      .then(apply)
      .catch(function () {
        // The counters keep their last value; saving still checks everything on the server.
      });
  }

  function showStatus() {
    var select = form.elements.incident_status;
    var label = form.ownerDocument.querySelector(".page-entry__status");
    if (select && label && select.selectedIndex >= 0) {
      label.textContent = select.options[select.selectedIndex].text;
    }
  }

  function changed(event) {
    if (event.target === form.elements.incident_status) {
      showStatus();
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY_MS);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);

  // Text typed before this script ran (a slow connection, a quick typist) is counted now:
  // its input events came before anyone listened.
  var typedEarly = Array.prototype.some.call(form.querySelectorAll("textarea"), function (box) {
    return box.value !== box.defaultValue;
  });
  if (typedEarly) {
    refresh();
  }
})();
