//! rvsadm: ipvsadm's command line for rvsd (see the library's documentation).

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let status = rvsadm::run(
        &argv,
        std::env::var("RVS_SOCKET").ok(),
        &mut rvsadm::Io {
            stdin: &mut stdin.lock(),
            stdout: &mut stdout.lock(),
            stderr: &mut stderr.lock(),
        },
    );
    std::process::exit(status);
}
