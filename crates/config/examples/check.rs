//! Validates configuration files: `cargo run -p rvs-config --example check -- FILE...`.
//! Prints "FILE: ok" or "FILE: <error>" and exits 1 if any file is refused.

fn main() {
    let mut failed = false;
    for arg in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(arg);
        match rvs_config::load(&path) {
            Ok(_) => println!("{}: ok", path.display()),
            Err(e) => {
                failed = true;
                println!("{}: {e}", path.display());
            }
        }
    }
    std::process::exit(i32::from(failed));
}
