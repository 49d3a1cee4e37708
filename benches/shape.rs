//! The benchmark pipeline, as `.mlp`: prepare -> (N-3) training stages ->
//! register -> deploy. Every stage is a container with an image, a command,
//! args reading two pipeline parameters, cpu/memory requests and limits, one
//! env var and one output parameter; the training stages read the prepare
//! stage's output, register waits for all of them and deploy reads
//! register's output. The peers' generators (benches/peers/) build the same
//! shape with their own APIs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Every stage written out (`job` stages, no tracking): the peer comparison.
    Inline,
    /// The training stages `uses` one template.
    Uses,
    /// The training stages are tracked `train` stages (MLflow injected).
    Tracked,
    /// The same `train` stages with `track = false`: what tracking costs is
    /// `Tracked` minus this.
    Untracked,
}

impl Variant {
    pub fn parse(s: &str) -> Option<Variant> {
        match s {
            "inline" => Some(Variant::Inline),
            "uses" => Some(Variant::Uses),
            "tracked" => Some(Variant::Tracked),
            "untracked" => Some(Variant::Untracked),
            _ => None,
        }
    }
}

const RESOURCES: &str =
    "resources { cpu = 500m, memory = 512Mi, limits { cpu = 1, memory = 1Gi } }";

pub fn pipeline(n: usize, variant: Variant) -> String {
    let n = n.max(4);
    let trains = n - 3;
    let mut out = String::with_capacity(n * 400);
    if variant == Variant::Uses {
        out.push_str(&format!(
            "template job train_shard {{\n  input data: string\n  input lr: float\n  input rows: int\n  input shard: string\n  image = \"registry.example.com/train:1.0\"\n  command = [\"python\", \"train.py\"]\n  args = [\"--data\", data, \"--lr\", lr, \"--rows\", rows]\n  {RESOURCES}\n  env {{ SHARD = shard }}\n  output score: float = \"/tmp/outputs/score\"\n}}\n\n"
        ));
    }
    out.push_str("pipeline scale {\n  param learning_rate: float = 0.01\n  param dataset: string = \"s3://bucket/data.csv\"\n");
    if matches!(variant, Variant::Tracked | Variant::Untracked) {
        out.push_str("  mlflow {\n    tracking_uri = \"http://mlflow.mlflow.svc.cluster.local:5000\"\n    experiment = \"scale\"\n  }\n");
    }
    out.push_str(&format!(
        "  prep prepare {{\n    image = \"registry.example.com/prep:1.0\"\n    command = [\"python\", \"prep.py\"]\n    args = [\"--data\", dataset, \"--lr\", learning_rate]\n    {RESOURCES}\n    env {{ STAGE = \"prepare\" }}\n    output rows: int = \"/tmp/outputs/rows\"\n  }}\n"
    ));
    for i in 1..=trains {
        match variant {
            Variant::Uses => out.push_str(&format!(
                "  job train_{i} uses train_shard {{ data = dataset, lr = learning_rate, rows = prepare.rows, shard = \"{i}\" }}\n"
            )),
            Variant::Inline | Variant::Tracked | Variant::Untracked => {
                let (kind, track) = match variant {
                    Variant::Tracked => ("train", ""),
                    Variant::Untracked => ("train", "\n    track = false"),
                    _ => ("job", ""),
                };
                out.push_str(&format!(
                    "  {kind} train_{i} {{{track}\n    image = \"registry.example.com/train:1.0\"\n    command = [\"python\", \"train.py\"]\n    args = [\"--data\", dataset, \"--lr\", learning_rate, \"--rows\", prepare.rows]\n    {RESOURCES}\n    env {{ SHARD = \"{i}\" }}\n    output score: float = \"/tmp/outputs/score\"\n  }}\n"
                ));
            }
        }
    }
    let after: Vec<String> = (1..=trains).map(|i| format!("train_{i}")).collect();
    out.push_str(&format!(
        "  job register_model {{\n    image = \"registry.example.com/register:1.0\"\n    command = [\"python\", \"register.py\"]\n    args = [\"--data\", dataset, \"--lr\", learning_rate]\n    {RESOURCES}\n    env {{ STAGE = \"register\" }}\n    after = [{}]\n    output version: string = \"/tmp/outputs/version\"\n  }}\n",
        after.join(", ")
    ));
    out.push_str(&format!(
        "  job deploy_model {{\n    image = \"registry.example.com/deploy:1.0\"\n    command = [\"python\", \"deploy.py\"]\n    args = [\"--data\", dataset, \"--version\", register_model.version]\n    {RESOURCES}\n    env {{ STAGE = \"deploy\" }}\n    output url: string = \"/tmp/outputs/url\"\n  }}\n}}\n"
    ));
    out
}
