//! Fuzzing harnesses for rvs, shared by the cargo-fuzz targets in `fuzz_targets/` and by the
//! plain tests that replay the seeds and regressions on a stable toolchain.

pub mod check;
pub mod engine;
pub mod frames;
pub mod seeds;
pub mod wire;
