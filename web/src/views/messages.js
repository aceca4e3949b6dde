// Direct conversations: placeholder shell, filled in by the messages work (issue 13).
import { h } from "../dom.js";

export const title = "Messages";
export const requiresAuth = true;

export async function render(root) {
  root.replaceChildren(h("h2", { tabindex: "-1" }, "Messages"));
}
