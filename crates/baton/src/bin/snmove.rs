//! `snmove`: xCAT's command name and flags, for runbooks written for xCAT.
fn main() {
    std::process::exit(baton::snmove_main());
}
