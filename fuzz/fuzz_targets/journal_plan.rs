//! The journal's plan reader on any text: an error or a plan, never a panic; and what resume
//! and rollback do with a plan it accepts (its inverse, its description) never panics either.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(plan) = takeover::journal::read_plan(text, &[]) {
        let back = takeover::apply::inverse(&plan);
        let _ = takeover::report::plan_text(&back);
        let _ = takeover::report::plan_text(&plan);
    }
});
