//! `mlpc lsp`: a language server on stdio (contract v2 §9.8).
//!
//! One loop reads the client's messages in order. Notifications change the
//! open documents; before anything is checked, every message already
//! queued is applied, so a burst of edits costs one check of the final
//! text. Requests are answered from the analysis of the document's current
//! text, made on demand and kept until the next change. Diagnostics come
//! from the same passes and registry as `mlpc check`.
//!
//! The protocol's types (`lsp-types`) stay in this module: the rest of the
//! compiler knows byte offsets and spans; [`documents`] converts.

mod actions;
mod documents;
mod features;

use lsp_server::{Connection, ExtractError, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    ApplyWorkspaceEdit, CodeActionRequest, CodeActionResolveRequest, Completion,
    DocumentSymbolRequest, ExecuteCommand, Formatting, GotoDefinition, HoverRequest, References,
    Rename, Request as _,
};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    ExecuteCommandOptions, HoverProviderCapability, InitializeParams, InitializeResult, OneOf,
    PositionEncodingKind, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind,
};

use documents::{Documents, Encoding};

/// Serves the client on standard input and output until it exits.
pub fn run_stdio() -> Result<(), String> {
    let (connection, threads) = Connection::stdio();
    serve(connection)?;
    threads.join().map_err(|e| e.to_string())
}

/// Serves one client on `connection` (stdio, or in memory for tests):
/// the `initialize` handshake, then the main loop until `exit`.
pub fn serve(connection: Connection) -> Result<(), String> {
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let params: InitializeParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
    let encoding = negotiate(&params);
    let result = InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "mlpc".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let result = serde_json::to_value(result).map_err(|e| e.to_string())?;
    connection
        .initialize_finish(id, result)
        .map_err(|e| e.to_string())?;
    Server {
        connection,
        documents: Documents::new(encoding),
        resolves_edits: resolves_edits(&params),
        next_id: 0,
    }
    .main_loop()
}

/// UTF-8 when the client offers it (no conversion, and Neovim 0.10+ and
/// Helix prefer it), UTF-16 otherwise: the protocol's default.
fn negotiate(params: &InitializeParams) -> Encoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

/// Whether the client asks for a code action's edit when it is chosen
/// (`codeAction/resolve`), so an edit that costs a registry call is only
/// made then.
fn resolves_edits(params: &InitializeParams) -> bool {
    params
        .capabilities
        .text_document
        .as_ref()
        .and_then(|t| t.code_action.as_ref())
        .and_then(|c| c.resolve_support.as_ref())
        .is_some_and(|r| r.properties.iter().any(|p| p == "edit"))
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            resolve_provider: Some(true),
            ..Default::default()
        })),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![actions::PIN_IMAGE.into()],
            ..Default::default()
        }),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

struct Server {
    connection: Connection,
    documents: Documents,
    /// The client resolves code actions (see [`resolves_edits`]).
    resolves_edits: bool,
    /// The id of the server's last request to the client.
    next_id: i32,
}

impl Server {
    fn main_loop(mut self) -> Result<(), String> {
        while let Ok(message) = self.connection.receiver.recv() {
            if self.handle(message)? {
                return Ok(());
            }
            // The rest of a burst first: one check for all of it.
            while let Ok(message) = self.connection.receiver.try_recv() {
                if self.handle(message)? {
                    return Ok(());
                }
            }
            self.publish()?;
        }
        Ok(())
    }

    /// Applies one message; `true` once the client has said `exit` after
    /// `shutdown`.
    fn handle(&mut self, message: Message) -> Result<bool, String> {
        match message {
            Message::Request(req) => {
                if self
                    .connection
                    .handle_shutdown(&req)
                    .map_err(|e| e.to_string())?
                {
                    return Ok(true);
                }
                let response = self.request(req);
                self.send(Message::Response(response))?;
            }
            Message::Notification(n) => self.notification(n),
            Message::Response(_) => {}
        }
        Ok(false)
    }

