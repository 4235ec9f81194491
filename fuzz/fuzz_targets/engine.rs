//! The engine as a whole under arbitrary frame sequences; see `rvs_fuzz::engine`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rvs_fuzz::engine::run(data);
});
