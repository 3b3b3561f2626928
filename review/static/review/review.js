// Keyboard shortcuts of the review form. Every choice has a key, and the page lists them:
//   1-3           verdict
//   F, R, S, 1-5  factual accuracy, clinical reasoning, safety ratings
//   G, 1-5        question flags
//   C / Esc       enter / leave the comment box (a flag without a comment lands here)
//   E             expand the reasoning text
//   Enter         submit (Ctrl+Enter inside a text box)
//   X             skip
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  var skipForm = document.getElementById("skip-form");
  if (!form) { return; }
  var pendingNote = document.getElementById("shortcut-pending");
  var verdicts = ["correct", "incorrect", "unsure"];
  var prefixes = { f: "rating_factual", r: "rating_reasoning", s: "rating_safety", g: "flags" };
  var pending = null;

  function setPending(name) {
    pending = name;
    if (pendingNote) { pendingNote.textContent = name ? name.toUpperCase() + " …" : ""; }
  }

  function pick(name, index) {
    var inputs = form.querySelectorAll('input[name="' + name + '"]');
    var input = inputs[index];
    if (!input) { return; }
    if (input.type === "checkbox") { input.checked = !input.checked; } else { input.checked = true; }
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function submit(target) {
    if (target.requestSubmit) { target.requestSubmit(); } else { target.submit(); }
  }

  // A flag needs a comment. The error sits next to the comment box and takes
  // the focus there, so it is never out of sight, and every choice made so far
  // stays as it is.
  var comment = form.elements.comment;
  var commentError = document.getElementById("comment-error");

  function showCommentError() {
    commentError.hidden = false;
    comment.setAttribute("aria-invalid", "true");
    comment.closest(".comment-field").classList.add("invalid");
    comment.focus();
    comment.scrollIntoView({ block: "center" });
  }

  if (comment && commentError) {
    form.addEventListener("submit", function (event) {
      var flagged = form.querySelector('input[name="flags"]:checked');
      if (flagged && !comment.value.trim()) {
        event.preventDefault();
        showCommentError();
      }
    });
    comment.addEventListener("input", function () {
      if (comment.value.trim() && comment.getAttribute("aria-invalid")) {
        commentError.hidden = true;
        comment.removeAttribute("aria-invalid");
        comment.closest(".comment-field").classList.remove("invalid");
      }
    });
    // The server sent the form back with this error: bring it into view.
    if (comment.getAttribute("aria-invalid")) { showCommentError(); }
  }

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    var typing = field && (field.tagName === "TEXTAREA" ||
      (field.tagName === "INPUT" && /^(text|search|number)$/.test(field.type)));
    if (typing) {
      if (event.key === "Escape") { field.blur(); event.preventDefault(); }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(form); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (field && field.tagName === "SELECT") { return; }

    var key = event.key.toLowerCase();
    var digit = /^[1-9]$/.test(key) ? parseInt(key, 10) : 0;

    if (pending && digit >= 1 && digit <= 5) {
      pick(pending, digit - 1);
      setPending(null);
      event.preventDefault();
      return;
    }
    setPending(null);
    if (digit >= 1 && digit <= verdicts.length) {
      pick("verdict", digit - 1);
    } else if (prefixes[key] && form.querySelector('input[name="' + prefixes[key] + '"]')) {
      setPending(prefixes[key]);
    } else if (key === "c" && form.elements.comment) {
      form.elements.comment.focus();
    } else if (key === "e") {
      var details = document.querySelector("details.reasoning");
      if (details) { details.open = !details.open; }
    } else if (key === "enter") {
      submit(form);
    } else if (key === "x" && skipForm) {
      submit(skipForm);
    } else {
      return;
    }
    event.preventDefault();
  });
})();