    fn notification(&mut self, n: Notification) {
        let docs = &mut self.documents;
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    docs.open(
                        p.text_document.uri,
                        p.text_document.text,
                        p.text_document.version,
                    );
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = n.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) {
                    // Full sync: the last change holds the whole text.
                    if let Some(change) = p.content_changes.into_iter().last() {
                        docs.change(p.text_document.uri, change.text, p.text_document.version);
                    }
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidSaveTextDocumentParams>(DidSaveTextDocument::METHOD)
                {
                    // Files that import it read it from disk when not open.
                    docs.touch(&p.text_document.uri);
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                {
                    let uri = p.text_document.uri;
                    docs.close(&uri);
                    // Its diagnostics go with it.
                    let _ =
                        self.notify::<PublishDiagnostics>(lsp_types::PublishDiagnosticsParams {
                            uri,
                            diagnostics: Vec::new(),
                            version: None,
                        });
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let docs = &mut self.documents;
        let result = match req.method.as_str() {
            HoverRequest::METHOD => answer::<HoverRequest>(req, |p| features::hover(docs, p)),
            GotoDefinition::METHOD => {
                answer::<GotoDefinition>(req, |p| features::definition(docs, p))
            }
            References::METHOD => answer::<References>(req, |p| features::references(docs, p)),
            DocumentSymbolRequest::METHOD => {
                answer::<DocumentSymbolRequest>(req, |p| features::symbols(docs, p))
            }
            Completion::METHOD => answer::<Completion>(req, |p| features::completion(docs, p)),
            Rename::METHOD => answer::<Rename>(req, |p| features::rename(docs, p)),
            Formatting::METHOD => answer::<Formatting>(req, |p| features::formatting(docs, p)),
            CodeActionRequest::METHOD => {
                let resolve = self.resolves_edits;
                answer::<CodeActionRequest>(req, |p| actions::code_actions(docs, p, resolve))
            }
            CodeActionResolveRequest::METHOD => {
                try_answer::<CodeActionResolveRequest>(req, |a| actions::resolve(docs, a))
            }
            ExecuteCommand::METHOD => {
                let edit = try_answer::<ExecuteCommand>(req, |p| {
                    let pin = p
                        .arguments
                        .into_iter()
                        .next()
                        .filter(|_| p.command == actions::PIN_IMAGE)
                        .and_then(|a| serde_json::from_value(a).ok())
                        .ok_or_else(|| format!("mlpc lsp has no command {}", p.command))?;
                    actions::pin_edit(docs, &pin).map(|edit| Some(serde_json::json!(edit)))
                });
                // The edit goes to the client as its own request; the
                // command's answer is empty.
                match edit {
                    Ok(edit) => {
                        self.apply(edit);
                        Ok(serde_json::Value::Null)
                    }
                    Err(e) => Err(e),
                }
            }
            _ => Err((
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("mlpc lsp does not answer {}", req.method),
            )),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code, message),
        }
    }

    /// Asks the client to apply `edit` (a `WorkspaceEdit` as JSON).
    fn apply(&mut self, edit: serde_json::Value) {
        self.next_id += 1;
        let id = lsp_server::RequestId::from(format!("mlpc-{}", self.next_id));
        let params = serde_json::json!({ "label": "Pin image by digest", "edit": edit });
        let _ = self.send(Message::Request(Request::new(
            id,
            ApplyWorkspaceEdit::METHOD.into(),
            params,
        )));
    }

    /// Checks every document whose analysis is out of date and publishes
    /// its diagnostics (and those of files it imports that are not open).
    fn publish(&mut self) -> Result<(), String> {
        for params in self.documents.stale_diagnostics() {
            self.notify::<PublishDiagnostics>(params)?;
        }
        Ok(())
    }

    fn notify<N: lsp_types::notification::Notification>(
        &self,
        params: N::Params,
    ) -> Result<(), String> {
        self.send(Message::Notification(Notification::new(
            N::METHOD.to_string(),
            params,
        )))
    }

    fn send(&self, message: Message) -> Result<(), String> {
        self.connection
            .sender
            .send(message)
            .map_err(|e| e.to_string())
    }
}

/// Runs a request's handler that may fail: its error is the request's
/// (a message the client shows).
fn try_answer<R: lsp_types::request::Request>(
    req: Request,
    f: impl FnOnce(R::Params) -> Result<R::Result, String>,
) -> Result<serde_json::Value, (i32, String)> {
    let result =
        f(params::<R>(req)?).map_err(|e| (lsp_server::ErrorCode::RequestFailed as i32, e))?;
    serde_json::to_value(result)
        .map_err(|e| (lsp_server::ErrorCode::InternalError as i32, e.to_string()))
}

/// Runs a request's handler on its parameters; its result as JSON.
fn answer<R: lsp_types::request::Request>(
    req: Request,
    f: impl FnOnce(R::Params) -> R::Result,
) -> Result<serde_json::Value, (i32, String)> {
    try_answer::<R>(req, |p| Ok(f(p)))
}

/// A request's parameters, as its method has them.
fn params<R: lsp_types::request::Request>(req: Request) -> Result<R::Params, (i32, String)> {
    match req.extract::<R::Params>(R::METHOD) {
        Ok((_, params)) => Ok(params),
        Err(ExtractError::JsonError { error, .. }) => Err((
            lsp_server::ErrorCode::InvalidParams as i32,
            error.to_string(),
        )),
        Err(ExtractError::MethodMismatch(r)) => {
            Err((lsp_server::ErrorCode::MethodNotFound as i32, r.method))
        }
    }
}
