// Builds the console into dist/: index.html, app.js (ESM; the Cognito
// sign-in is a chunk under chunks/, loaded only in Cognito mode), app.css.
// Prints each file's gzipped size and fails above the 200 KB budget.
import * as esbuild from "esbuild";
import { copyFile, mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const dist = "dist";
const budget = 200 * 1024;

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await esbuild.build({
  entryPoints: { app: "src/main.tsx" },
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2020",
  outdir: dist,
  chunkNames: "chunks/[name]-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
});
await copyFile("src/index.html", join(dist, "index.html"));

async function files(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

let total = 0;
let eager = 0;
for (const f of (await files(dist)).sort()) {
  const gz = gzipSync(await readFile(f), { level: 9 }).length;
  total += gz;
  if (!f.includes("/chunks/")) eager += gz;
  const raw = (await stat(f)).size;
  console.log(`${relative(dist, f).padEnd(40)} ${String(raw).padStart(8)} B  ${(gz / 1024).toFixed(1).padStart(6)} KB gz`);
}
console.log(`total ${(total / 1024).toFixed(1)} KB gzipped (budget ${budget / 1024} KB); loaded without Cognito: ${(eager / 1024).toFixed(1)} KB gz`);
if (total > budget) {
  console.error(`bundle over budget: ${(total / 1024).toFixed(1)} KB gzipped > ${budget / 1024} KB`);
  process.exit(1);
}
