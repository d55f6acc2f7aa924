//! The per-execution budgets (SPEC 4 "Budgets") as flags of every command
//! that runs workflows.

use sandflow_engine::{EngineSettings, ExecutionBudgets, MAX_JSON_DEPTH};

/// What one execution may produce in all; defaults in `ExecutionBudgets`.
#[derive(clap::Args)]
pub struct BudgetArgs {
    /// Bytes of JSON all block outputs of one execution may total.
    #[arg(long, global = true, default_value_t = ExecutionBudgets::default().max_output_bytes)]
    max_output_bytes: u64,
    /// Bytes of JSON all variable writes of one execution may total.
    #[arg(long, global = true, default_value_t = ExecutionBudgets::default().max_variable_bytes)]
    max_variable_bytes: u64,
    /// Guest log entries one execution may write in all.
    #[arg(long, global = true, default_value_t = ExecutionBudgets::default().max_log_entries)]
    max_log_entries: u64,
    /// Bytes of guest log messages one execution may write in all.
    #[arg(long, global = true, default_value_t = ExecutionBudgets::default().max_log_bytes)]
    max_log_bytes: u64,
    /// Deepest nesting of a block output or variable value (at most 64).
    #[arg(long, global = true, default_value_t = MAX_JSON_DEPTH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_JSON_DEPTH as u64))]
    max_json_depth: usize,
    /// Largest stored result of one execution, in bytes.
    #[arg(long, global = true, default_value_t = crate::config::Settings::default().server.max_stored_result_bytes)]
    max_stored_result_bytes: usize,
}

impl BudgetArgs {
    /// The engine settings with these budgets.
    pub fn engine_settings(&self) -> EngineSettings {
        let budgets = ExecutionBudgets {
            max_output_bytes: self.max_output_bytes,
            max_variable_bytes: self.max_variable_bytes,
            max_log_entries: self.max_log_entries,
            max_log_bytes: self.max_log_bytes,
            max_json_depth: self.max_json_depth,
        };
        EngineSettings { budgets, ..EngineSettings::default() }
    }
}
