//! Build script of the blocks that run JavaScript (`build = "../js/shadow_stack.rs"` in each):
//! gives their components an 8 MiB shadow stack instead of Rust's 1 MiB for wasm.
//!
//! boa keeps large values of every native frame on the shadow stack (linear memory), and
//! JavaScript that recurses through native code (`[n].map(f)`, getters, `sort` comparators,
//! `toJSON`, `Function.prototype.call`, deep `JSON.stringify`) re-enters the interpreter on it.
//! With 1 MiB, such recursion ran the shadow stack past address 0 after about 1,300 levels: an
//! untyped out-of-bounds `Trap`. With 8 MiB, the host's 2 MiB wasm stack (`StackOverflow`) or
//! boa's recursion limit (`RuntimeLimitError`) ends it first. It costs 7 MiB more of the run's
//! memory limit, only touched as deep as a run recurses.

fn main() {
    // Only the guest's link: the blocks are unit-tested natively too.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size={}", 8 << 20);
    }
}
