//! The standard block library (`blocks/`), compiled to components by this
//! crate's build script and embedded, so the binary needs nothing else.

/// One embedded standard block.
#[derive(Debug, Clone, Copy)]
pub struct StandardBlock {
    /// The block type a workflow names, e.g. `transform`.
    pub block_type: &'static str,
    /// The component bytes.
    pub component: &'static [u8],
}

/// Every standard block, sorted by type.
pub const STANDARD_BLOCKS: &[StandardBlock] = include!(concat!(env!("OUT_DIR"), "/standard_blocks.rs"));

/// The standard block of a type, if there is one.
pub fn standard_block(block_type: &str) -> Option<&'static StandardBlock> {
    STANDARD_BLOCKS.iter().find(|b| b.block_type == block_type)
}
