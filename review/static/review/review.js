// Keyboard shortcuts of the review form. Every choice has a key, and the page lists them:
//   1-3           verdict
//   F, R, S, 1-5  factual accuracy, clinical reasoning, safety ratings
//   G, 1-5        question flags
//   C / Esc       enter / leave the comment box (a flag without a comment lands here)
//   E             expand the reasoning text
//   Enter         submit (Ctrl+Enter inside a text box)
//   X, X          skip (the first X only shows a confirmation hint)
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  var skipForm = document.getElementById("skip-form");
  if (!form) { return; }
  var pendingNote = document.getElementById("shortcut-pending");
  var verdicts = ["correct", "incorrect", "unsure"];
  var prefixes = { f: "rating_factual", r: "rating_reasoning", s: "rating_safety", g: "flags" };
  // The field waiting for its digit, or "skip" after a first X.
  var pending = null;

  function showHint(text) {
    if (!pendingNote) { return; }
    pendingNote.textContent = text;
    pendingNote.hidden = !text;
  }

  function setPending(name) {
    pending = name;
    if (!name) {
      showHint("");
    } else if (name === "skip") {
      showHint(pendingNote ? pendingNote.dataset.skipText : "");
    } else {
      // The translated label that the page shows on the field, not its form name.
      var fieldset = form.querySelector('fieldset[data-field="' + name + '"]');
      showHint((fieldset ? fieldset.dataset.label : name) + " … 1–5");
    }
  }

  function pick(name, index) {
    var inputs = form.querySelectorAll('input[name="' + name + '"]');
    var input = inputs[index];
    if (!input) { return; }
    if (input.type === "checkbox") { input.checked = !input.checked; } else { input.checked = true; }
    input.dispatchEvent(new Event("change", { bubbles: true }));
    // A choice made by keyboard may sit below the fold: show it with its legend.
    (input.closest("fieldset") || input).scrollIntoView({ block: "nearest" });
  }

  function submit(target) {
    if (target.requestSubmit) { target.requestSubmit(); } else { target.submit(); }
  }

  // A flag needs a comment. The error sits next to the comment box and takes
  // the focus there, so it is never out of sight, and every choice made so far
  // stays as it is.
  var comment = form.elements.comment;
  var commentError = document.getElementById("comment-error");
  // True while the comment box has a focus that the page gave it, not the
  // physician, and nothing has been typed since. A physician who then presses
  // C, as the shortcut panel lists, means the shortcut and not the letter.
  var commentFocusedByPage = false;

  function showCommentError() {
    commentError.hidden = false;
    comment.setAttribute("aria-invalid", "true");
    comment.closest(".comment-field").classList.add("invalid");
    comment.focus();
    commentFocusedByPage = true;
    comment.scrollIntoView({ block: "center" });
  }

  function isCommentShortcut(event) {
    return event.target === comment && commentFocusedByPage && comment.value === "" &&
      !event.isComposing && !event.ctrlKey && !event.metaKey && !event.altKey &&
      event.key.toLowerCase() === "c";
  }

  if (comment && commentError) {
    form.addEventListener("submit", function (event) {
      var flagged = form.querySelector('input[name="flags"]:checked');
      if (flagged && !comment.value.trim()) {
        event.preventDefault();
        showCommentError();
      }
    });
    comment.addEventListener("mousedown", function () { commentFocusedByPage = false; });
    comment.addEventListener("blur", function () { commentFocusedByPage = false; });
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
      if (comment && isCommentShortcut(event)) {
        event.preventDefault();
      }
      // Shift and similar keys come before a letter, so only the first typed key counts.
      if (field === comment && !/^(Shift|Control|Alt|Meta|CapsLock)$/.test(event.key)) {
        commentFocusedByPage = false;
      }
      if (event.key === "Escape") { field.blur(); event.preventDefault(); }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(form); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (field && field.tagName === "SELECT") { return; }

    var key = event.key.toLowerCase();
    var digit = /^[1-9]$/.test(key) ? parseInt(key, 10) : 0;

    if (pending === "skip" && key === "x" && skipForm) {
      setPending(null);
      submit(skipForm);
      event.preventDefault();
      return;
    }
    if (pending && pending !== "skip" && digit >= 1 && digit <= 5) {
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
      setPending("skip");
    } else {
      return;
    }
    event.preventDefault();
  });
})();
