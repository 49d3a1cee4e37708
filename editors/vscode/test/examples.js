// Tokenizes every .mlp file of the repository's examples/ and stdlib/ (valid
// programs) with the grammar, as VS Code does, and fails when a token gets an
// `invalid.*` scope or when a file ends inside a string, interpolation or
// declaration (an unclosed region would colour the rest of an editor's buffer).
// Run by `npm test`, after the annotated tests in test/*.test.mlp.

"use strict";
const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const root = path.resolve(__dirname, "..", "..", "..");
const grammarPath = path.resolve(__dirname, "..", "syntaxes", "mlp.tmLanguage.json");

function mlpFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return mlpFiles(full);
    return entry.name.endsWith(".mlp") ? [full] : [];
  });
}

async function main() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === "source.mlp"
        ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
        : null,
  });
  const grammar = await registry.loadGrammar("source.mlp");
  const files = [...mlpFiles(path.join(root, "examples")), ...mlpFiles(path.join(root, "stdlib"))];
  if (files.length === 0) throw new Error(`no .mlp files under ${root}/examples or ${root}/stdlib`);

  const failures = [];
  for (const file of files) {
    const name = path.relative(root, file);
    let stack = vsctm.INITIAL;
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    lines.forEach((line, i) => {
      const { tokens, ruleStack } = grammar.tokenizeLine(line, stack);
      for (const token of tokens) {
        const invalid = token.scopes.find((scope) => scope.startsWith("invalid."));
        if (invalid) {
          const text = line.slice(token.startIndex, token.endIndex);
          failures.push(`${name}:${i + 1}:${token.startIndex + 1}: ${invalid} on ${JSON.stringify(text)}`);
        }
      }
      stack = ruleStack;
    });
    if (stack.depth > 1) {
      failures.push(`${name}: the file ends inside a region (rule stack depth ${stack.depth})`);
    }
  }
  if (failures.length > 0) {
    console.error(failures.join("\n"));
    console.error(`✖ ${failures.length} problem(s) in ${files.length} example file(s)`);
    process.exit(1);
  }
  console.log(`✓ ${files.length} example and stdlib files tokenize cleanly`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
