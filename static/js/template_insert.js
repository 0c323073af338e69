// "Insert variable" under a template field: each name in a list marked
// data-insert-into="<field id>" becomes a button that writes {{ name }} into that field where
// its cursor is (or over its selection). Without JavaScript the list stays a reference of names
// to copy. A static file (the CSP forbids inline scripts); lists swapped in by htmx are
// enhanced when they arrive.
(function () {
  "use strict";

  function enhance(root) {
    root.querySelectorAll("ul[data-insert-into]:not([data-enhanced])").forEach(function (list) {
      list.dataset.enhanced = "1";
      list.querySelectorAll("li > code").forEach(function (code) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "small template-variable";
        button.dataset.variable = code.textContent;
        // "Insert policy.title" to a screen reader; in the content, not aria-label, which would
        // make the button a label of the name it inserts.
        const verb = document.createElement("span");
        verb.className = "visually-hidden";
        verb.textContent = "Insert ";
        button.append(verb, code.cloneNode(true));
        code.replaceWith(button);
      });
    });
  }

  function insert(field, name) {
    const text = "{{ " + name + " }}";
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.focus();
    field.setRangeText(text, start, end, "end");
    // As typing would: the preview and the unsaved-changes guard listen for input.
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.template-variable");
    const list = button && button.closest("ul[data-insert-into]");
    const field = list && document.getElementById(list.dataset.insertInto);
    if (field) insert(field, button.dataset.variable);
  });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
