//! Server-wide settings of the engine.

use crate::budget::ExecutionBudgets;
use crate::validate::ValidationSettings;

/// Server-wide settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Largest `maxParallelNodes` a request may ask for.
    pub max_parallel_nodes: usize,
    /// `maxParallelNodes` when the request gives none.
    pub default_parallel_nodes: usize,
    pub validation: ValidationSettings,
    /// What one execution may produce in all.
    pub budgets: ExecutionBudgets,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            max_parallel_nodes: 64,
            default_parallel_nodes: 4,
            validation: ValidationSettings::default(),
            budgets: ExecutionBudgets::default(),
        }
    }
}
