// A job's log panel follows the newest line as lines arrive, unless the person scrolled up to read;
// scrolling back to the bottom (or the "Follow" button) follows again. Loaded with the job page, also
// when htmx swapped that page in (hx-boost), so it attaches to whatever log panel is new.
(function () {
  "use strict";

  function attach(pre) {
    if (pre.dataset.attached) return;
    pre.dataset.attached = "yes";
    var following = true;
    var note = document.getElementById(pre.dataset.follow);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = "Follow the newest line";
    button.hidden = true;
    button.addEventListener("click", function () {
      following = true;
      pre.scrollTop = pre.scrollHeight;
      show();
    });
    var message = document.createElement("span");
    if (note) {
      note.appendChild(message);
      note.appendChild(document.createTextNode(" "));
      note.appendChild(button);
    }

    function atBottom() {
      return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 8;
    }

    function show() {
      pre.dataset.following = following ? "yes" : "no";
      button.hidden = following;
      var scrolls = pre.scrollHeight > pre.clientHeight;
      message.textContent = following ? (scrolls ? "Following the newest line." : "")
        : "Not following: you scrolled up.";
    }

    pre.addEventListener("scroll", function () {
      following = atBottom();
      show();
    }, { passive: true });
    new MutationObserver(function () {
      if (following) pre.scrollTop = pre.scrollHeight;
      show();
    }).observe(pre, { childList: true });
    pre.scrollTop = pre.scrollHeight;
    show();
  }

  function attachAll() {
    document.querySelectorAll("pre[data-follow]").forEach(attach);
  }

  if (!window.charterJobsLog) {
    window.charterJobsLog = true;
    document.addEventListener("htmx:load", attachAll);
    document.addEventListener("DOMContentLoaded", attachAll);
  }
  attachAll();
})();
