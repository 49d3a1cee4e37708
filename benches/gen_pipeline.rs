//! Writes the benchmark pipeline as `.mlp` to standard output:
//! `cargo run --release --example gen_pipeline -- N inline|uses|tracked|untracked`.

#[path = "shape.rs"]
mod shape;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(variant)) = (
        args.first().and_then(|n| n.parse().ok()),
        args.get(1)
            .map_or(Some(shape::Variant::Inline), |v| shape::Variant::parse(v)),
    ) else {
        eprintln!("usage: gen_pipeline N [inline|uses|tracked|untracked]");
        std::process::exit(2);
    };
    print!("{}", shape::pipeline(n, variant));
}
