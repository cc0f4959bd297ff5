// A little script for what works without it: save buttons and likes
// without a page load, and a question before deleting.
//
// Save buttons without a page load. Without this script the form posts and
// the server sends the reader back to the page; with it, the button turns
// over in place. Any failure falls back to the plain form post.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-save")) return;
  if (form.dataset.plain) return;
  const button = event.submitter || form.querySelector("button");
  if (!button) return;
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form, button));
  button.disabled = true;
  try {
    // Not form.action: a control named "action" hides that property.
    const res = await fetch(form.getAttribute("action"), {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!res.ok) throw new Error(String(res.status));
    const { saved } = await res.json();
    button.value = saved ? "remove" : "save";
    button.textContent = saved ? "Saved" : "Save";
    button.title = saved ? "Remove from your saved stories" : "Save to read later";
    button.classList.toggle("is-saved", saved);
    button.setAttribute("aria-pressed", String(saved));
    button.disabled = false;
  } catch {
    button.disabled = false;
    form.dataset.plain = "1";
    form.requestSubmit(button);
  }
});

// Likes on comments, the same way: the count changes in place.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-like")) return;
  if (form.dataset.plain) return;
  event.preventDefault();
  const button = form.querySelector("button");
  const field = form.querySelector('input[name="like"]');
  try {
    const res = await fetch(form.getAttribute("action"), {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!res.ok) throw new Error(String(res.status));
    const { liked, likes } = await res.json();
    field.value = liked ? "0" : "1";
    button.classList.toggle("is-liked", liked);
    button.setAttribute("aria-pressed", String(liked));
    button.querySelector(".comment-likes").textContent = String(likes);
  } catch {
    form.dataset.plain = "1";
    form.requestSubmit();
  }
});

// Newsletter buttons, the same way: the button turns over in place
// (subscribed or not); an offers box that must be ticked stays with the form.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-newsletter")) return;
  if (form.dataset.plain || !form.querySelector('input[name="csrf"]')) return;
  const button = event.submitter || form.querySelector("button");
  if (!button || form.querySelector('input[name="consent"]')) return;
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form, button));
  button.disabled = true;
  try {
    const res = await fetch(form.getAttribute("action"), {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!res.ok) throw new Error(String(res.status));
    const { state } = await res.json();
    const on = state === "active";
    if (state === "pending") throw new Error("pending");
    button.value = on ? "unsubscribe" : "subscribe";
    button.textContent = on ? "Subscribed" : "Subscribe";
    button.classList.toggle("is-subscribed", on);
    button.setAttribute("aria-pressed", String(on));
    button.disabled = false;
  } catch {
    button.disabled = false;
    form.dataset.plain = "1";
    form.requestSubmit(button);
  }
});

// Forms that undo something ask first.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
}, true);
