//! `amosync-bench`: prints one JSON object with every figure.
fn main() {}
