// Tables read as cards on narrow screens (steward.css, "looks lane"): each cell shows its
// column's name from td::before { content: attr(data-label) }. This copies every table's <th>
// texts into its cells' data-label, on load and on whatever htmx swaps in. Without it tables
// keep their columns and scroll sideways inside .table-wrap.
(function () {
  "use strict";

  // Side-by-side diffs read only as columns; a policy's own tables are its author's layout.
  const SKIP = "table.diff, .policy-body table, table[data-no-cards]";

  function columnNames(table) {
    const head = table.tHead && table.tHead.rows[0];
    if (!head) return null;
    const names = [];
    for (const cell of head.cells) {
      const name = cell.textContent.replace(/\s+/g, " ").trim();
      for (let i = 0; i < (cell.colSpan || 1); i++) names.push(name);
    }
    return names;
  }

  function label(table) {
    if (table.matches(SKIP)) return;
    const names = columnNames(table);
    if (!names) return;
    for (const body of table.tBodies) {
      for (const row of body.rows) {
        let column = 0;
        for (const cell of row.cells) {
          const span = cell.colSpan || 1;
          // A cell across the whole row ("No tokens yet") needs no label.
          if (span < names.length && names[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", names[column]);
          }
          column += span;
        }
      }
    }
    table.classList.add("cards");
  }

  function scan(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("table")) label(root);
    root.querySelectorAll("table").forEach(label);
  }

  scan(document);
  // afterSwap: the new content, in the swap's own task (no flash of unlabelled cells); the
  // target of an outerHTML swap is gone by then, so look from its parent. htmx:load covers
  // out-of-band swaps and content that htmx itself processes later.
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    scan(target && target.isConnected ? target : document);
  });
  document.addEventListener("htmx:load", function (event) {
    scan(event.detail.elt);
  });
})();
