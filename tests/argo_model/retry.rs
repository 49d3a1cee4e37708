//! Retries and deadlines. Times are seconds from an arbitrary origin.
//!
//! - `retryStrategy`: `workflow/controller/operator.go` `processNodeRetries`.
//!   After a failed attempt: with `backoff.maxDuration`, the window is
//!   `firstAttempt.StartedAt + maxDuration` (the *first* attempt's start,
//!   not the last one's) and a failure observed after it ends the node
//!   ("Max duration limit exceeded"); the wait is
//!   `duration * factor^(attempts-1)` (factor must be an integer,
//!   `intstr.Int32`), at most `cap`, counted from the last attempt's
//!   finish; a wait ending after the window ends the node ("Backoff would
//!   exceed max duration limit"); otherwise the next attempt runs with an
//!   execution deadline at the window's end (`opts.executionDeadline`,
//!   which `workflowpod.go` `getDeadline` hands to the executor: the retry
//!   is killed when the window closes). Then the policy
//!   (`RetryPolicyActual`, default `OnFailure`: Failed retried, Error not),
//!   then `limit` (attempts > limit ends the node: "No more retries left").
//!   Durations: `wfv1.ParseStringToDuration` (a bare integer is seconds,
//!   else a Go duration).
//! - Template `timeout`: `operator.go` `checkTemplateTimeout`, called from
//!   `executeTemplate` (and `createWorkflowPod`): deadline =
//!   node `StartedAt` + timeout; a node still `Pending` after it is
//!   `Failed` - Pending time counts. `createWorkflowPod` also lowers the
//!   pod's `activeDeadlineSeconds` to the time left until that deadline.
//! - Template `activeDeadlineSeconds`: `workflow/controller/workflowpod.go`
//!   `createWorkflowPod` copies it into the pod spec (lowered to the
//!   workflow deadline when that is nearer); Kubernetes
//!   `pkg/kubelet/active_deadline.go` `pastActiveDeadline` counts it from
//!   the pod's `status.startTime` (set when the kubelet takes the pod, so
//!   unscheduled Pending time does not count).

use serde_json::Value;

use super::Phase;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Backoff {
    pub duration: Option<String>,
    pub factor: Option<String>,
    pub cap: Option<String>,
    pub max_duration: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RetryStrategy {
    pub limit: Option<String>,
    pub policy: Option<String>,
    pub backoff: Option<Backoff>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl RetryStrategy {
    /// From a template's `retryStrategy` (as compiled YAML read into JSON).
    pub fn from_template(template: &Value) -> Option<RetryStrategy> {
        let rs = template.get("retryStrategy")?;
        Some(RetryStrategy {
            limit: text(&rs["limit"]),
            policy: text(&rs["retryPolicy"]),
            backoff: rs.get("backoff").map(|b| Backoff {
                duration: text(&b["duration"]),
                factor: text(&b["factor"]),
                cap: text(&b["cap"]),
                max_duration: text(&b["maxDuration"]),
            }),
        })
    }
}

/// `wfv1.ParseStringToDuration`: an integer is seconds; otherwise Go's
/// `time.ParseDuration` (units h, m, s, ms; decimals allowed).
pub fn parse_duration(s: &str) -> Result<f64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n as f64);
    }
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(format!("time: invalid duration {s:?}"));
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration {s:?}"))?;
        let n: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("time: invalid duration {s:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

fn int32(s: &Option<String>) -> Result<Option<i64>, String> {
    s.as_deref()
        .map(|t| t.parse::<i64>().map_err(|e| format!("{t:?}: {e}")))
        .transpose()
}

/// One attempt of a retried node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attempt {
    pub start: f64,
    pub finish: f64,
    pub phase: Phase,
}

/// What `processNodeRetries` decides once the last attempt is fulfilled.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Succeeded,
    /// The node ends with the last attempt's phase.
    GiveUp(String),
    /// Requeued until then (`Backoff for ...`).
    WaitUntil(f64),
    /// Another attempt now, killed at the deadline if there is one.
    Retry {
        deadline: Option<f64>,
    },
}

