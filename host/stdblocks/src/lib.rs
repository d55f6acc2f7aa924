//! The standard block library (`blocks/`), compiled to components by this
//! crate's build script, pre-initialized (each block's init ran once, at build
//! time; see `sandflow-snapshot`) and embedded, so the binary needs nothing else.

/// One embedded standard block.
#[derive(Debug, Clone, Copy)]
pub struct StandardBlock {
    /// The block type a workflow names, e.g. `transform`.
    pub block_type: &'static str,
    /// The pre-initialized component: what the runtime runs.
    pub component: &'static [u8],
    /// Where the build left the same component before pre-initialization, so
    /// tests can compare the two; only there on the machine that built this crate.
    pub plain_component_path: &'static str,
}

/// Every standard block, sorted by type.
pub const STANDARD_BLOCKS: &[StandardBlock] = include!(concat!(env!("OUT_DIR"), "/standard_blocks.rs"));

/// The standard block of a type, if there is one.
pub fn standard_block(block_type: &str) -> Option<&'static StandardBlock> {
    STANDARD_BLOCKS.iter().find(|b| b.block_type == block_type)
}
