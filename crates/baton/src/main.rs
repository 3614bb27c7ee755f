fn main() {
    std::process::exit(baton::baton_main());
}
