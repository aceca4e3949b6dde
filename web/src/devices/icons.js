// Icons for media controls, drawn as inline SVG (no fonts, no downloads). Always shown beside words that say the
// same, so each is hidden from assistive technology.
const SVG = "http://www.w3.org/2000/svg";

// 24x24 outline paths, stroked with the text colour.
const PATHS = {
  mic: ["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M5 11a7 7 0 0 0 14 0", "M12 18v3", "M8 21h8"],
  "mic-off": ["M9 9v3a3 3 0 0 0 5.1 2.1", "M15 10V6a3 3 0 0 0-5.7-1.3", "M5 11a7 7 0 0 0 11.9 5", "M19 11a7 7 0 0 1-.6 2.8",
    "M12 18v3", "M8 21h8", "M3 3l18 18"],
  camera: ["M3 7h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1z", "M16 10.5l6-3.5v10l-6-3.5"],
  "camera-off": ["M8 7h7a1 1 0 0 1 1 1v5", "M16 16v0a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h1",
    "M16 10.5l6-3.5v10l-4-2.3", "M3 3l18 18"],
  hangup: ["M3 14.5c5-4.7 13-4.7 18 0l-2.2 2.6-3.6-1.4v-2.3a11 11 0 0 0-6.4 0v2.3l-3.6 1.4z"],
  speaker: ["M4 9h3l5-4v14l-5-4H4z", "M16 9a4 4 0 0 1 0 6", "M18.5 6.5a8 8 0 0 1 0 11"],
  settings: ["M4 6h10", "M18 6h2", "M16 4v4", "M4 12h4", "M12 12h8", "M10 10v4", "M4 18h12", "M20 18h0", "M18 16v4"],
  phone: ["M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z"],
  bell: ["M6 16V11a6 6 0 0 1 12 0v5l2 2H4z", "M10 20a2 2 0 0 0 4 0"],
};

/** An <svg aria-hidden="true" focusable="false"> for `name` (one of the keys above). */
export function icon(name, { size = 24 } = {}) {
  const svg = document.createElementNS(SVG, "svg");
  for (const [key, value] of Object.entries({ viewBox: "0 0 24 24", width: size, height: size, fill: "none",
    stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round",
    "aria-hidden": "true", focusable: "false", class: `icon icon-${name}` })) {
    svg.setAttribute(key, String(value));
  }
  for (const d of PATHS[name] || []) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
