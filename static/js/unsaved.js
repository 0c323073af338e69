// Nothing a person writes is lost: forms marked data-unsaved warn before the page is left with
// unsaved changes (a full page load, an hx-boosted link, Back/Forward), and forms marked
// data-draft keep their data-draft-field values in localStorage until they are saved.
// A file, not an inline script, because the CSP allows scripts from 'self' only.
(function () {
  "use strict";

  const MESSAGE = "You have unsaved changes on this page. Leave without saving them?";
  const DRAFT_PREFIX = "steward.draft.";
  const DRAFT_DELAY_MS = 400;
  const DRAFT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

  // What each tracked form (by its data-unsaved key) held when it was first shown. Kept across
  // htmx swaps of the form itself (the designer's add/remove step, a save that comes back with
  // errors), so those do not make changes look saved; forgotten when the page is left.
  const originals = new Map();
  const seen = new WeakSet();
  let submitting = false; // a tracked form is being submitted: its own navigation is no loss
  let leaving = false; // the person already agreed to leave, or the server sent us on after a save
  let pageUrl = location.href;

  function snapshot(form) {
    const parts = [];
    new FormData(form).forEach(function (value, name) {
      // The CSRF token changes with every render; it is not something a person wrote.
      if (name !== "csrf_token") {
        parts.push([name, typeof value === "string" ? value : value.name]);
      }
    });
    return JSON.stringify(parts);
  }

  function trackedForms() {
    return Array.from(document.querySelectorAll("form[data-unsaved]"));
  }

  function isDirty(form) {
    const original = originals.get(form.dataset.unsaved);
    return original !== undefined && original.snapshot !== snapshot(form);
  }

  function hasUnsavedChanges() {
    return !submitting && !leaving && trackedForms().some(isDirty);
  }

  function forgetOriginals() {
    originals.clear();
  }

  function storage() {
    try {
      const store = window.localStorage;
      return store || null;
    } catch (error) {
      return null; // disabled storage throws on access; drafts are then simply not kept
    }
  }

  function draftPrefix(user, draft) {
    return DRAFT_PREFIX + "u" + user + "." + draft + "@";
  }

  function draftKey(form) {
    return draftPrefix(form.dataset.draftUser, form.dataset.draft) + (form.dataset.draftVersion || "0");
  }

  function draftFields(form) {
    return Array.from(form.querySelectorAll("[data-draft-field]"));
  }

  function fieldValues(form) {
    const values = {};
    draftFields(form).forEach(function (field) {
      values[field.dataset.draftField] = field.value;
    });
    return values;
  }

  function sameValues(a, b) {
    return Object.keys(a).every(function (name) {
      return a[name] === b[name];
    });
  }

  function readDraft(store, key) {
    try {
      const draft = JSON.parse(store.getItem(key));
      return draft && typeof draft.fields === "object" && draft.savedAt ? draft : null;
    } catch (error) {
      return null;
    }
  }

  function removeKeys(predicate) {
    const store = storage();
    if (!store) {
      return;
    }
    try {
      const keys = [];
      for (let i = 0; i < store.length; i += 1) {
        const key = store.key(i);
        if (key && key.startsWith(DRAFT_PREFIX) && predicate(key)) {
          keys.push(key);
        }
      }
      keys.forEach(function (key) {
        store.removeItem(key);
      });
    } catch (error) {
      // Storage that refuses is storage without drafts.
    }
  }

  function forgetDrafts(user, draft) {
    const prefix = draftPrefix(user, draft);
    removeKeys(function (key) {
      return key.startsWith(prefix);
    });
  }

  function saveDraft(form) {
    const store = storage();
    const original = originals.get(form.dataset.unsaved);
    if (!store || !original) {
      return;
    }
    const values = fieldValues(form);
    try {
      if (sameValues(values, original.fields)) {
        store.removeItem(draftKey(form)); // back to what the server holds: nothing to keep
      } else {
        store.setItem(
          draftKey(form),
          JSON.stringify({ fields: values, savedAt: new Date().toISOString() }),
        );
      }
    } catch (error) {
      // Full or refused storage: the unsaved-changes warning still protects the text.
    }
  }

  const pendingDrafts = new Map();

  function scheduleDraft(form) {
    clearTimeout(pendingDrafts.get(form));
    pendingDrafts.set(
      form,
      setTimeout(function () {
        pendingDrafts.delete(form);
        saveDraft(form);
      }, DRAFT_DELAY_MS),
    );
  }

  function flushDrafts() {
    pendingDrafts.forEach(function (timer, form) {
      clearTimeout(timer);
      if (form.isConnected) {
        saveDraft(form);
      }
    });
    pendingDrafts.clear();
  }

  // The newest draft of this form's record (any version it was opened at) that differs from
  // what the page shows now.
  function findDraft(form) {
    const store = storage();
    if (!store) {
      return null;
    }
    const prefix = draftPrefix(form.dataset.draftUser, form.dataset.draft);
    const shown = fieldValues(form);
    let best = null;
    try {
      for (let i = 0; i < store.length; i += 1) {
        const key = store.key(i);
        const draft = key && key.startsWith(prefix) ? readDraft(store, key) : null;
        if (draft && !sameValues(shown, draft.fields) && (!best || draft.savedAt > best.savedAt)) {
          best = { key: key, draft: draft, version: key.slice(prefix.length) };
        }
      }
    } catch (error) {
      return null;
    }
    return best;
  }

  function describeTime(iso) {
    const when = new Date(iso);
    const time = when.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    if (when.toDateString() === new Date().toDateString()) {
      return "today at " + time;
    }
    return when.toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" }) + " at " + time;
  }

  function offerDraft(form) {
    const banner = document.querySelector("[data-draft-banner]");
    const found = findDraft(form);
    if (!banner || !found) {
      return;
    }
    const restore = banner.querySelector("[data-draft-restore]");
    const discard = banner.querySelector("[data-draft-discard]");
    const stale = banner.querySelector("[data-draft-stale]");
    const time = document.createElement("time");
    time.dateTime = found.draft.savedAt;
    time.textContent = describeTime(found.draft.savedAt);
    restore.replaceChildren("Restore your unsaved draft from ", time);
    if (stale) {
      stale.hidden = found.version === (form.dataset.draftVersion || "0");
    }
    banner.hidden = false;

    // Properties, not listeners: a banner offered again answers once, with the latest draft.
    restore.onclick = function () {
      draftFields(form).forEach(function (field) {
        const value = found.draft.fields[field.dataset.draftField];
        if (typeof value === "string" && field.value !== value) {
          field.value = value;
          // As if typed: the preview refreshes and the draft is kept under this form's version.
          field.dispatchEvent(new Event("input", { bubbles: true }));
        }
      });
      removeKeys(function (key) {
        return key === found.key && key !== draftKey(form);
      });
      banner.hidden = true;
      const body = form.querySelector("[data-draft-field=body]") || draftFields(form)[0];
      if (body) {
        body.focus();
      }
    };
    discard.onclick = function () {
      forgetDrafts(form.dataset.draftUser, form.dataset.draft);
      banner.hidden = true;
    };
  }

  function pruneOldDrafts() {
    const store = storage();
    if (!store) {
      return;
    }
    const cutoff = new Date(Date.now() - DRAFT_MAX_AGE_MS).toISOString();
    removeKeys(function (key) {
      const draft = readDraft(store, key);
      return !draft || draft.savedAt < cutoff;
    });
  }

  // Every page load and every htmx swap: remember new forms, offer drafts, forget saved ones.
  function scan() {
    document.querySelectorAll("[data-draft-saved]").forEach(function (marker) {
      if (!seen.has(marker)) {
        seen.add(marker);
        forgetDrafts(marker.dataset.draftUser, marker.dataset.draftSaved);
      }
    });
    trackedForms().forEach(function (form) {
      if (seen.has(form)) {
        return;
      }
      seen.add(form);
      if (!originals.has(form.dataset.unsaved)) {
        originals.set(form.dataset.unsaved, { snapshot: snapshot(form), fields: fieldValues(form) });
      }
      if (form.dataset.draft) {
        offerDraft(form);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pruneOldDrafts();
    scan();
  });
  // afterSwap runs in the same task as the swap, before any keystroke can reach the new form;
  // htmx:load only comes after the settle delay, when a quick typist may already have typed
  // (their text would then be taken for what the server sent).
  document.addEventListener("htmx:afterSwap", scan);
  document.addEventListener("htmx:load", scan);

  document.addEventListener("input", function (event) {
    const form = event.target.closest && event.target.closest("form[data-draft]");
    if (form && event.target.matches("[data-draft-field]")) {
      scheduleDraft(form);
    }
  });

  document.addEventListener(
    "submit",
    function (event) {
      const form = event.target;
      if (form.matches("form[data-drafts-clear]")) {
        // Asked here, not by beforeunload: the drafts are forgotten only once leaving is agreed.
        if (hasUnsavedChanges() && !window.confirm(MESSAGE)) {
          event.preventDefault();
          event.stopImmediatePropagation();
          return;
        }
        leaving = true;
        const prefix = DRAFT_PREFIX + "u" + form.dataset.draftUser + ".";
        removeKeys(function (key) {
          return key.startsWith(prefix);
        });
      }
      if (form.matches("form[data-unsaved]")) {
        submitting = true;
        flushDrafts(); // kept until the server confirms the save (the data-draft-saved marker)
      }
    },
    true,
  );

  // An hx-boosted link or form replaces the page without unloading it, so beforeunload never
  // fires: ask here. So does an in-place request marked data-leaves-unsaved (the diagram
  // designer's step links, which replace the step panel's form). A tracked form's own
  // submission and other in-place requests are not a departure.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const detail = event.detail;
    const leaves = detail.boosted || detail.elt.closest("[data-leaves-unsaved]");
    if (!leaves || detail.elt.matches("form[data-unsaved]")) {
      return;
    }
    flushDrafts();
    if (hasUnsavedChanges() && !window.confirm(MESSAGE)) {
      event.preventDefault();
      return;
    }
    forgetOriginals();
  });

  // A save that answers with HX-Redirect (the workflow designer) leaves the page on purpose.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    const xhr = event.detail.xhr;
    const form = event.detail.elt.closest && event.detail.elt.closest("form[data-unsaved]");
    if (form && xhr.status < 400 && (xhr.getResponseHeader("HX-Redirect") || xhr.getResponseHeader("HX-Refresh"))) {
      leaving = true;
    }
  });

  document.addEventListener("htmx:afterRequest", function () {
    submitting = false;
  });
  document.addEventListener("htmx:pushedIntoHistory", function () {
    pageUrl = location.href;
  });
  document.addEventListener("htmx:replacedInHistory", function () {
    pageUrl = location.href;
  });

  // Back/Forward between boosted pages: htmx reloads or swaps the page on popstate. This listener
  // is added before htmx's (htmx sets window.onpopstate once the document is parsed), so staying
  // can stop it and put the address of this page back.
  window.addEventListener("popstate", function (event) {
    if (!event.state || !event.state.htmx) {
      return;
    }
    flushDrafts();
    if (hasUnsavedChanges() && !window.confirm(MESSAGE)) {
      event.stopImmediatePropagation();
      history.pushState({ htmx: true }, "", pageUrl);
      return;
    }
    leaving = true; // htmx may reload the page next; do not ask a second time
    forgetOriginals();
  });

  window.addEventListener("beforeunload", function (event) {
    flushDrafts();
    if (hasUnsavedChanges()) {
      event.preventDefault();
      event.returnValue = ""; // older browsers show their own wording only when this is set
    }
  });

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      submitting = false; // back from the browser's page cache after a native submit
      leaving = false;
    }
  });
})();
