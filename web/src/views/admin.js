// The program console for administrators: placeholder shell, filled in by the console work (issue 13).
import { h } from "../dom.js";

export const title = "Program console";
export const requiresAuth = true;

export async function render(root) {
  root.replaceChildren(h("h2", { tabindex: "-1" }, "Program console"));
}
