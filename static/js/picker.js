// Searchable pickers, a progressive enhancement over a plain <select>:
//
// <select data-picker> (one choice, or `multiple`) gets a "type to filter" combobox: the list
// narrows as the person types; arrows move, Enter chooses, Escape closes; with `multiple` the
// chosen ones show as chips that a button or Backspace removes. The select stays in the form,
// hidden, and carries the value: the server receives what it always did, and without
// JavaScript the plain select is there as before.
//
// <select data-picker data-picker-input="ID"> stays as it is and is filtered, as the person
// types, by the existing search box ID (the workflow page's policy pickers, whose server
// search then refines the list); ArrowDown in the box moves to the list.
//
// A file, not an inline script: the CSP allows scripts from 'self' only.
(function () {
  "use strict";

  let counter = 0;

  function normalise(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLocaleLowerCase().trim();
  }

  function matches(option, query) {
    return !query || normalise(option.text).includes(query);
  }

  // A select filtered by a search box of the page (the policy picker).

  function linkedSelect(input) {
    if (!input.id) {
      return null;
    }
    return document.querySelector('select[data-picker][data-picker-input="' + CSS.escape(input.id) + '"]');
  }

  function filterLinked(select) {
    const input = document.getElementById(select.dataset.pickerInput);
    const query = normalise(input ? input.value : "");
    Array.from(select.options).forEach(function (option) {
      // "Without a policy" (an empty value) is always a choice.
      option.hidden = option.value !== "" && !matches(option, query);
    });
  }

  document.addEventListener("input", function (event) {
    const select = event.target.matches("input") && linkedSelect(event.target);
    if (select) {
      filterLinked(select);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" || !event.target.matches("input")) {
      return;
    }
    const select = linkedSelect(event.target);
    if (!select) {
      return;
    }
    event.preventDefault();
    const shown = Array.from(select.options).filter(function (option) {
      return !option.hidden;
    });
    if (shown.length && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
      shown[0].selected = true;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    select.focus();
  });

  // The combobox over a hidden select.

  function enhance(select) {
    if (select.dataset.pickerReady) {
      return;
    }
    select.dataset.pickerReady = "1";
    counter += 1;
    const id = "picker-" + counter;
    const multiple = select.multiple;
    const label = select.id ? document.querySelector('label[for="' + CSS.escape(select.id) + '"]') : null;

    const wrapper = document.createElement("div");
    wrapper.className = "picker" + (multiple ? " picker-multiple" : "");
    const chips = document.createElement("ul");
    chips.className = "picker-chips";
    chips.hidden = !multiple;
    const input = document.createElement("input");
    input.type = "text";
    input.id = id + "-input";
    input.className = "picker-input";
    input.autocomplete = "off";
    input.placeholder = multiple ? "Type to filter, Enter to add" : "Type to filter";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-list");
    if (label) {
      label.id = label.id || id + "-label";
      input.setAttribute("aria-labelledby", label.id);
    }
    if (select.getAttribute("aria-describedby")) {
      input.setAttribute("aria-describedby", select.getAttribute("aria-describedby"));
    }
    const list = document.createElement("ul");
    list.id = id + "-list";
    list.className = "picker-list";
    list.hidden = true;
    list.setAttribute("role", "listbox");
    if (label) {
      list.setAttribute("aria-labelledby", label.id);
    }
    if (multiple) {
      list.setAttribute("aria-multiselectable", "true");
    }
    const status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    wrapper.append(chips, input, list, status);
    select.after(wrapper);
    // Out of sight and out of the tab order, but still the form's value; a link or a label
    // that focuses it (an error's "go to the field") lands in the box.
    select.classList.add("picker-native");
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
    select.addEventListener("focus", function () {
      input.focus();
    });

    let shown = []; // the options listed, in order
    let active = -1; // the index in `shown` of the highlighted one

    function chosenText() {
      const option = select.options[select.selectedIndex];
      return option && option.value !== "" ? option.text : "";
    }

    function drawChips() {
      chips.replaceChildren();
      if (!multiple) {
        return;
      }
      Array.from(select.selectedOptions).forEach(function (option) {
        const chip = document.createElement("li");
        chip.className = "picker-chip";
        const text = document.createElement("span");
        text.textContent = option.text;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "picker-chip-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + option.text);
        remove.addEventListener("click", function () {
          toggle(option);
          input.focus();
        });
        chip.append(text, remove);
        chips.append(chip);
      });
    }

    function highlight(index) {
      active = index;
      Array.from(list.children).forEach(function (item, position) {
        item.classList.toggle("active", position === index);
      });
      if (index >= 0 && list.children[index]) {
        input.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      const query = normalise(input.value === chosenText() && !multiple ? "" : input.value);
      shown = Array.from(select.options).filter(function (option) {
        return !option.disabled && matches(option, query);
      });
      list.replaceChildren();
      shown.forEach(function (option, position) {
        const item = document.createElement("li");
        item.id = id + "-option-" + position;
        item.className = "picker-option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", option.selected ? "true" : "false");
        item.textContent = option.text;
        // mousedown would move the focus out of the box (and close the list) before the click.
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
        });
        item.addEventListener("click", function () {
          choose(option);
        });
        list.append(item);
      });
      if (!shown.length) {
        const empty = document.createElement("li");
        empty.className = "picker-empty";
        empty.textContent = "No match";
        list.append(empty);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = shown.length === 1 ? "1 match" : shown.length + " matches";
      const selected = shown.findIndex(function (option) {
        return option.selected;
      });
      highlight(shown.length ? (query || multiple || selected < 0 ? 0 : selected) : -1);
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      highlight(-1);
      if (!multiple) {
        input.value = chosenText();
      }
    }

    function changed() {
      select.dispatchEvent(new Event("change", { bubbles: true }));
      drawChips();
    }

    function toggle(option) {
      option.selected = !option.selected;
      changed();
    }

    function choose(option) {
      if (multiple) {
        toggle(option);
        input.value = "";
        open();
        return;
      }
      select.value = option.value;
      changed();
      close();
    }

    input.addEventListener("input", open);
    input.addEventListener("click", function () {
      if (list.hidden) {
        open();
      }
    });
    input.addEventListener("keydown", function (event) {
      const isOpen = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!isOpen) {
          open();
          return;
        }
        if (shown.length) {
          const step = event.key === "ArrowDown" ? 1 : -1;
          highlight((active + step + shown.length) % shown.length);
        }
      } else if (event.key === "Enter") {
        if (isOpen && active >= 0) {
          event.preventDefault(); // choosing is not submitting the form
          choose(shown[active]);
        }
      } else if (event.key === "Escape") {
        if (isOpen) {
          event.preventDefault();
          close();
        } else if (input.value) {
          input.value = multiple ? "" : chosenText();
        }
      } else if (event.key === "Backspace" && multiple && !input.value) {
        const chosen = select.selectedOptions;
        if (chosen.length) {
          const last = chosen[chosen.length - 1];
          status.textContent = "Removed " + last.text;
          toggle(last);
          if (isOpen) {
            open();
          }
        }
      } else if (event.key === "Tab" && isOpen) {
        close();
      }
    });
    wrapper.addEventListener("focusout", function (event) {
      if (!wrapper.contains(event.relatedTarget)) {
        close();
      }
    });

    drawChips();
    close();
  }

  function setUp(select) {
    if (select.dataset.pickerInput !== undefined) {
      filterLinked(select); // a list the server sent while the person kept typing
    } else {
      enhance(select);
    }
  }

  function scan(root) {
    const scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("select[data-picker]")) {
      setUp(scope);
    }
    scope.querySelectorAll("select[data-picker]").forEach(setUp);
  }

  document.addEventListener("DOMContentLoaded", function () {
    scan(document);
  });
  document.addEventListener("htmx:load", function (event) {
    scan(event.target);
  });
})();
