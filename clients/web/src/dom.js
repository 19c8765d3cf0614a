// Building and updating the page's elements without innerHTML, so text from the ledger can never become
// markup (and the strict content security policy needs no exceptions).

/** An element with attributes (`class`, `data-*`, `aria-*`, ...; a function for `on<event>`) and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** The element with this id; throws when the page lacks it, which is a bug in the page. */
export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no element #${id}`);
  return element;
}

/** Shows `text` in a message element, or hides it when `text` is empty. */
export function showMessage(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

/** Runs an async action from a button: disables it meanwhile and shows a failure in `errorElement`. */
export async function withBusy(button, errorElement, action, describe) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (errorElement) showMessage(errorElement, "");
  try {
    return await action();
  } catch (error) {
    if (errorElement) showMessage(errorElement, describe(error));
    else throw error;
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
