//! The README's Rust example is `examples/readme.rs` (compiled with the other examples): the
//! README must show exactly the lines between that file's markers.

#[test]
fn the_readme_shows_the_compiled_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/../README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/examples/readme.rs")).unwrap();
    let shown = readme
        .split_once("```rust\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("a ```rust block in README.md")
        .0;
    let compiled = example
        .split_once("// README begins\n")
        .and_then(|(_, rest)| rest.split_once("\n// README ends"))
        .expect("the markers in examples/readme.rs")
        .0;
    assert_eq!(
        shown, compiled,
        "README.md's Rust example differs from examples/readme.rs"
    );
}
