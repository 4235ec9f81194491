//! Every rvs-wire view over arbitrary bytes; see `rvs_fuzz::wire`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rvs_fuzz::wire::run(data);
});
