// Keeps a list's items in step with data, one element per key: an item that stays keeps its element (and with it
// keyboard focus and any open menu); new ones are made, gone ones removed, and the order follows the data.
export function syncList(list, entries, { key, create, update }) {
  const existing = new Map();
  for (const el of [...list.children]) existing.set(el.dataset.key, el);
  const wanted = [];
  for (const entry of entries) {
    const k = String(key(entry));
    let el = existing.get(k);
    if (!el) {
      el = create(entry);
      el.dataset.key = k;
    }
    existing.delete(k);
    update(el, entry);
    wanted.push(el);
  }
  const focusLost = [...existing.values()].some((el) => el.contains(document.activeElement));
  for (const el of existing.values()) el.remove();
  wanted.forEach((el, i) => {
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
  });
  return { focusLost };
}
