// A yes/no question in the page's own modal <dialog> (not window.confirm, which
// blocks the audio clock's UI updates and cannot be styled). The dialog's form is
// method="dialog": its buttons close it with their value; Escape cancels. The
// safe answer has focus first, so a reflexive Enter keeps what the user had.

export function askToConfirm(dialog, { title, text, confirm, cancel }) {
  dialog.querySelector("[data-title]").textContent = title;
  dialog.querySelector("[data-text]").textContent = text;
  const yes = dialog.querySelector("button[value=confirm]");
  const no = dialog.querySelector("button[value=cancel]");
  yes.textContent = confirm;
  no.textContent = cancel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
    no.focus();
  });
}
