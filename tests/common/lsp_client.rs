//! A language client for the tests: `mlpc lsp` on a thread, spoken to
//! over `Connection::memory()`.

use std::thread::JoinHandle;
use std::time::Duration;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{json, Value};

/// A client talking to a server thread.
pub struct Client {
    conn: Connection,
    server: Option<JoinHandle<Result<(), String>>>,
    next_id: i32,
    /// Notifications received while waiting for something else.
    pending: Vec<Notification>,
    /// Requests the server sent (`workspace/applyEdit`).
    pub server_requests: Vec<Request>,
}

impl Client {
    /// Starts a server and initializes it; `utf8`: the client offers UTF-8
    /// positions. Returns the client and the negotiated encoding.
    pub fn start(utf8: bool) -> (Client, String) {
        Client::start_with(utf8, json!({}))
    }

    /// As [`Client::start`], with `text_document` as the client's
    /// `textDocument` capabilities.
    pub fn start_with(utf8: bool, text_document: Value) -> (Client, String) {
        let (server, client) = Connection::memory();
        let handle = std::thread::spawn(move || mlpc::lsp::serve(server));
        let mut c = Client {
            conn: client,
            server: Some(handle),
            next_id: 0,
            pending: Vec::new(),
            server_requests: Vec::new(),
        };
        let encodings = if utf8 {
            json!(["utf-8", "utf-16"])
        } else {
            json!(["utf-16"])
        };
        let result = c.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {"general": {"positionEncodings": encodings}, "textDocument": text_document}}),
        );
        let encoding = result["capabilities"]["positionEncoding"]
            .as_str()
            .unwrap()
            .to_string();
        c.notify("initialized", json!({}));
        (c, encoding)
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.exchange(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// A request that must fail: its error's message.
    pub fn request_error(&mut self, method: &str, params: Value) -> String {
        match self.exchange(method, params) {
            Ok(v) => panic!("{method} answered {v}"),
            Err(e) => e,
        }
    }

    fn exchange(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.into(),
                params,
            )))
            .unwrap();
        loop {
            match self
                .conn
                .receiver
                .recv_timeout(Duration::from_secs(30))
                .expect("a reply")
            {
                Message::Response(Response {
                    id: rid,
                    result,
                    error,
                }) if rid == id => {
                    return match error {
                        Some(e) => Err(e.message),
                        None => Ok(result.unwrap_or(Value::Null)),
                    };
                }
                Message::Notification(n) => self.pending.push(n),
                Message::Request(r) => self.server_requests.push(r),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The code actions offered for one published diagnostic.
    pub fn code_actions(&mut self, uri: &str, diagnostic: &Value) -> Value {
        self.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}}),
        )
    }

    /// The labels of a completion answer.
    pub fn completion_labels(&mut self, params: Value) -> Vec<String> {
        self.request("textDocument/completion", params)
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["label"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .unwrap();
    }

    /// The next diagnostics published for `uri`.
    pub fn diagnostics(&mut self, uri: &str) -> Value {
        if let Some(i) = self
            .pending
            .iter()
            .position(|n| n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri)
        {
            return self.pending.remove(i).params;
        }
        loop {
            match self
                .conn
                .receiver
                .recv_timeout(Duration::from_secs(30))
                .expect("diagnostics")
            {
                Message::Notification(n)
                    if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri =>
                {
                    return n.params
                }
                Message::Notification(n) => self.pending.push(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    pub fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "mlp", "version": 1, "text": text}}),
        );
    }

    pub fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap().unwrap();
    }
}

pub fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}})
}
