// mimalloc: the takeover of a large SN builds and drops millions of small strings; glibc's
// malloc spends a third of that time consolidating free chunks and keeps the memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(baton::baton_main());
}
