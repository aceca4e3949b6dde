// The room's icons: inline SVG drawn here (nothing downloaded, no icon font), always beside visible text and hidden
// from assistive technology (aria-hidden), in the text's colour (currentColor).
const NS = "http://www.w3.org/2000/svg";

// Each icon is a list of path data on a 24x24 grid, stroked.
const PATHS = {
  mic: ["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M5 11a7 7 0 0 0 14 0", "M12 18v3"],
  "mic-off": ["M9 9v3a3 3 0 0 0 5.1 2.1", "M15 9.3V6a3 3 0 0 0-5.7-1.3", "M5 11a7 7 0 0 0 11.5 5.4",
    "M19 11a7 7 0 0 1-.6 2.8", "M12 18v3", "M3 3l18 18"],
  camera: ["M3 7h12v10H3z", "M15 10l6-3v10l-6-3"],
  "camera-off": ["M3 7h8", "M15 11V7h-2", "M3 7v10h12v-2", "M15 10l6-3v10l-6-3", "M3 3l18 18"],
  hand: ["M8 13V5.5a1.5 1.5 0 0 1 3 0V11", "M11 11V4.5a1.5 1.5 0 0 1 3 0V11", "M14 11V5.5a1.5 1.5 0 0 1 3 0V13",
    "M17 9.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-1a6 6 0 0 1-5-2.7L4 14a1.5 1.5 0 0 1 2.5-1.6L8 14"],
  chat: ["M4 5h16v11H9l-5 4z"],
  people: ["M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z", "M2.5 20a6.5 6.5 0 0 1 13 0",
    "M16 4.2a3.5 3.5 0 0 1 0 6.6", "M18 14.3a6.5 6.5 0 0 1 3.5 5.7"],
  screen: ["M3 4h18v12H3z", "M8 20h8", "M12 16v4", "M12 13V7", "M9 10l3-3 3 3"],
  leave: ["M14 4h5v16h-5", "M10 8l-4 4 4 4", "M6 12h10"],
  more: ["M5 12h.01", "M12 12h.01", "M19 12h.01"],
  settings: ["M4 6h10", "M18 6h2", "M16 4v4", "M4 12h4", "M12 12h8", "M10 10v4", "M4 18h12", "M20 18h0", "M18 16v4"],
  grid: ["M4 4h7v7H4z", "M13 4h7v7h-7z", "M4 13h7v7H4z", "M13 13h7v7h-7z"],
  speaker: ["M3 4h18v11H3z", "M3 18h5", "M10 18h4", "M16 18h5"],
  support: ["M12 21s-7-4.4-7-10a4 4 0 0 1 7-2.6A4 4 0 0 1 19 11c0 5.6-7 10-7 10z"],
  panel: ["M3 4h18v16H3z", "M15 4v16"],
};

export function icon(name, className = "icon") {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "24");
  svg.setAttribute("height", "24");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", className);
  for (const d of PATHS[name] || []) {
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  svg.dataset.icon = name;
  return svg;
}

// Swaps the icon inside an element (the first svg) for another, when it differs.
export function setIcon(el, name) {
  const current = el.querySelector("svg");
  if (current?.dataset.icon === name) return;
  const next = icon(name, current?.getAttribute("class") || "icon");
  if (current) current.replaceWith(next);
  else el.prepend(next);
}
