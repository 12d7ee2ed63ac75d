//! The `selfbrake` command.
#![forbid(unsafe_code)]

mod cli;

/// glibc's malloc and free (fast-bin consolidation included) took about 16 %
/// of the CPU in a profile of short requests; with mimalloc the binary
/// spends 4-7 % less CPU per streamed token at full speed and 6-7 % less on
/// five-token requests (docs/benchmarks.md, "Third pass"). The library
/// leaves the choice to whoever embeds it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
