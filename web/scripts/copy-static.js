// Copies the static shell next to the bundle; kept in Node so it works wherever npm does.
import { copyFileSync, mkdirSync } from "node:fs";

mkdirSync("dist", { recursive: true });
for (const file of ["index.html", "style.css"]) {
  copyFileSync(`src/${file}`, `dist/${file}`);
  console.log(`copied src/${file} -> dist/${file}`);
}
