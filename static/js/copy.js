// Copy buttons: <button data-copy="#element-id"> copies that element's text. A static file,
// no inline handler (the CSP forbids them); delegated, so buttons swapped in by htmx work too.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const label = button.textContent;
  const done = (text) => {
    button.textContent = text;
    setTimeout(() => { button.textContent = label; }, 2000);
  };
  const selectIt = () => {
    // Without the clipboard API (plain http), select the text so Ctrl+C copies it.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    done("Selected: press Ctrl+C");
  };
  if (!navigator.clipboard || !window.isSecureContext) {
    selectIt();
    return;
  }
  navigator.clipboard.writeText(source.textContent.trim()).then(() => done("Copied"), selectIt);
});
