// Builds the browser client: the bundle, the page shell, and one stylesheet made of src/style.css followed by each
// area's sheet in src/css/ (in name order), so each part of the client keeps its styles beside nothing else's.
// HAVEN_WEB_OUT names another output folder (default dist/): a build for one test run leaves dist/ alone.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.env.HAVEN_WEB_OUT || "dist";
mkdirSync(out, { recursive: true });

await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: true,
  target: "es2020",
  outfile: join(out, "app.js"),
  logLevel: "warning",
});

copyFileSync("src/index.html", join(out, "index.html"));
const sheets = ["src/style.css"];
if (existsSync("src/css")) {
  for (const name of readdirSync("src/css").filter((n) => n.endsWith(".css")).sort()) sheets.push(join("src/css", name));
}
writeFileSync(join(out, "style.css"), sheets.map((path) => `/* ${path} */\n${readFileSync(path, "utf8")}`).join("\n"));
console.log(`built ${out}/ (app.js, index.html, style.css from ${sheets.length} sheets)`);
