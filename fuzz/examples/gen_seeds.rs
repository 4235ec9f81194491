//! Write the seed corpora to `seeds/<target>/` (run after changing `src/seeds.rs`):
//! `cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds`.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, seeds) in [
        ("engine", rvs_fuzz::seeds::engine()),
        ("wire_parsers", rvs_fuzz::seeds::wire()),
    ] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        for (name, data) in seeds {
            std::fs::write(dir.join(name), data)?;
        }
        println!("{}: written", dir.display());
    }
    Ok(())
}
