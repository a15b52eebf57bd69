// Progressive enhancement: a "Copy" button beside the wording to give customers.
// Without JavaScript the text is still there to select and copy by hand.
document.querySelectorAll("button.feedback-copy[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(source.value).then(() => {
      button.textContent = button.dataset.done; // the translated "Copied", set by the page
    });
  });
});
