// Skills Registry: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Copy buttons: <button data-copy-target="ID"> copies the text of element ID.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    copyText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1500);
    });
  });

  // Destructive forms ask first: <form data-confirm="Really?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // Live progress: a panel with data-poll-url is replaced by a fresh copy until it stops asking.
  var POLL_MS = 1500;
  function poll(panel) {
    var url = panel.getAttribute("data-poll-url");
    if (!url) { return; }
    setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;  // server-rendered and escaped by the template engine
          var fresh = holder.querySelector(".run-panel");
          if (!fresh) { return; }
          panel.replaceWith(fresh);
          poll(fresh);
        })
        .catch(function () { setTimeout(function () { poll(panel); }, POLL_MS * 2); });
    }, POLL_MS);
  }
  document.querySelectorAll(".run-panel[data-poll-url]").forEach(poll);
})();
