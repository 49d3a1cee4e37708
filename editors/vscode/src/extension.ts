// The VS Code client for `.mlp` files: starts `mlpc lsp` (a language server on
// stdio) for documents of language `mlp` and restarts it when `mlp.server.path`
// changes. Everything the editor shows beyond highlighting comes from the server.

import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import {
  Executable,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.commands.registerCommand("mlp.restartServer", () => restart()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("mlp.server.path")) {
        void restart();
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

// The executable from `mlp.server.path`: a bare name (`mlpc`) is looked up on
// PATH; `~/...` is the home directory; another relative path (`target/release/mlpc`)
// is relative to the first workspace folder.
function serverExecutable(): string {
  const configured = vscode.workspace
    .getConfiguration("mlp")
    .get<string>("server.path", "mlpc")
    .trim();
  const command = configured === "" ? "mlpc" : configured;
  if (command === "~" || command.startsWith("~/")) {
    return path.join(os.homedir(), command.slice(1));
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder && !path.isAbsolute(command) && /[\\/]/.test(command)) {
    return path.join(folder.uri.fsPath, command);
  }
  return command;
}

async function start(): Promise<void> {
  const command = serverExecutable();
  // No `transport`: with `TransportKind.stdio` the client would append `--stdio`,
  // and the server's command line is exactly `mlpc lsp`.
  const server: Executable = { command, args: ["lsp"] };
  const serverOptions: ServerOptions = { run: server, debug: server };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "mlp" },
      { scheme: "untitled", language: "mlp" },
    ],
    outputChannelName: "MLP Language Server",
  };
  // The id `mlp` makes the client read `mlp.trace.server`.
  client = new LanguageClient("mlp", "MLP Language Server", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const message = error instanceof Error ? error.message : String(error);
    const choice = await vscode.window.showErrorMessage(
      `Could not start \`${command} lsp\` (${message}). Install mlpc or set \`mlp.server.path\`.`,
      "Open Settings",
    );
    if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "mlp.server.path");
    }
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}
