// Copy buttons: <button data-copy="ID"> copies the text of element ID (an API token) and says so.
// The Clipboard API needs a secure context (https, or localhost); elsewhere the text is
// selected so the person can press Ctrl+C themselves.

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

async function copy(button) {
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copy-status");
  const say = (text) => { if (status) status.textContent = text; };
  if (!source) return;
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
    say("Copied to the clipboard.");
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  } catch {
    selectText(source);
    say("Selected: press Ctrl+C (⌘C) to copy.");
  }
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", () => copy(button));
}