/// `processNodeRetries` at time `now`.
pub fn decide(rs: &RetryStrategy, attempts: &[Attempt], now: f64) -> Result<Decision, String> {
    let last = attempts.last().ok_or("no attempts")?;
    if last.phase == Phase::Succeeded {
        return Ok(Decision::Succeeded);
    }
    let n = attempts.len() as i64;
    let limit = int32(&rs.limit)?;
    let mut deadline = None;
    if let Some(b) = &rs.backoff {
        let mut max_deadline = None;
        if let Some(md) = &b.max_duration {
            let window = attempts[0].start + parse_duration(md)?;
            if now > window {
                return Ok(Decision::GiveUp("Max duration limit exceeded".into()));
            }
            max_deadline = Some(window);
        }
        let base = parse_duration(
            b.duration
                .as_deref()
                .ok_or("no base duration specified for retryStrategy")?,
        )?;
        let mut wait = base;
        if let Some(f) = int32(&b.factor)?.filter(|f| *f > 0) {
            wait = base * (f as f64).powi((n - 1) as i32);
        }
        if let Some(cap) = &b.cap {
            wait = wait.min(parse_duration(cap)?);
        }
        let wait_until = last.finish + wait;
        if max_deadline.is_some_and(|w| wait_until > w) {
            return Ok(Decision::GiveUp(
                "Backoff would exceed max duration limit".into(),
            ));
        }
        if now < wait_until && limit.is_some_and(|l| n <= l) {
            return Ok(Decision::WaitUntil(wait_until));
        }
        deadline = max_deadline;
    }
    let (on_failed, on_error) = match rs.policy.as_deref().unwrap_or("OnFailure") {
        "Always" => (true, true),
        "OnError" => (false, true),
        "OnFailure" => (true, false),
        // Transient errors are a property of the message; not modelled.
        "OnTransientError" => (false, false),
        other => return Err(format!("{other} is not a valid RetryPolicy")),
    };
    if (last.phase == Phase::Failed && !on_failed) || (last.phase == Phase::Error && !on_error) {
        return Ok(Decision::GiveUp("Node not set to be retried".into()));
    }
    if limit.is_some_and(|l| n > l) {
        return Ok(Decision::GiveUp("No more retries left".into()));
    }
    Ok(Decision::Retry { deadline })
}

/// When the next attempt starts after the last one failed (the controller
/// sees the failure at its finish and re-checks after each backoff), and
/// the deadline it runs under; `Err(reason)` when there is none.
pub fn next_attempt(
    rs: &RetryStrategy,
    attempts: &[Attempt],
) -> Result<(f64, Option<f64>), String> {
    let mut now = attempts.last().ok_or("no attempts")?.finish;
    loop {
        match decide(rs, attempts, now)? {
            Decision::Retry { deadline } => return Ok((now, deadline)),
            Decision::WaitUntil(t) => now = t,
            Decision::GiveUp(why) => return Err(why),
            Decision::Succeeded => return Err("succeeded".into()),
        }
    }
}

/// The backoff waits before retries 1..=n (ignoring `maxDuration`).
pub fn backoff_waits(rs: &RetryStrategy, n: usize) -> Result<Vec<f64>, String> {
    let b = rs.backoff.clone().unwrap_or_default();
    let base = parse_duration(b.duration.as_deref().unwrap_or("0"))?;
    let factor = int32(&b.factor)?.filter(|f| *f > 0);
    let cap = b.cap.as_deref().map(parse_duration).transpose()?;
    Ok((1..=n)
        .map(|k| {
            let w = factor.map_or(base, |f| base * (f as f64).powi(k as i32 - 1));
            cap.map_or(w, |c| w.min(c))
        })
        .collect())
}

/// A pod's life as the cluster would run it: created (node start) at
/// `created`, bound and started by the kubelet at `started` (`None`: never
/// scheduled), and finishing by itself `runs_for` seconds after starting
/// with `natural` as its phase.
#[derive(Clone, Copy, Debug)]
pub struct PodLife {
    pub created: f64,
    pub started: Option<f64>,
    pub runs_for: f64,
    pub natural: Phase,
}

/// How the node of that pod ends, and when, under a template `timeout`
/// (seconds) and/or `activeDeadlineSeconds`.
pub fn pod_outcome(
    life: PodLife,
    timeout: Option<f64>,
    active_deadline: Option<f64>,
) -> (Phase, f64, &'static str) {
    let timeout_at = timeout.map(|t| life.created + t);
    let Some(start) = life.started.filter(|s| timeout_at.is_none_or(|d| *s <= d)) else {
        return match timeout_at {
            // checkTemplateTimeout: still Pending after the deadline.
            Some(d) => (Phase::Failed, d, "template timeout while Pending"),
            None => (Phase::Running, f64::INFINITY, "pending forever"),
        };
    };
    // createWorkflowPod: the pod's deadline is the nearer of the template's
    // activeDeadlineSeconds and the time left to the template timeout.
    // The pod is created with its node, so the time left is the timeout.
    let pod_ads = match (active_deadline, timeout) {
        (Some(a), Some(l)) => Some(a.min(l)),
        (a, l) => a.or(l),
    };
    let natural_end = start + life.runs_for;
    match pod_ads {
        // pastActiveDeadline: counted from status.startTime.
        Some(ads) if start + ads < natural_end => {
            (Phase::Failed, start + ads, "pod active deadline exceeded")
        }
        _ => (life.natural, natural_end, "pod finished"),
    }
}
